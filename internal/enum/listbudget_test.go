package enum

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/smb"
)

// bigListings plays a host whose every share lists 10,000 entries of
// 450-character names: 4.6 MB of names a share.
type bigListings struct{ lists int }

func (b *bigListings) TreeConnect(context.Context, string) (smb.Tree, error) { return b, nil }
func (b *bigListings) Logoff(context.Context) error                          { return nil }
func (b *bigListings) OpenPipe(context.Context, string) (smb.Pipe, error) {
	return nil, errors.New("no pipes")
}
func (b *bigListings) Disconnect(context.Context) error { return nil }
func (b *bigListings) List(context.Context, string) ([]smb.DirEntry, error) {
	b.lists++
	name := strings.Repeat("n", 450)
	es := make([]smb.DirEntry, 10000)
	for i := range es {
		es[i].Name = name
	}
	return es, nil
}

// TestListingBudget: once a host's listings hold maxListedBytes of names,
// further shares are connected but not listed, and their outcome says so
// (absent entries are entries not read).
func TestListingBudget(t *testing.T) {
	srv := &bigListings{}
	h := &host{Session: srv, Result: &Result{Checks: []Check{}, Shares: []Share{{Name: "a"}, {Name: "b"}, {Name: "c"}}}}
	h.shareChecks(context.Background(), nil)
	if srv.lists != 1 {
		t.Fatalf("%d shares listed, want 1", srv.lists)
	}
	a, b := h.Result.Shares[0].Anonymous, h.Result.Shares[1].Anonymous
	if a.List != OK || len(a.Entries) != 10000 {
		t.Fatalf("first share: list %q, %d entries", a.List, len(a.Entries))
	}
	if b.Connect != OK || !strings.Contains(string(b.List), "not listed") || b.Entries != nil {
		t.Fatalf("second share: connect %q, list %q, %d entries", b.Connect, b.List, len(b.Entries))
	}
}
