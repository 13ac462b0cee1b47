package ldap

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

var (
	update   = flag.Bool("update", false, "record the DC's LDAP replies into testdata/")
	recordAs = flag.String("record-as", "dc_389.hex", "with -update, the testdata file the DC's replies go to")
)

// recConn keeps every byte the server sent.
type recConn struct {
	net.Conn
	mu  sync.Mutex
	got bytes.Buffer
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.got.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

// segments splits a server's byte stream into the replies to each request
// (by message ID, in order) and encodes them as 2-byte big-endian length
// prefixed segments: the form the fuzz server replays.
func segments(t testing.TB, stream []byte) []byte {
	var out []byte
	var cur []byte
	lastID := int64(-1)
	r := bytes.NewReader(stream)
	for r.Len() > 0 {
		start := len(stream) - r.Len()
		p, err := ber.ReadPacket(r)
		if err != nil {
			t.Fatalf("recorded stream: %v", err)
		}
		msg := stream[start : len(stream)-r.Len()]
		id, _ := p.Children[0].Value.(int64)
		if id != lastID && cur != nil {
			out = binary.BigEndian.AppendUint16(out, uint16(len(cur)))
			out = append(out, cur...)
			cur = nil
		}
		lastID = id
		cur = append(cur, msg...)
	}
	out = binary.BigEndian.AppendUint16(out, uint16(len(cur)))
	return append(out, cur...)
}

// TestLiveRecord records the DC's replies on 389 (with -update): the seed of
// FuzzServerReplies and the replay test.
func TestLiveRecord(t *testing.T) {
	if testing.Short() || !*update {
		t.Skip("records with -update only")
	}
	host := labtest.Require(t, "dc")["dc"]
	var rc *recConn
	opt := Options{Ports: []Port{{389, false, false}}, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rc = &recConn{Conn: c}
		return rc, nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := Probe(ctx, host, opt)
	if res.Ports[0].Search == nil {
		t.Fatalf("%+v", res.Ports[0])
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seg := segments(t, rc.got.Bytes())
	if err := os.WriteFile("testdata/"+*recordAs, []byte(hex.EncodeToString(seg)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadSegments(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
