package enum

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// readWatch counts the SMB2 READs a proxy relays: the most outstanding at
// once, the CANCELs, and the other requests sent while reads were out.
type readWatch struct {
	mu                       sync.Mutex
	out, most, cancels, over int
}

func (w *readWatch) request(q *hostile.Request) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case q.SMB1:
	case q.Command == hostile.CmdRead:
		w.out++
		w.most = max(w.most, w.out)
	case q.Command == hostile.CmdCancel:
		w.cancels++
	case w.out > 0:
		w.over++
	}
	return nil
}

func (w *readWatch) reply(r *hostile.Reply) {
	if !isCmd(r, hostile.CmdRead) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out--
}

// The pages of the 2,000-user host (128 KiB of 5,840-byte fragments each)
// are read with their fragments' reads outstanding together, and the
// users are those read one fragment a round trip. When the first
// fragment's alloc_hint claims four times the reply, the reads sent past
// its end stay pending at Samba (which does not answer a CANCEL of a pipe
// read), are first in line for the next replies, and read them: the
// enumeration is unchanged.
func TestReadAheadLive(t *testing.T) {
	up := labtest.Require(t, "bulk")["bulk"]
	opt := Options{Timeout: 30 * time.Second, NoGuest: true, Checks: CheckUsers | CheckGroups | CheckPolicy}
	base := Run(context.Background(), up, opt)
	if base.Error != "" || len(base.Users) < 2000 {
		t.Fatalf("direct run: %d users, layer %q error %q", len(base.Users), base.Layer, base.Error)
	}
	for _, tc := range []struct {
		name    string
		n       int
		inflate bool
	}{{"hint as sent", 72, false}, {"hint four times the reply", 73, true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := &readWatch{}
			p := &hostile.Proxy{Upstream: up, Request: w.request, Rule: func(r *hostile.Reply) {
				w.reply(r)
				if !tc.inflate || !isRPC(r, "samr", -1) {
					return
				}
				out, ok := hostile.IoctlOutput(r.Raw)
				// A RESPONSE PDU's first fragment of several: flags at 3,
				// alloc_hint at 16 (C706 12.6.4.10).
				if ok && len(out) >= 24 && out[2] == 2 && out[3]&0x03 == 0x01 {
					binary.LittleEndian.PutUint32(out[16:], 4*binary.LittleEndian.Uint32(out[16:]))
				}
			}}
			r := runThrough(t, hostile.Addr(tc.n), p, opt)
			if r.Error != "" {
				t.Fatalf("layer %q error %q", r.Layer, r.Error)
			}
			if len(r.Users) != len(base.Users) || r.Users[len(r.Users)-1].Name != base.Users[len(base.Users)-1].Name ||
				len(r.Groups) != len(base.Groups) || r.Policy == nil {
				t.Errorf("%d users, %d groups, policy %v; want %d, %d and a policy", len(r.Users), len(r.Groups), r.Policy != nil, len(base.Users), len(base.Groups))
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.most < 8 {
				t.Errorf("at most %d READs outstanding at once, want the fragments of a page together", w.most)
			}
			if w.cancels != 0 {
				t.Errorf("%d CANCELs: reads sent ahead are taken, never cancelled", w.cancels)
			}
			if tc.inflate && w.over == 0 {
				t.Error("no request went out while reads sent past a reply's end were pending")
			}
			t.Logf("most READs outstanding %d, requests sent while reads were out %d", w.most, w.over)
		})
	}
}
