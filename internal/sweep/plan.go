package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// DefaultMaxTargets is --max-targets' default: a /16.
const DefaultMaxTargets = 65536

// Plan is the ordered target list of one sweep and the part of it this
// process takes. The order is a seeded permutation of the set's canonical
// order, so consecutive connects land in different subnets; shard i of n
// takes the permuted positions k with k mod n == i-1, so the n shards are
// disjoint and cover the plan exactly once whatever n is.
type Plan struct {
	Set *Set
	// N is the number of targets of the whole plan (all shards).
	N    uint64
	Seed uint64
	// Shard is 1..Shards.
	Shard, Shards uint64
	// ID is a hash of the target set (after excludes), the seed and Shards.
	ID   string
	perm feistel
}

// TooManyError refuses a plan above --max-targets.
type TooManyError struct {
	Count     uint64
	Saturated bool // the count is 2^64 or more
	Max       uint64
	What      string
}

func (e *TooManyError) Error() string {
	if e.Saturated {
		return fmt.Sprintf("sweep: %s: 2^64 or more targets, above --max-targets %d; sweep a smaller block (an IPv6 /64 holds 2^64)", e.What, e.Max)
	}
	return fmt.Sprintf("sweep: %s: %s targets, above --max-targets %s; raise it with --max-targets %d, or split the sweep with --shard i/n",
		e.What, group(e.Count), group(e.Max), e.Count)
}

// group writes n with thousands separators.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// NewPlan orders targets minus excludes with seed and takes shard of
// shards (1-based). Nothing is expanded: the count is arithmetic.
func NewPlan(targets, excludes *Set, seed, shard, shards, maxTargets uint64) (*Plan, error) {
	if shards < 1 || shard < 1 || shard > shards {
		return nil, fmt.Errorf("sweep: shard %d/%d: want i/n with 1 <= i <= n", shard, shards)
	}
	set := targets.Without(excludes)
	n, ok := set.Count()
	if !ok {
		return nil, &TooManyError{Saturated: true, Max: maxTargets, What: set.Describe()}
	}
	// The bound is on what this process sweeps: its shard.
	if mine := shardLen(n, shard, shards); mine > maxTargets {
		what := set.Describe()
		if shards > 1 {
			what += fmt.Sprintf(", shard %d/%d", shard, shards)
		}
		return nil, &TooManyError{Count: mine, Max: maxTargets, What: what}
	}
	h := sha256.New()
	fmt.Fprintf(h, "nullsweep plan 1\nseed %d\nshards %d\n", seed, shards)
	set.Canonical(h)
	p := &Plan{Set: set, N: n, Seed: seed, Shard: shard, Shards: shards,
		ID: hex.EncodeToString(h.Sum(nil)[:8]), perm: newFeistel(n, seed)}
	return p, nil
}

// ShardName is "i/n".
func (p *Plan) ShardName() string { return fmt.Sprintf("%d/%d", p.Shard, p.Shards) }

// Len is the number of targets of this shard.
func (p *Plan) Len() uint64 { return shardLen(p.N, p.Shard, p.Shards) }

func shardLen(n, shard, shards uint64) uint64 {
	if n <= shard-1 {
		return 0
	}
	return (n-shard)/shards + 1
}

// At returns the j-th target of this shard (0 <= j < Len) and its index,
// the position in the whole plan's permuted order.
func (p *Plan) At(j uint64) (index uint64, t Target) {
	index = p.Shard - 1 + j*p.Shards
	return index, p.Set.At(p.perm.at(index))
}

// Local maps a plan index back to this shard's j; ok is false when the
// index belongs to another shard or lies outside the plan.
func (p *Plan) Local(index uint64) (j uint64, ok bool) {
	if index >= p.N || index%p.Shards != p.Shard-1 {
		return 0, false
	}
	return index / p.Shards, true
}

// feistel is a permutation of [0, n): a balanced Feistel network over the
// smallest even power of two >= n, cycle-walked back into range (values
// at or above n are enciphered again; since the domain is < 4n the walk
// is short on average).
type feistel struct {
	n    uint64
	half uint
	mask uint64
	keys [4]uint64
}

func newFeistel(n, seed uint64) feistel {
	b := uint(2)
	if n > 1 {
		b = uint(bits.Len64(n - 1))
	}
	b += b & 1
	b = max(b, 2)
	f := feistel{n: n, half: b / 2, mask: uint64(1)<<(b/2) - 1}
	x := seed
	for i := range f.keys {
		x += 0x9e3779b97f4a7c15
		f.keys[i] = mix(x)
	}
	return f
}

// mix is SplitMix64's finaliser: a cheap, well-spread 64-bit hash.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (f feistel) enc(x uint64) uint64 {
	l, r := x>>f.half, x&f.mask
	for _, k := range f.keys {
		l, r = r, l^(mix(r^k)&f.mask)
	}
	return l<<f.half | r
}

func (f feistel) at(i uint64) uint64 {
	x := f.enc(i)
	for x >= f.n {
		x = f.enc(x)
	}
	return x
}
