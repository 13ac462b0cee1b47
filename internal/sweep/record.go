// Package sweep examines networks: it parses and orders targets, scans for
// an open SMB port, runs enum and audit on each host that has one, and
// writes one JSON Lines record per target (docs/json.md, "Sweep records").
package sweep

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
)

// Schema names the sweep JSON Lines contract version.
const Schema = "nullsweep-sweep/1"

// Kind tells the two record shapes of a sweep file apart.
type Kind string

// Record kinds.
const (
	KindHost    Kind = "host"
	KindSummary Kind = "summary"
)

// Status is what a sweep learned of one target.
type Status string

// Statuses. Open means a port answered and the host was examined (whatever
// it exposed); error means the examination stopped short of a verdict (the
// layer says where), including every deadline; filtered means no answer to
// the connect within --connect-timeout; closed means both 445 and 139
// refused the connection.
const (
	StatusOpen     Status = "open"
	StatusClosed   Status = "closed"
	StatusFiltered Status = "filtered"
	StatusError    Status = "error"
)

// LayerInternal is the layer of a host whose examination hit a bug of
// ours (a recovered panic): enum's layers name the wire, this does not.
const LayerInternal enum.Layer = "internal"

// Statuses lists every status, in the order the summary shows them.
var Statuses = []Status{StatusOpen, StatusClosed, StatusFiltered, StatusError}

// Header is common to both kinds of record.
type Header struct {
	Schema string `json:"schema"`
	Kind   Kind   `json:"kind"`
	// RunID names one sweep invocation; a --resume keeps the run's id.
	RunID string `json:"run_id"`
	// PlanID is a hash of the target set (after excludes), the seed and the
	// shard count: the shards of one plan share it.
	PlanID string `json:"plan_id"`
	// Shard is "i/n", 1-based; "1/1" when not sharded.
	Shard string    `json:"shard"`
	Time  time.Time `json:"time"`
}

// Record is one target's outcome.
type Record struct {
	Header
	// Index is the target's position in the plan's permuted order; --resume
	// marks it done.
	Index  uint64 `json:"index"`
	Target string `json:"target"`
	// Address is the address connected to, when the target is a name.
	Address string `json:"address,omitempty"`
	// Port is the port found open (445, or 139 when 445 is closed).
	Port   int    `json:"port,omitempty"`
	Status Status `json:"status"`
	// Layer and Error say where an examination stopped: reachability for
	// the connect scan, or enum's layer (resolve, negotiate, session, ...).
	Layer enum.Layer `json:"layer,omitempty"`
	Error string     `json:"error,omitempty"`
	MS    int64      `json:"ms"`
	// Result and Audit are present for hosts examined in phase 2.
	Result *enum.Result  `json:"result,omitempty"`
	Audit  *audit.Report `json:"audit,omitempty"`
}

// Summary ends a sweep's output.
type Summary struct {
	Header
	// Targets is the number of targets in this shard of the plan.
	Targets uint64 `json:"targets"`
	// Done counts the targets with a record (written or, with --only-open,
	// dropped); Complete is Done == Targets and no interruption.
	Done     uint64 `json:"done"`
	Complete bool   `json:"complete"`
	// Counts is per status; every status is present.
	Counts map[Status]uint64 `json:"counts"`
	// Findings counts findings per severity over all hosts; every severity
	// is present. HostsWithFindings counts hosts with at least one.
	Findings          map[audit.Severity]uint64 `json:"findings"`
	HostsWithFindings uint64                    `json:"hosts_with_findings"`
	ElapsedMS         int64                     `json:"elapsed_ms"`
	// Started is when the run (its first part, for a resumed run) began.
	Started time.Time `json:"started"`
	// Args is the command line after the verb (no credential is ever a
	// flag, so none is here).
	Args []string `json:"args,omitempty"`
}

// NewSummary returns a summary with every status and severity at zero.
func NewSummary(h Header) *Summary {
	h.Schema, h.Kind = Schema, KindSummary
	s := &Summary{Header: h, Counts: map[Status]uint64{}, Findings: map[audit.Severity]uint64{}}
	for _, st := range Statuses {
		s.Counts[st] = 0
	}
	for sev := audit.Info; sev <= audit.Critical; sev++ {
		s.Findings[sev] = 0
	}
	return s
}

// Add counts one host record.
func (s *Summary) Add(r *Record) {
	s.Done++
	s.Counts[r.Status]++
	if r.Audit != nil && len(r.Audit.Findings) > 0 {
		s.HostsWithFindings++
		for _, f := range r.Audit.Findings {
			s.Findings[f.Severity]++
		}
	}
}

// Line is one decoded line of a sweep file: exactly one field is set.
type Line struct {
	Host    *Record
	Summary *Summary
	// Offset is the byte offset just past the line.
	Offset int64
}

// MaxLine bounds one record line: a host's full result with thousands of
// users and RIDs stays well inside it.
const MaxLine = 64 << 20

// ErrTorn marks a last line cut short (a sweep killed mid-write).
var ErrTorn = errors.New("sweep: torn last line")

// Read decodes a sweep file line by line and calls fn for each record. A
// last line without its newline that does not decode is reported as
// ErrTorn after every whole line was delivered (the caller may ignore it);
// any other bad line is an error naming its line number.
func Read(r io.Reader, fn func(Line) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for n := 1; ; n++ {
		line, err := readLine(br)
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("sweep: read line %d: %w", n, err)
		}
		torn := err == io.EOF // no newline at the end
		off += int64(len(line))
		l, derr := decodeLine(bytes.TrimSpace(line))
		if derr != nil {
			if torn {
				return ErrTorn
			}
			return fmt.Errorf("sweep: line %d: %w", n, derr)
		}
		if torn {
			// Whole JSON without its newline: still torn for an appender.
			l.Offset = off
			if err := fn(l); err != nil {
				return err
			}
			return ErrTorn
		}
		l.Offset = off
		if err := fn(l); err != nil {
			return err
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLine {
			return nil, fmt.Errorf("line longer than %d bytes", MaxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}

func decodeLine(b []byte) (Line, error) {
	var h Header
	if err := json.Unmarshal(b, &h); err != nil {
		return Line{}, fmt.Errorf("not JSON, so not a record of 'nullsweep sweep' (%w)", err)
	}
	if h.Schema != Schema {
		return Line{}, fmt.Errorf("schema %q, want %q", h.Schema, Schema)
	}
	switch h.Kind {
	case KindHost:
		r := &Record{}
		if err := json.Unmarshal(b, r); err != nil {
			return Line{}, err
		}
		return Line{Host: r}, nil
	case KindSummary:
		s := &Summary{}
		if err := json.Unmarshal(b, s); err != nil {
			return Line{}, err
		}
		return Line{Summary: s}, nil
	}
	return Line{}, fmt.Errorf("unknown kind %q", h.Kind)
}
