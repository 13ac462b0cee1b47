package enum

import (
	"context"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// benchEnum times the checks of the enum issue (-U -S -P -G -L) on one lab
// victim, over one session, after a warm-up run (smbd starts its RPC helpers
// on first use).
func benchEnum(b *testing.B, posture string, wantUsers int) {
	addr := labtest.Require(b, posture)[posture]
	opt := Options{Timeout: 60 * time.Second, NoGuest: true,
		Checks: CheckUsers | CheckShares | CheckPolicy | CheckGroups | CheckLSA}
	warm := Run(context.Background(), addr, opt)
	if len(warm.Users) < wantUsers {
		b.Fatalf("warm-up found %d users, want %d (stopped at %s: %s)", len(warm.Users), wantUsers, warm.Layer, warm.Error)
	}
	b.ResetTimer()
	for b.Loop() {
		r := Run(context.Background(), addr, opt)
		if len(r.Users) < wantUsers {
			b.Fatalf("found %d users", len(r.Users))
		}
	}
}

func BenchmarkEnumOpen(b *testing.B) { benchEnum(b, "open", 3) }
func BenchmarkEnumBulk(b *testing.B) { benchEnum(b, "bulk", 2003) }
