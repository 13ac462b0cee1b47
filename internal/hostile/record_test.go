package hostile

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// A client that runs its pipes beside each other sends their requests in
// an order the recording never saw: CREATEs of different pipes swapped,
// requests on different FileIds interleaved. Each must still get the
// replies recorded for it, and the steps' keys and FileIds must survive a
// round trip through JSON.
func TestReplayInterleavedPipes(t *testing.T) {
	rec, err := OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	var conn *RecConn
	for _, c := range rec.Conns {
		if len(c.Steps) > 0 && strings.HasPrefix(c.Steps[0].Key, "smb2:") && (conn == nil || len(c.Steps) > len(conn.Steps)) {
			conn = c
		}
	}
	if conn == nil {
		t.Fatal("no SMB2 connection in the recording")
	}
	order, bound := interleave(t, conn.Steps)
	if bound < 4 {
		t.Fatalf("the recording has %d pipes with requests of their own, want the 4 a default run opens", bound)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, _ := rec.Replay(ctx, 445)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	for n, i := range order {
		s := conn.Steps[i]
		req := fakeRequest(t, s, uint64(1000+n))
		if got := requestKey(0, req); got != s.Key {
			t.Fatalf("step %d: built request has key %q, want %q", i, got, s.Key)
		}
		if got := requestFile(req); got != s.File {
			t.Fatalf("step %d: built request has file %q, want %q", i, got, s.File)
		}
		if _, err := nc.Write(Frame(req)); err != nil {
			t.Fatalf("step %d (%s): %v", i, s.Key, err)
		}
		for j, h := range s.Replies {
			want := mustHex(t, h)
			typ, got, err := readFrame(nc)
			if err != nil {
				t.Fatalf("step %d (%s), reply %d: %v (misses %d)", i, s.Key, j, err, rec.Misses())
			}
			if typ != 0 || le.Uint64(got[24:]) != uint64(1000+n) {
				t.Errorf("step %d (%s): reply type %d message id %d, want 0 and %d", i, s.Key, typ, le.Uint64(got[24:]), 1000+n)
			}
			copy(got[24:32], want[4+24:4+32])
			if !bytes.Equal(got, want[4:]) {
				t.Fatalf("step %d (%s), sent %d-th: got the reply of another step", i, s.Key, n)
			}
		}
	}
	if rec.Misses() != 0 {
		t.Errorf("%d misses", rec.Misses())
	}
}

// interleave orders a recorded connection's steps the way a concurrent
// client might have sent them: the unbound steps in recorded order but
// each run of CREATEs of distinct names reversed, then the requests on
// each FileId round-robin, the last-opened FileId first. It returns the
// order and how many FileIds carry more than a CLOSE.
func interleave(t *testing.T, steps []*Step) (order []int, bound int) {
	t.Helper()
	var files []string
	byFile := map[string][]int{}
	var unbound []int
	for i, s := range steps {
		if s.File == "" {
			unbound = append(unbound, i)
			continue
		}
		if byFile[s.File] == nil {
			files = append(files, s.File)
		}
		byFile[s.File] = append(byFile[s.File], i)
	}
	create := fmt.Sprintf("smb2:%d:", CmdCreate)
	for j := 0; j < len(unbound); {
		k := j
		seen := map[string]bool{}
		for k < len(unbound) && strings.HasPrefix(steps[unbound[k]].Key, create) && !seen[steps[unbound[k]].Key] {
			seen[steps[unbound[k]].Key] = true
			k++
		}
		for a, b := j, k-1; a < b; a, b = a+1, b-1 {
			unbound[a], unbound[b] = unbound[b], unbound[a]
		}
		j = max(k, j+1)
	}
	order = append(order, unbound...)
	for _, f := range files {
		if len(byFile[f]) > 1 {
			bound++
		}
	}
	for round := 0; len(order) < len(steps); round++ {
		for i := len(files) - 1; i >= 0; i-- {
			if idx := byFile[files[i]]; round < len(idx) {
				order = append(order, idx[round])
			}
		}
	}
	return order, bound
}

// fakeRequest builds an SMB2 request with the key and FileId of a
// recorded step: just the fields requestKey and requestFile read.
func fakeRequest(t *testing.T, s *Step, id uint64) []byte {
	t.Helper()
	parts := strings.SplitN(s.Key, ":", 3)
	cmd, err := strconv.Atoi(parts[1])
	if err != nil || parts[0] != "smb2" {
		t.Fatalf("key %q", s.Key)
	}
	arg := ""
	if len(parts) == 3 {
		arg = parts[2]
	}
	h := make([]byte, smb2HeaderSize, 512)
	copy(h, "\xfeSMB")
	le.PutUint16(h[4:], smb2HeaderSize)
	le.PutUint16(h[12:], uint16(cmd))
	le.PutUint64(h[24:], id)
	body := make([]byte, 64)
	var file []byte
	if s.File != "" {
		file = mustHex(t, s.File)
	}
	var tail []byte
	switch uint16(cmd) {
	case CmdNegotiate:
		d := mustHex(t, arg)
		le.PutUint16(body[2:], uint16(len(d)/2))
		body = append(body[:36], d...)
	case CmdSessionSetup:
		ntlm := append([]byte("NTLMSSP\x00"), make([]byte, 56)...)
		switch arg {
		case "ntlm1":
			ntlm[8] = 1
		case "ntlm3-anonymous":
			ntlm[8] = 3
		default:
			t.Fatalf("key %q", s.Key)
		}
		tail = ntlm
	case CmdTreeConnect:
		tail = utf16Bytes(`\\host\` + arg)
		le.PutUint16(body[4:], uint16(smb2HeaderSize+len(body)))
		le.PutUint16(body[6:], uint16(len(tail)))
	case CmdCreate:
		tail = utf16Bytes(arg)
		le.PutUint16(body[44:], uint16(smb2HeaderSize+len(body)))
		le.PutUint16(body[46:], uint16(len(tail)))
	case CmdIoctl:
		copy(body[8:], file)
		var typ, op int
		if _, err := fmt.Sscanf(arg, "rpc%d:%d", &typ, &op); err != nil {
			t.Fatalf("key %q: %v", s.Key, err)
		}
		tail = make([]byte, rpcRespHdr)
		tail[0], tail[2] = 5, byte(typ)
		le.PutUint16(tail[22:], uint16(op))
		le.PutUint32(body[24:], uint32(smb2HeaderSize+len(body)))
		le.PutUint32(body[28:], uint32(len(tail)))
	case CmdClose, CmdQueryDir:
		copy(body[8:], file)
	case CmdRead, CmdWrite:
		copy(body[16:], file)
	case 0x0010: // QUERY_INFO
		copy(body[24:], file)
	case 0x0002, 0x0004: // LOGOFF, TREE_DISCONNECT
	default:
		t.Fatalf("no request built for key %q", s.Key)
	}
	return append(append(h, body...), tail...)
}

func utf16Bytes(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = le.AppendUint16(b, u)
	}
	return b
}

// Every step keeps its key and FileId through Save and a reload.
func TestRecordingKeepsFiles(t *testing.T) {
	rec, err := OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/rec.json"
	if err := rec.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Recording
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var files int
	for i, c := range rec.Conns {
		for j, s := range c.Steps {
			if b := back.Conns[i].Steps[j]; b.Key != s.Key || b.File != s.File {
				t.Errorf("conn %d step %d: %q %q read back as %q %q", i, j, s.Key, s.File, b.Key, b.File)
			}
			if s.File != "" {
				files++
				if f, err := hex.DecodeString(s.File); err != nil || len(f) != 16 {
					t.Errorf("step %s: file %q is not a 16-byte FileId", s.Key, s.File)
				}
			}
		}
	}
	if files == 0 {
		t.Error("no step of the recording names the FileId it was sent on")
	}
}

// Requests on an unknown FileId go to the unbound stream, so a recording
// without FileIds replays as one stream, as recorded.
func TestReplayUnknownFileIsUnbound(t *testing.T) {
	rec, err := OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	cu := newCursor(rec.Conns[0])
	if got := cu.stream(strings.Repeat("ab", 16)); got != "" {
		t.Errorf("unknown FileId in stream %q", got)
	}
	old := newCursor(&RecConn{Steps: []*Step{{Key: "smb2:6"}, {Key: "smb2:6"}}})
	for want := range 2 {
		p := old.strict(strings.Repeat("cd", 16), "smb2:6")
		if p != want {
			t.Fatalf("close %d on a recording without FileIds: position %d", want, p)
		}
		old.take(strings.Repeat("cd", 16), p)
	}
}

// Replay grants what the server granted when recorded, whatever the order
// the requests come in. That leaves a concurrent client its credits only
// if every recorded SMB2 request got back at least the one it cost
// ([MS-SMB2] 3.3.1.2), in its interim or its final reply.
func TestRecordingGrantsEachRequestACredit(t *testing.T) {
	rec, err := OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range rec.Conns {
		for j, s := range c.Steps {
			if !strings.HasPrefix(s.Key, "smb2:") || len(s.Replies) == 0 {
				continue
			}
			granted := 0
			for _, h := range s.Replies {
				if f := mustHex(t, h); len(f) >= 4+smb2HeaderSize {
					granted += int(le.Uint16(f[4+14:]))
				}
			}
			if granted < 1 {
				t.Errorf("conn %d step %d (%s): replies grant %d credits", i, j, s.Key, granted)
			}
		}
	}
}
