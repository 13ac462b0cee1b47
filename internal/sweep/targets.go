package sweep

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// u128 is an address as a number: IPv4 in the low 32 bits, IPv6 whole.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) add(n uint64) u128 {
	lo, c := bits.Add64(a.lo, n, 0)
	return u128{a.hi + c, lo}
}

func (a u128) sub(b u128) u128 {
	lo, br := bits.Sub64(a.lo, b.lo, 0)
	return u128{a.hi - b.hi - br, lo}
}

func (a u128) isMax(v6 bool) bool {
	if v6 {
		return a.hi == ^uint64(0) && a.lo == ^uint64(0)
	}
	return a.lo == 0xffffffff
}

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func fromU128(v u128, v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

// span is an inclusive range of addresses of one family.
type span struct{ first, last u128 }

// size is last-first+1, saturated at 2^64 (ok false).
func (s span) size() (uint64, bool) {
	d := s.last.sub(s.first)
	if d.hi != 0 || d.lo == ^uint64(0) {
		return 0, false
	}
	return d.lo + 1, true
}

// Target is one host to sweep: an address or a host name.
type Target struct {
	Addr netip.Addr
	Name string
}

func (t Target) String() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Addr.String()
}

// Set is a set of targets held as ranges, never expanded: sorted, merged
// IPv4 and IPv6 spans and sorted, distinct host names (lower case).
type Set struct {
	v4, v6 []span
	names  []string
	// cum[i] is the number of targets before range i of v4 then v6; filled
	// by index().
	cum []uint64
}

// SyntaxError names where a target list is malformed.
type SyntaxError struct {
	Source string // "FILE", "argument 3", "--exclude"
	Line   int    // 0 when the source has no lines (an argument)
	Column int    // 1-based, in bytes
	Token  string
	Reason string
}

func (e *SyntaxError) Error() string {
	where := e.Source
	if e.Line > 0 {
		where += fmt.Sprintf(" line %d", e.Line)
	}
	return fmt.Sprintf("sweep: %s, column %d: %q: %s", where, e.Column, e.Token, e.Reason)
}

// MaxLineLen bounds one line of a target file.
const MaxLineLen = 64 << 10

// Parser accumulates targets from arguments and files.
type Parser struct{ s Set }

// ParseArgs adds targets given as arguments (several per argument may be
// separated by commas or spaces); source names them in errors, e.g.
// "argument" or "--exclude".
func (p *Parser) ParseArgs(source string, args []string) error {
	for i, a := range args {
		src := source
		if len(args) > 1 || source == "argument" {
			src = fmt.Sprintf("%s %d", source, i+1)
		}
		if err := p.parseLine(src, 0, a); err != nil {
			return err
		}
	}
	return nil
}

// ParseFile adds one target (or several, separated by commas or spaces) a
// line; '#' starts a comment.
func (p *Parser) ParseFile(name string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen)
	n := 0
	for sc.Scan() {
		n++
		if err := p.parseLine(name, n, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("sweep: %s line %d: longer than %d bytes", name, n+1, MaxLineLen)
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // it names the file again
		}
		return fmt.Errorf("sweep: read %s: %w", name, err)
	}
	return nil
}

// Set returns the targets parsed so far, merged.
func (p *Parser) Set() *Set {
	s := &Set{v4: merge(p.s.v4), v6: merge(p.s.v6), names: slices.Compact(slices.Sorted(slices.Values(p.s.names)))}
	s.index()
	return s
}

func (p *Parser) parseLine(source string, line int, text string) error {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	for i := 0; i < len(text); {
		if isSep(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && !isSep(text[j]) {
			j++
		}
		if err := p.parseToken(text[i:j]); err != "" {
			return &SyntaxError{Source: source, Line: line, Column: i + 1, Token: text[i:j], Reason: err}
		}
		i = j
	}
	return nil
}

func isSep(c byte) bool { return c == ' ' || c == '\t' || c == ',' || c == '\r' }

// parseToken adds one target; the result is the reason it is malformed.
func (p *Parser) parseToken(t string) string {
	if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
		a, err := netip.ParseAddr(t[1 : len(t)-1])
		if err != nil || !a.Is6() {
			return "not an IPv6 address"
		}
		return p.addSpan(a, a)
	}
	if addr, bitsText, ok := strings.Cut(t, "/"); ok {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return "CIDR block with an invalid address"
		}
		if a.Zone() != "" {
			return "addresses with a zone are not supported"
		}
		a = a.Unmap()
		n, err := strconv.Atoi(bitsText)
		if err != nil || n < 0 || n > a.BitLen() || bitsText != strconv.Itoa(n) {
			return fmt.Sprintf("prefix length must be 0..%d", a.BitLen())
		}
		pfx := netip.PrefixFrom(a, n).Masked()
		first := toU128(pfx.Addr())
		last := first
		hostBits := a.BitLen() - n
		if hostBits >= 64 {
			// A shift by 64 gives 0 in Go, so a /0 sets every bit of hi.
			last.lo = ^uint64(0)
			last.hi |= uint64(1)<<(hostBits-64) - 1
		} else {
			last.lo |= uint64(1)<<hostBits - 1
		}
		return p.addSpan(pfx.Addr(), fromU128(last, a.Is6()))
	}
	if left, right, ok := strings.Cut(t, "-"); ok {
		if a, err := netip.ParseAddr(left); err == nil {
			if a.Zone() != "" {
				return "addresses with a zone are not supported"
			}
			a = a.Unmap()
			var b netip.Addr
			if a.Is4() && right != "" && !strings.ContainsAny(right, ".:") {
				n, err := strconv.Atoi(right)
				if err != nil || n < 0 || n > 255 || right != strconv.Itoa(n) {
					return "range end must be 0..255 or a whole address"
				}
				o := a.As4()
				o[3] = byte(n)
				b = netip.AddrFrom4(o)
			} else {
				if b, err = netip.ParseAddr(right); err != nil || b.Zone() != "" {
					return "range end is not an address"
				}
				b = b.Unmap()
				if b.Is4() != a.Is4() {
					return "range mixes IPv4 and IPv6"
				}
			}
			if b.Less(a) {
				return "range runs backwards"
			}
			return p.addSpan(a, b)
		}
	}
	if a, err := netip.ParseAddr(t); err == nil {
		if a.Zone() != "" {
			return "addresses with a zone are not supported"
		}
		a = a.Unmap()
		return p.addSpan(a, a)
	}
	return p.addName(t)
}

func (p *Parser) addSpan(a, b netip.Addr) string {
	s := span{toU128(a), toU128(b)}
	if a.Is4() {
		p.s.v4 = append(p.s.v4, s)
	} else {
		p.s.v6 = append(p.s.v6, s)
	}
	return ""
}

// addName accepts a DNS host name (RFC 1123 labels; '_' tolerated as
// real networks use it). Anything shaped like an address is an error,
// never a DNS query: "300.1.1.1" is a typo, not a name.
func (p *Parser) addName(t string) string {
	if strings.ContainsAny(t, ":[]") {
		return "not an address or host name (sweep scans ports 445 and 139; no :port)"
	}
	if strings.ContainsRune(t, '/') || strings.ContainsRune(t, '-') && strings.Trim(t, "0123456789.-") == "" {
		return "not an address, CIDR block or range"
	}
	name := strings.TrimSuffix(t, ".")
	if name == "" || len(name) > 253 {
		return "host name must be 1..253 characters"
	}
	labels := strings.Split(name, ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "invalid IP address"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "host name labels must be 1..63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "host name label starts or ends with '-'"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Sprintf("character %q is not allowed in a host name", c)
			}
		}
	}
	p.s.names = append(p.s.names, strings.ToLower(name))
	return ""
}

// merge sorts spans and joins overlapping or adjacent ones.
func merge(in []span) []span {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b span) int { return a.first.cmp(b.first) })
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		// Adjacent when last.last+1 == x.first (no overflow: x.first > 0 then).
		if x.first.cmp(last.last) <= 0 || (x.first.lo != 0 || x.first.hi != 0) && x.first.sub(u128{0, 1}).cmp(last.last) == 0 {
			if x.last.cmp(last.last) > 0 {
				last.last = x.last
			}
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

// subtract removes ex (merged) from s (merged).
func subtract(s, ex []span) []span {
	var out []span
	j := 0
	for _, r := range s {
		cur := r
		alive := true
		for j < len(ex) && ex[j].last.cmp(cur.first) < 0 {
			j++
		}
		for k := j; alive && k < len(ex) && ex[k].first.cmp(cur.last) <= 0; k++ {
			e := ex[k]
			if e.first.cmp(cur.first) > 0 {
				out = append(out, span{cur.first, e.first.sub(u128{0, 1})})
			}
			if e.last.cmp(cur.last) >= 0 {
				alive = false
				break
			}
			cur.first = e.last.add(1)
		}
		if alive {
			out = append(out, cur)
		}
	}
	return out
}

// Without returns s minus ex. Addresses exclude addresses; names exclude
// the same name (excludes are not resolved).
func (s *Set) Without(ex *Set) *Set {
	out := &Set{v4: subtract(s.v4, ex.v4), v6: subtract(s.v6, ex.v6)}
	for _, n := range s.names {
		if _, found := slices.BinarySearch(ex.names, n); !found {
			out.names = append(out.names, n)
		}
	}
	out.index()
	return out
}

func (s *Set) index() {
	s.cum = make([]uint64, 0, len(s.v4)+len(s.v6))
	var total uint64
	for _, r := range slices.Concat(s.v4, s.v6) {
		s.cum = append(s.cum, total)
		n, ok := r.size()
		if !ok {
			n = ^uint64(0)
		}
		total, _ = addSat(total, n)
	}
}

func addSat(a, b uint64) (uint64, bool) {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return ^uint64(0), false
	}
	return s, true
}

// Count is the number of targets; ok is false when it is 2^64 or more
// (an IPv6 /64 holds 2^64).
func (s *Set) Count() (n uint64, ok bool) {
	ok = true
	for _, r := range slices.Concat(s.v4, s.v6) {
		k, fits := r.size()
		if !fits {
			return ^uint64(0), false
		}
		if n, fits = addSat(n, k); !fits {
			return n, false
		}
	}
	return addSat(n, uint64(len(s.names)))
}

// At returns target i (0 <= i < Count) in the set's canonical order: IPv4
// ascending, IPv6 ascending, then names.
func (s *Set) At(i uint64) Target {
	nr := len(s.v4) + len(s.v6)
	// Index of the last range starting at or before i.
	k, found := slices.BinarySearch(s.cum, i)
	if !found {
		k--
	}
	if k >= 0 && k < nr {
		r, v6 := s.rangeAt(k)
		if n, ok := r.size(); !ok || i-s.cum[k] < n {
			return Target{Addr: fromU128(r.first.add(i-s.cum[k]), v6)}
		}
	}
	total := uint64(0)
	if nr > 0 {
		r, _ := s.rangeAt(nr - 1)
		n, _ := r.size()
		total = s.cum[nr-1] + n
	}
	return Target{Name: s.names[i-total]}
}

func (s *Set) rangeAt(k int) (span, bool) {
	if k < len(s.v4) {
		return s.v4[k], false
	}
	return s.v6[k-len(s.v4)], true
}

// Canonical writes the set as text, one range or name a line; equal sets
// give equal text whatever their spelling.
func (s *Set) Canonical(w io.Writer) {
	for k := range len(s.v4) + len(s.v6) {
		r, v6 := s.rangeAt(k)
		fmt.Fprintf(w, "%s-%s\n", fromU128(r.first, v6), fromU128(r.last, v6))
	}
	for _, n := range s.names {
		fmt.Fprintf(w, "name %s\n", n)
	}
}

// Describe is a short human description, e.g. for a refusal.
func (s *Set) Describe() string {
	var parts []string
	for k := range min(len(s.v4)+len(s.v6), 3) {
		r, v6 := s.rangeAt(k)
		a, b := fromU128(r.first, v6), fromU128(r.last, v6)
		if a == b {
			parts = append(parts, a.String())
		} else {
			parts = append(parts, a.String()+"-"+b.String())
		}
	}
	if more := len(s.v4) + len(s.v6) - 3; more > 0 {
		parts = append(parts, fmt.Sprintf("%d more ranges", more))
	}
	if len(s.names) > 0 {
		parts = append(parts, fmt.Sprintf("%d names", len(s.names)))
	}
	return strings.Join(parts, ", ")
}
