package ldap

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/nullsweep/nullsweep/internal/hostile"
)

// message encodes an LDAPMessage with one protocol op (RFC 4511 4.2).
func message(id int64, op *ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	return p.Bytes()
}

// result is an LDAPResult-shaped op (BindResponse 1, SearchResultDone 5).
func result(app ber.Tag, code int64, diag string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, app, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, ""))
	return op
}

// entry is a SearchResultEntry with one attribute.
func entry(dn, attr, val string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, attr, ""))
	vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
	vals.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, val, ""))
	a.AppendChild(vals)
	attrs.AppendChild(a)
	op.AppendChild(attrs)
	return op
}

// ldapServer answers each request in turn with reply(i, conn): i counts
// requests from 0 (the bind).
func ldapServer(reply func(ctx context.Context, i int, conn net.Conn) bool) hostile.Handler {
	return func(ctx context.Context, conn *net.TCPConn, port int) {
		for i := 0; ; i++ {
			if _, err := ber.ReadPacket(conn); err != nil {
				return
			}
			if !reply(ctx, i, conn) {
				<-ctx.Done()
				return
			}
		}
	}
}

var (
	bindOK = message(1, result(1, 0, ""))
	dse    = append(message(2, entry("", "defaultNamingContext", "DC=hostile,DC=test")), message(2, result(5, 0, ""))...)
)

// TestHostileLDAP: servers that never answer, claim or send huge messages,
// or never end a search cannot hold the probe past its deadline or make it
// keep more than its bounds.
func TestHostileLDAP(t *testing.T) {
	huge := strings.Repeat("x", 2*MaxMessage)
	cases := []struct {
		name  string
		n     int
		reply func(ctx context.Context, i int, conn net.Conn) bool
		check func(t *testing.T, p PortResult)
	}{
		{"never answers", 190, func(context.Context, int, net.Conn) bool { return false }, func(t *testing.T, p PortResult) {
			if p.State != Open || p.Layer != "bind" || !strings.Contains(p.Error, "deadline exceeded") {
				t.Fatalf("%+v", p)
			}
		}},
		{"claims 2 GiB", 191, func(_ context.Context, i int, c net.Conn) bool {
			c.Write([]byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01})
			return false
		}, func(t *testing.T, p PortResult) {
			if p.Layer != "bind" || !strings.Contains(p.Error, "greater than maximum") {
				t.Fatalf("%+v", p)
			}
		}},
		{"sends 2 MiB rootDSE", 192, func(_ context.Context, i int, c net.Conn) bool {
			if i == 0 {
				c.Write(bindOK)
				return true
			}
			c.Write(message(2, entry("", "defaultNamingContext", huge)))
			return false
		}, func(t *testing.T, p PortResult) {
			if p.Layer != "rootdse" || !strings.Contains(p.Error, "greater than maximum") {
				t.Fatalf("%+v", p)
			}
		}},
		{"endless search", 193, func(ctx context.Context, i int, c net.Conn) bool {
			switch i {
			case 0:
				c.Write(bindOK)
			case 1:
				c.Write(dse)
			default:
				e := message(3, entry("CN=u,DC=hostile,DC=test", "sAMAccountName", "u"))
				for ctx.Err() == nil {
					if _, err := c.Write(e); err != nil {
						return true
					}
				}
			}
			return true
		}, func(t *testing.T, p PortResult) {
			s := p.Search
			if p.Error != "" || s == nil || !s.Allowed || len(s.Entries) != DefaultSearchLimit || s.Result.Name != "sizeLimitExceeded" {
				t.Fatalf("%+v %+v", p, s)
			}
		}},
		{"refused search", 194, func(_ context.Context, i int, c net.Conn) bool {
			switch i {
			case 0:
				c.Write(bindOK)
			case 1:
				c.Write(dse)
			default:
				c.Write(message(3, result(5, 1, "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563")))
			}
			return true
		}, func(t *testing.T, p PortResult) {
			s := p.Search
			if s == nil || s.Allowed || s.Result.Code != 1 || !strings.HasPrefix(s.Result.Diagnostic, "000004DC") {
				t.Fatalf("%+v", s)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := hostile.Listen(hostile.Addr(c.n), []int{389}, ldapServer(c.reply))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			p := ProbePort(context.Background(), hostile.Addr(c.n), Port{389, false, false}, Options{PortTimeout: time.Second})
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("probe took %v", el)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
				t.Errorf("heap grew %d MiB", grew>>20)
			}
			c.check(t, p)
		})
	}
}
