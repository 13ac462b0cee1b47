package sweep

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens a second, up to burst saved. A
// waiter takes a token at once, going into debt; the debt is the wait.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// newBucket returns nil for rate <= 0 (no limit).
func newBucket(rate float64) *bucket {
	if rate <= 0 {
		return nil
	}
	// A tenth of a second's worth, at least one: short bursts, no flood.
	burst := max(1, rate/10)
	return &bucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// wait blocks until a token is available or ctx ends.
func (b *bucket) wait(ctx context.Context) error {
	if b == nil {
		return ctx.Err()
	}
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	debt := b.tokens
	b.mu.Unlock()
	if debt >= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(time.Duration(-debt / b.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
