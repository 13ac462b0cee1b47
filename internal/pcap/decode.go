package pcap

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
)

// decoder holds the state of one Read: the report being filled and the
// shared budget.
type decoder struct {
	lim      Limits
	rep      *Report
	buf      *budget
	file     string
	records  int
	udpState *udpState
}

// ReadFiles reads captures in order and reports on all of them. A file
// that cannot be opened is an error; a file that ends early or holds a
// corrupt record is reported in Files with what was read before.
func ReadFiles(ctx context.Context, names []string, lim Limits) (*Report, error) {
	lim = lim.withDefaults()
	d := &decoder{lim: lim, rep: &Report{Limits: lim}, buf: &budget{max: lim.MaxBuffered}}
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("pcap: %w", err)
		}
		err = d.read(ctx, name, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	d.finish()
	return d.rep, nil
}

// Read reads one capture from r; name labels it in the report.
func Read(ctx context.Context, name string, r io.Reader, lim Limits) (*Report, error) {
	lim = lim.withDefaults()
	d := &decoder{lim: lim, rep: &Report{Limits: lim}, buf: &budget{max: lim.MaxBuffered}}
	if err := d.read(ctx, name, r); err != nil {
		return nil, err
	}
	d.finish()
	return d.rep, nil
}

func (d *decoder) read(ctx context.Context, name string, r io.Reader) error {
	d.file = name
	fi := File{Name: name}
	defer func() { d.rep.Files = append(d.rep.Files, fi) }()
	rd, err := NewReader(r)
	if err != nil {
		fi.Error = err.Error()
		return nil
	}
	a := &assembler{lim: d.lim, buf: d.buf, conns: map[connKey]*tcpConn{}, stats: &d.rep.Stats}
	a.newConn = func(client, server netip.AddrPort, frame int) *tcpConn { return d.newConn(client, server, frame) }
	last := 0
	firstMsg := len(d.rep.Messages)
	for {
		if fi.Packets%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("pcap: %s: %w", name, err)
			}
		}
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fi.Error = fmt.Sprintf("after frame %d: %v", last, err)
			break
		}
		last = p.Frame
		fi.Packets++
		d.rep.Stats.Packets++
		s, why := parseSegment(p.LinkType, p.Data)
		switch why {
		case "":
		case skipLink:
			d.rep.Stats.SkippedLink++
			continue
		default:
			d.rep.Stats.SkippedOther++
			continue
		}
		if s.udp {
			d.rep.Stats.UDPDatagrams++
			d.udp(p.Frame, s)
			continue
		}
		d.rep.Stats.TCPSegments++
		a.add(p.Frame, s)
	}
	a.finishAll(last)
	d.udpState = nil
	// Messages come in the order their PDUs completed; a response can
	// complete before a request held out of order.
	msgs := d.rep.Messages[firstMsg:]
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Frame < msgs[j].Frame })
	d.rep.Stats.PeakBuffered = max(d.rep.Stats.PeakBuffered, d.buf.peak)
	return nil
}

// listConversation adds a conversation to the report within MaxRecords;
// past it the conversation is counted and not followed.
func (d *decoder) listConversation(c *Conversation) bool {
	if len(d.rep.Conversations) >= d.lim.MaxRecords {
		d.rep.Stats.NotListed++
		return false
	}
	d.rep.Conversations = append(d.rep.Conversations, c)
	return true
}

// bounded appends v unless the list holds MaxRecords already.
func bounded[T any](d *decoder, list []T, v T) []T {
	if len(list) >= d.lim.MaxRecords {
		d.rep.Stats.NotListed++
		return list
	}
	return append(list, v)
}

// undecoded lists one thing not decoded.
func (d *decoder) undecoded(frame int, what, reason string) {
	d.rep.NotDecodedTotal++
	if len(d.rep.NotDecoded) < d.lim.MaxRecords {
		d.rep.NotDecoded = append(d.rep.NotDecoded, Undecoded{File: d.file, Frame: frame, What: what, Reason: reason})
	}
}

// message records one decoded message for comparison.
func (d *decoder) message(frame int, layer string, fields map[string][]string) {
	if d.records >= d.lim.MaxRecords {
		return
	}
	d.records++
	d.rep.Messages = append(d.rep.Messages, Message{File: d.file, Frame: frame, Layer: layer, Fields: fields})
}

func (d *decoder) finish() {
	d.rep.leftover = d.buf.used
	for _, c := range d.rep.Conversations {
		sort.SliceStable(c.Calls, func(i, j int) bool { return c.Calls[i].RequestFrame < c.Calls[j].RequestFrame })
		d.rep.Findings = append(d.rep.Findings, findings(c)...)
	}
	if d.rep.Conversations == nil {
		d.rep.Conversations = []*Conversation{}
	}
	if d.rep.Findings == nil {
		d.rep.Findings = []Finding{}
	}
	if d.rep.NotDecoded == nil {
		d.rep.NotDecoded = []Undecoded{}
	}
}
