package hostile

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// Recording is what a real server answered, connection by connection,
// step by step: one Step per client request with the frames that answered
// it. A Proxy with Record set writes one; Replay serves it again without
// the server, so hostile cases run in milliseconds, many at once, and with
// no lab at all.
type Recording struct {
	Source string     `json:"source"` // what was recorded: posture, options
	Conns  []*RecConn `json:"conns"`

	mu     sync.Mutex
	misses atomic.Int32
}

// RecConn is one recorded connection.
type RecConn struct {
	Steps []*Step `json:"steps"`
}

// Step is one request, by its key (see requestKey), the SMB2 FileId it
// was sent on (see requestFile; empty for a request on no open file) and
// the frames that answered it, whole (frame header first), hex-encoded.
type Step struct {
	Key     string   `json:"key"`
	File    string   `json:"file,omitempty"`
	Replies []string `json:"replies"`
}

//go:embed testdata/open.json
var openJSON []byte

// OpenLab is a full enum of the lab's open posture (all checks but RID
// cycling, whose lanes take RID batches in no fixed order), recorded
// through a Proxy: over SMB2 with the RPC checks beside each other on
// pipes of their own, as a default run has them, then over SMB1. Each call
// returns a fresh copy.
func OpenLab() (*Recording, error) {
	var r Recording
	if err := json.Unmarshal(openJSON, &r); err != nil {
		return nil, fmt.Errorf("hostile: recording: %w", err)
	}
	return &r, nil
}

// Save writes the recording as indented JSON.
func (r *Recording) Save(path string) error {
	r.mu.Lock()
	b, err := json.MarshalIndent(r, "", " ")
	r.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Misses counts requests Replay had no recorded answer for (it closes the
// connection on one).
func (r *Recording) Misses() int { return int(r.misses.Load()) }

func (r *Recording) newConn() *RecConn {
	c := &RecConn{}
	r.mu.Lock()
	r.Conns = append(r.Conns, c)
	r.mu.Unlock()
	return c
}

func (r *Recording) addStep(c *RecConn, key, file string) *Step {
	s := &Step{Key: key, File: file}
	r.mu.Lock()
	c.Steps = append(c.Steps, s)
	r.mu.Unlock()
	return s
}

func (r *Recording) addReply(s *Step, frame []byte) {
	r.mu.Lock()
	s.Replies = append(s.Replies, hex.EncodeToString(frame))
	r.mu.Unlock()
}

// requestKey names a request well enough to find it again in a recording
// while ignoring what changes from run to run: message ids, the host in a
// tree-connect path, a client GUID, the guest probe's random user name.
func requestKey(typ byte, msg []byte) string {
	if typ != 0 {
		return fmt.Sprintf("nbss:%02x", typ)
	}
	switch {
	case isSMB1(msg) && len(msg) >= 33:
		k := fmt.Sprintf("smb1:%02x", msg[4])
		if msg[4] == 0x73 {
			k += ntlmKey(msg)
		}
		return k
	case isSMB2(msg) && len(msg) >= smb2HeaderSize+4:
		cmd := le.Uint16(msg[12:])
		k := fmt.Sprintf("smb2:%d", cmd)
		body := msg[smb2HeaderSize:]
		switch cmd {
		case CmdNegotiate:
			if len(body) >= 36 {
				n := int(le.Uint16(body[2:]))
				if 36+2*n <= len(body) {
					k += ":" + hex.EncodeToString(body[36:36+2*n])
				}
			}
		case CmdSessionSetup:
			k += ntlmKey(msg)
		case CmdTreeConnect:
			if len(body) >= 8 {
				off, n := int(le.Uint16(body[4:])), int(le.Uint16(body[6:]))
				if off >= smb2HeaderSize && off+n <= len(msg) {
					p := utf16le(msg[off : off+n])
					k += ":" + strings.ToUpper(p[strings.LastIndex(p, `\`)+1:])
				}
			}
		case CmdCreate:
			if len(body) >= 48 {
				off, n := int(le.Uint16(body[44:])), int(le.Uint16(body[46:]))
				if off >= smb2HeaderSize && off+n <= len(msg) {
					k += ":" + utf16le(msg[off:off+n])
				}
			}
		case CmdIoctl:
			if len(body) >= 56 {
				off, n := int(le.Uint32(body[24:])), int(le.Uint32(body[28:]))
				if off >= smb2HeaderSize && off+n <= len(msg) {
					if r := ParseRPC(msg[off : off+n]); r != nil {
						k += fmt.Sprintf(":rpc%d:%d", r.Type, r.Opnum)
					}
				}
			}
		}
		return k
	}
	return "other"
}

// ntlmKey tells an NTLMSSP NEGOTIATE from an anonymous or a named
// AUTHENTICATE, without the name.
func ntlmKey(msg []byte) string {
	i := bytes.Index(msg, []byte("NTLMSSP\x00"))
	if i < 0 || i+12 > len(msg) {
		return ":plain"
	}
	t := le.Uint32(msg[i+8:])
	if t != 3 || i+48 > len(msg) {
		return fmt.Sprintf(":ntlm%d", t)
	}
	if le.Uint16(msg[i+36:]) == 0 { // UserName length
		return ":ntlm3-anonymous"
	}
	return ":ntlm3-user"
}

// requestFile is the FileId an SMB2 request acts on, hex-encoded: the
// file or pipe a CREATE opened ([MS-SMB2] 2.2.14), named again by CLOSE,
// FLUSH, READ, WRITE, LOCK, IOCTL, QUERY_DIRECTORY, CHANGE_NOTIFY,
// QUERY_INFO and SET_INFO (2.2.15-2.2.39). Empty for every other request,
// for SMB1, and for the all-ones FileId of an IOCTL on no file (2.2.31).
func requestFile(msg []byte) string {
	if !isSMB2(msg) || len(msg) < smb2HeaderSize {
		return ""
	}
	var off int
	switch le.Uint16(msg[12:]) {
	case CmdClose, 0x0007, 0x000A, CmdIoctl, CmdQueryDir, 0x000F: // FLUSH, LOCK, CHANGE_NOTIFY
		off = 8
	case CmdRead, CmdWrite, 0x0011: // SET_INFO
		off = 16
	case 0x0010: // QUERY_INFO
		off = 24
	default:
		return ""
	}
	b := msg[smb2HeaderSize:]
	if len(b) < off+16 {
		return ""
	}
	f := b[off : off+16]
	if bytes.Equal(f, bytes.Repeat([]byte{0xFF}, 16)) {
		return ""
	}
	return hex.EncodeToString(f)
}

// Replay serves a recording. A connection is matched, request by request,
// against the recorded connections whose steps so far had the same keys,
// and gets the first match's replies with its own message ids (SMB2) or
// MIDs (SMB1).
//
// A recorded connection is read as streams: one per SMB2 FileId (the
// steps sent on that open file or pipe, in recorded order), and one for
// every other request (negotiate, session setup, tree connect and
// disconnect, CREATE, logoff, and all of SMB1). Replies are recorded
// verbatim, so the client uses the recorded FileIds, and a request goes to
// the stream of its FileId (the unbound one if the recording has no such
// FileId). Within its stream a request takes the step at the stream's
// cursor while that step has the request's key (on the unbound SMB2
// stream: and no earlier step with that key is unused); every candidate
// connection where it does stays a candidate. Off that path only the first
// candidate is kept, and a request takes, on the unbound SMB2 stream, the
// first unused step with its key, wherever it lies: pipes served beside
// each other send their CREATEs in any order, and those keys name the
// pipe (or share) they open. On a FileId's stream, and on SMB1, whose keys
// name no pipe, it takes the first unused step with its key past the
// cursor (the client skipped steps: a hostile reply cut a check short),
// else before it. Failing both, it takes the first step with its key (a
// repeat). The cursor moves past the step taken, never back. Candidates
// are a handful of connections of a hundred steps or so: each request
// scans its stream once per candidate.
//
// So a client that runs its checks one after another follows each stream
// as it was recorded, and a concurrent one gets, on each pipe, that pipe's
// replies in that pipe's order, however the pipes interleave. Each reply
// grants the credits it granted when recorded: every recorded request was
// granted at least the one credit it cost (an interim reply may carry it),
// so the client's balance does not depend on the order.
//
// An NBSS session request (TCP 139) is granted on the spot, so a recording
// made on 445 serves 139 too. A request with no match ends the connection.
func (r *Recording) Replay(ctx context.Context, port int) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		stop := context.AfterFunc(ctx, func() { server.Close() })
		defer stop()
		r.mu.Lock()
		cands := make([]*cursor, len(r.Conns))
		for i, c := range r.Conns {
			cands[i] = newCursor(c)
		}
		r.mu.Unlock()
		for {
			typ, msg, err := readFrame(server)
			if err != nil {
				return
			}
			if typ == 0x81 {
				if _, err := server.Write([]byte{0x82, 0, 0, 0}); err != nil {
					return
				}
				continue
			}
			key := requestKey(typ, msg)
			if key == cancelKey {
				continue // a CANCEL has no reply of its own ([MS-SMB2] 2.2.30)
			}
			if key == echoKey {
				// A Proxy's stand-in for a request it answered itself:
				// any reply will do (the proxy drops it).
				if _, err := server.Write(Frame(append(replyHeader(msg, 0), 4, 0, 0, 0))); err != nil {
					return
				}
				continue
			}
			file := requestFile(msg)
			var next []*cursor
			var step *Step
			for _, c := range cands {
				if p := c.strict(file, key); p >= 0 {
					next = append(next, c)
					if s := c.take(file, p); step == nil {
						step = s
					}
				}
			}
			if len(next) == 0 && len(cands) > 0 {
				c := cands[0]
				if p := c.lenient(file, key); p >= 0 {
					next, step = []*cursor{c}, c.take(file, p)
				}
			}
			if len(next) == 0 {
				r.misses.Add(1)
				return
			}
			cands = next
			for _, h := range step.Replies {
				f, err := hex.DecodeString(h)
				if err != nil || len(f) < 4 {
					return
				}
				patchIDs(f[4:], msg)
				if _, err := server.Write(f); err != nil {
					return
				}
			}
		}
	}()
	return client, nil
}

var (
	echoKey   = fmt.Sprintf("smb2:%d", CmdEcho)
	cancelKey = fmt.Sprintf("smb2:%d", CmdCancel)
)

// cursor is a replayed connection's place in one recorded connection:
// which steps it has taken and, per stream, where it is.
type cursor struct {
	c       *RecConn
	streams map[string][]int // FileId ("" = unbound) → its steps' indices, in recorded order
	pos     map[string]int   // stream → position after the step last taken at or past it
	used    []bool           // by step index
}

func newCursor(c *RecConn) *cursor {
	cu := &cursor{c: c, streams: map[string][]int{}, pos: map[string]int{}, used: make([]bool, len(c.Steps))}
	for i, s := range c.Steps {
		cu.streams[s.File] = append(cu.streams[s.File], i)
	}
	return cu
}

// stream is the stream a request on file belongs to.
func (cu *cursor) stream(file string) string {
	if _, ok := cu.streams[file]; ok {
		return file
	}
	return ""
}

// strict is the position of the stream's next step if it has key and is
// the step lenient would pick too, else -1.
func (cu *cursor) strict(file, key string) int {
	st := cu.stream(file)
	idx, p := cu.streams[st], cu.pos[st]
	if p < len(idx) && cu.c.Steps[idx[p]].Key == key && !cu.used[idx[p]] && cu.lenient(file, key) == p {
		return p
	}
	return -1
}

// lenient is the position of the step a request off the recorded path
// takes, -1 for none. On the unbound SMB2 stream, whose keys name what
// they open (a share, a pipe): the first unused step with key, wherever
// the cursor is. Elsewhere (a FileId's stream; SMB1, whose keys name no
// pipe): the first unused one past the cursor, else before it. Else, on
// both, the first step with key (a repeat).
func (cu *cursor) lenient(file, key string) int {
	st := cu.stream(file)
	idx := cu.streams[st]
	if st != "" || !strings.HasPrefix(key, "smb2:") {
		for j := cu.pos[st]; j < len(idx); j++ {
			if cu.c.Steps[idx[j]].Key == key && !cu.used[idx[j]] {
				return j
			}
		}
	}
	first := -1
	for j, i := range idx {
		if cu.c.Steps[i].Key != key {
			continue
		}
		if !cu.used[i] {
			return j
		}
		if first < 0 {
			first = j
		}
	}
	return first
}

// take marks the step at position p of file's stream used and returns it.
func (cu *cursor) take(file string, p int) *Step {
	st := cu.stream(file)
	i := cu.streams[st][p]
	cu.used[i] = true
	if p >= cu.pos[st] {
		cu.pos[st] = p + 1
	}
	return cu.c.Steps[i]
}

// patchIDs gives a recorded reply the message id (SMB2) or MID (SMB1) of
// the request it now answers.
func patchIDs(reply, req []byte) {
	switch {
	case isSMB2(reply) && isSMB2(req) && len(reply) >= smb2HeaderSize && len(req) >= smb2HeaderSize:
		copy(reply[24:32], req[24:32])
	case isSMB1(reply) && isSMB1(req) && len(reply) >= 32 && len(req) >= 32:
		copy(reply[30:32], req[30:32])
	}
}
