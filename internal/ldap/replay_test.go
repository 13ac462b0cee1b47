package ldap

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// splitSegments undoes segments(): 2-byte big-endian length, bytes. A
// short tail is taken as it is.
func splitSegments(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		n = min(n, len(b))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// replay answers the i-th request read from conn with segs[i], then keeps
// reading until the client closes.
func replay(conn net.Conn, segs [][]byte) {
	defer conn.Close()
	for i := 0; ; i++ {
		if _, err := ber.ReadPacket(conn); err != nil {
			return
		}
		if i < len(segs) {
			if _, err := conn.Write(segs[i]); err != nil {
				return
			}
		}
	}
}

// pipeDial serves every dial with a fresh replay of segs over net.Pipe.
func pipeDial(segs [][]byte) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, s := net.Pipe()
		go replay(s, segs)
		return c, nil
	}
}

// TestReplayDC replays the DC's recorded replies: the rootDSE fields and
// the refused search come out as they did live.
func TestReplayDC(t *testing.T) {
	segs := splitSegments(loadSegments(t, "dc_389.hex"))
	if len(segs) != 3 {
		t.Fatalf("%d segments", len(segs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := ProbePort(ctx, "dc1.lab.test", Port{389, false, false}, Options{Dial: pipeDial(segs)})
	if p.State != Open || p.Error != "" || p.RootDSE == nil || p.Search == nil {
		t.Fatalf("%+v", p)
	}
	d := p.RootDSE
	for _, c := range []struct{ got, want string }{
		{d.DefaultNamingContext, "DC=lab,DC=test"},
		{d.DNSHostName, "DC1.lab.test"},
		{d.ForestFunctionality.Name, "2008 R2"},
		{d.DCFunctionality.Value, "4"},
		{strings.Join(d.SupportedLDAPVersion, ","), "2,3"},
		{strings.Join(d.SupportedSASLMechanisms, ","), "GSS-SPNEGO,GSSAPI,NTLM"},
		{d.SupportedCapabilities[0].Name, "LDAP_CAP_ACTIVE_DIRECTORY_OID"},
		{d.IsGlobalCatalogReady, "TRUE"},
		{p.Search.Result.Name, "operationsError"},
		{p.Bind.Name, "success"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if len(d.NamingContexts) != 5 || p.Search.Allowed || len(p.Search.Entries) != 0 {
		t.Errorf("%+v %+v", d.NamingContexts, p.Search)
	}
	// supportedControl is listed once per OID (Samba repeats some).
	seen := map[string]bool{}
	for _, o := range d.SupportedControl {
		if seen[o.OID] {
			t.Errorf("control %s twice", o.OID)
		}
		seen[o.OID] = true
	}
}

// FuzzServerReplies: whatever the server answers, the probe returns (a
// result or an error with its layer) within its deadline and never panics.
func FuzzServerReplies(f *testing.F) {
	f.Add(loadSegments(f, "dc_389.hex"))
	f.Add(loadSegments(f, "dc_389_dsheuristics2.hex"))
	f.Add([]byte{0, 2, 0x30, 0x84})
	f.Add([]byte{0, 6, 0x30, 0x84, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		segs := splitSegments(b)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		p := ProbePort(ctx, "fuzz.test", Port{389, false, false}, Options{Dial: pipeDial(segs), PortTimeout: 20 * time.Millisecond})
		if time.Since(start) > time.Second {
			t.Fatalf("probe took %v", time.Since(start))
		}
		if p.Error == "" && p.RootDSE == nil && p.Bind == nil {
			t.Fatalf("no result and no error: %+v", p)
		}
		if p.Search != nil && len(p.Search.Entries) > p.Search.Limit {
			t.Fatalf("%d entries over the limit %d", len(p.Search.Entries), p.Search.Limit)
		}
	})
}

// TestReplayDCAnonymousAllowed replays the DC recorded with dSHeuristics
// 0000002 (set with samba-tool for the recording, then removed): the
// anonymous search is allowed, and its result code is the one ldapsearch
// got from the same server then (testdata/ldapsearch_dc_dsheuristics2.txt):
// success, no user entries (the ACLs still hide them), three referrals.
func TestReplayDCAnonymousAllowed(t *testing.T) {
	segs := splitSegments(loadSegments(t, "dc_389_dsheuristics2.hex"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := ProbePort(ctx, "dc1.lab.test", Port{389, false, false}, Options{Dial: pipeDial(segs)})
	s := p.Search
	if p.Error != "" || s == nil {
		t.Fatalf("%+v", p)
	}
	oracle, err := os.ReadFile("testdata/ldapsearch_dc_dsheuristics2.txt")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := ldapResult(string(oracle))
	if !s.Allowed || strconv.Itoa(int(s.Result.Code)) != code || s.Result.Name != "success" || len(s.Entries) != 0 {
		t.Fatalf("search %+v, ldapsearch result %q", s, code)
	}
	if !strings.Contains(string(oracle), "numReferences: 3") {
		t.Fatalf("oracle:\n%s", oracle)
	}
}
