package sweep

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Bitmap marks done targets by their position in a shard (one bit each:
// 8 KiB for a /16), never by their names.
type Bitmap struct {
	w []uint64
	n uint64
}

// NewBitmap holds n bits.
func NewBitmap(n uint64) *Bitmap { return &Bitmap{w: make([]uint64, (n+63)/64), n: n} }

// Set marks bit j; it reports whether it was clear.
func (b *Bitmap) Set(j uint64) bool {
	m := uint64(1) << (j % 64)
	was := b.w[j/64]&m == 0
	b.w[j/64] |= m
	return was
}

// Has reports bit j.
func (b *Bitmap) Has(j uint64) bool { return b != nil && b.w[j/64]&(uint64(1)<<(j%64)) != 0 }

// Options tune a sweep.
type Options struct {
	// ConnectTimeout bounds each phase-1 connect (default 1 s).
	ConnectTimeout time.Duration
	// Rate is connects a second over the whole sweep (0: no limit).
	Rate float64
	// Connects caps the connects in flight (at least 1).
	Connects int
	// Port is 445 or 139 to scan and examine that port only; 0 connects
	// to 445, then to 139 when 445 refused.
	Port int
	// Concurrency is the number of hosts examined at once in phase 2.
	Concurrency int
	Examine     ExamineOptions
	// Done marks targets of this shard already recorded (--resume).
	Done *Bitmap
	// Dial replaces phase 1's own connect (tests); Resolver defaults to
	// the system's.
	Dial     DialFunc
	Resolver *net.Resolver
	Logger   *slog.Logger
	// examine is phase 2 (tests replace it).
	examine func(ctx context.Context, target string, opt ExamineOptions, rec *Record)
	// Grace is how long in-flight hosts get to end after ctx is cancelled
	// (default 2 s); then Run returns without them.
	Grace time.Duration
}

// Progress is what a progress display reads while a sweep runs.
type Progress struct {
	Done, Open, Findings atomic.Uint64
}

// Run sweeps the plan's shard: phase 1 connects to every target not yet
// done, phase 2 examines each host with an open port, and emit receives
// each finished record, from one goroutine at a time, as it finishes.
// It returns true when every target got a record; false when ctx was
// cancelled first (records of hosts cut short are not emitted, so a
// resume examines them again).
func Run(ctx context.Context, plan *Plan, opt Options, prog *Progress, emit func(*Record)) bool {
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = time.Second
	}
	if opt.Connects < 1 {
		opt.Connects = 1
	}
	if opt.Concurrency < 1 {
		opt.Concurrency = 1
	}
	if opt.Examine.HostTimeout <= 0 {
		opt.Examine.HostTimeout = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	opt.Examine.Logger = opt.Logger
	if opt.Resolver == nil {
		opt.Resolver = net.DefaultResolver
	}
	if opt.Grace <= 0 {
		opt.Grace = 2 * time.Second
	}
	if opt.examine == nil {
		opt.examine = examine
	}
	if prog == nil {
		prog = &Progress{}
	}
	header := Header{Schema: Schema, Kind: KindHost, PlanID: plan.ID, Shard: plan.ShardName()}

	// Phase 1's records are small and buffered; phase 2's go over an
	// unbuffered channel, so a finished host's result is held by its worker
	// until it is written: at most Concurrency results exist at once, and
	// memory stays Concurrency × the per-host bound (docs/bounds.md).
	records := make(chan *Record, 256)
	examined := make(chan *Record)
	open := newQueue()
	limiter := newBucket(opt.Rate)
	sc := &scanner{dial: opt.Dial, resolver: opt.Resolver, timeout: opt.ConnectTimeout, port: opt.Port, limit: limiter}
	opt.Examine.Port = opt.Port
	var interrupted atomic.Bool

	// Phase 1: one goroutine per connect in flight, at most Connects.
	var scans sync.WaitGroup
	go func() {
		sem := make(chan struct{}, opt.Connects)
		for j := range plan.Len() {
			if opt.Done.Has(j) {
				continue
			}
			if limiter.wait(ctx) != nil {
				interrupted.Store(true)
				break
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				interrupted.Store(true)
				break
			}
			idx, t := plan.At(j)
			scans.Add(1)
			go func() {
				defer func() { <-sem; scans.Done() }()
				start := time.Now()
				p := sc.scan(ctx, t)
				if p.interrupted {
					interrupted.Store(true)
					return
				}
				rec := &Record{Header: header, Index: idx, Target: t.String(), Address: p.address, Port: p.port,
					Status: p.status, Layer: p.layer, Error: p.err, MS: time.Since(start).Milliseconds()}
				if p.status == StatusOpen {
					open.push(rec)
					return
				}
				records <- rec
			}()
		}
		scans.Wait()
		close(records)
		open.close()
	}()

	// Phase 2: Concurrency workers take open hosts.
	var workers sync.WaitGroup
	for range opt.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				rec, ok := open.pop(ctx)
				if !ok {
					return
				}
				start := time.Now()
				// A name goes to enum as written: it resolves it itself,
				// as a solo audit would.
				safely(ctx, opt, rec)
				if ctx.Err() != nil {
					interrupted.Store(true)
					continue
				}
				rec.MS += time.Since(start).Milliseconds()
				examined <- rec
			}
		}()
	}
	go func() {
		workers.Wait()
		close(examined)
	}()

	// The one goroutine that emits; after Run returns it drops what comes
	// late (a host past the grace period), so emit is never called then.
	var emitMu sync.Mutex
	stopped := false
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		recs, exam := records, examined
		for recs != nil || exam != nil {
			var rec *Record
			var ok bool
			select {
			case rec, ok = <-recs:
				if !ok {
					recs = nil
					continue
				}
			case rec, ok = <-exam:
				if !ok {
					exam = nil
					continue
				}
			}
			emitMu.Lock()
			if !stopped {
				rec.Time = time.Now().UTC()
				prog.Done.Add(1)
				if rec.Status == StatusOpen {
					prog.Open.Add(1)
				}
				if rec.Audit != nil {
					prog.Findings.Add(uint64(len(rec.Audit.Findings)))
				}
				emit(rec)
			}
			emitMu.Unlock()
		}
	}()
	select {
	case <-emitted:
	case <-ctx.Done():
		// No new hosts; those in flight get Grace to end.
		t := time.NewTimer(opt.Grace)
		select {
		case <-emitted:
		case <-t.C:
			opt.Logger.Warn("sweep: hosts still running after the grace period are left out")
			interrupted.Store(true)
		}
		t.Stop()
	}
	emitMu.Lock()
	stopped = true
	emitMu.Unlock()
	return !interrupted.Load() && ctx.Err() == nil
}

// safely runs phase 2 for one host: a bug that one host triggers becomes
// that host's error and costs no other host anything.
func safely(ctx context.Context, opt Options, rec *Record) {
	defer func() {
		if v := recover(); v != nil {
			opt.Logger.Error("sweep: examine panicked", "target", rec.Target, "panic", v, "stack", string(debug.Stack()))
			rec.Status, rec.Layer, rec.Error = StatusError, LayerInternal, fmt.Sprintf("internal error: %v", v)
			rec.Result, rec.Audit = nil, nil
		}
	}()
	opt.examine(ctx, rec.Target, opt.Examine, rec)
}

// queue is an unbounded FIFO of open hosts: phase 1 never waits for phase
// 2, and an open host costs one small record until it is examined.
type queue struct {
	mu     sync.Mutex
	items  []*Record
	closed bool
	ready  chan struct{} // signalled on push and close
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

func (q *queue) push(r *Record) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop returns the next host; false when the queue is closed and empty or
// ctx ended.
func (q *queue) pop(ctx context.Context) (*Record, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			r := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			more := len(q.items) > 0 || q.closed
			q.mu.Unlock()
			if more {
				// Wake the next worker.
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			return r, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			select {
			case q.ready <- struct{}{}:
			default:
			}
			return nil, false
		}
		if ctx.Err() != nil {
			return nil, false
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, false
		}
	}
}
