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

// Step is one request, by its key (see requestKey), and the frames that
// answered it, whole (frame header first), hex-encoded.
type Step struct {
	Key     string   `json:"key"`
	Replies []string `json:"replies"`
}

//go:embed testdata/open.json
var openJSON []byte

// OpenLab is a full enum of the lab's open posture (all checks but RID
// cycling, whose parallel lanes interleave on one connection), recorded
// through a Proxy. Each call returns a fresh copy.
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

func (r *Recording) addStep(c *RecConn, key string) *Step {
	s := &Step{Key: key}
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

// Replay serves a recording: each connection is matched, request by
// request, against the recorded connections whose steps so far had the
// same keys, and gets the first match's replies with its own message ids.
// An NBSS session request (TCP 139) is granted on the spot, so a recording
// made on 445 serves 139 too. A request with no match ends the connection.
func (r *Recording) Replay(ctx context.Context, port int) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		stop := context.AfterFunc(ctx, func() { server.Close() })
		defer stop()
		r.mu.Lock()
		cands := append([]*RecConn(nil), r.Conns...)
		r.mu.Unlock()
		for k := 0; ; {
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
			var next []*RecConn
			for _, c := range cands {
				if k < len(c.Steps) && c.Steps[k].Key == key {
					next = append(next, c)
				}
			}
			if len(next) == 0 && len(cands) > 0 {
				// The client left the recorded path (a hostile reply made
				// it skip calls): resume at the next step with this key,
				// else at the first one.
				c := cands[0]
				j := findStep(c.Steps[min(k, len(c.Steps)):], key)
				if j >= 0 {
					j += min(k, len(c.Steps))
				} else {
					j = findStep(c.Steps, key)
				}
				if j >= 0 {
					next, k = []*RecConn{c}, j
				}
			}
			if len(next) == 0 {
				r.misses.Add(1)
				return
			}
			cands = next
			for _, h := range cands[0].Steps[k].Replies {
				f, err := hex.DecodeString(h)
				if err != nil || len(f) < 4 {
					return
				}
				patchIDs(f[4:], msg)
				if _, err := server.Write(f); err != nil {
					return
				}
			}
			k++
		}
	}()
	return client, nil
}

var (
	echoKey   = fmt.Sprintf("smb2:%d", CmdEcho)
	cancelKey = fmt.Sprintf("smb2:%d", CmdCancel)
)

func findStep(steps []*Step, key string) int {
	for i, s := range steps {
		if s.Key == key {
			return i
		}
	}
	return -1
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
