package smb2

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/amp"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// queryDirReply wraps buf in a QUERY_DIRECTORY response message.
func queryDirReply(buf []byte) []byte {
	msg := make([]byte, HeaderSize+8, HeaderSize+8+len(buf))
	copy(msg, protocolID[:])
	le.PutUint16(msg[HeaderSize:], 9)
	le.PutUint16(msg[HeaderSize+2:], HeaderSize+8)
	le.PutUint32(msg[HeaderSize+4:], uint32(len(buf)))
	return append(msg, buf...)
}

// dirEntries builds n FILE_DIRECTORY_INFORMATION entries of size bytes
// each (the last with NextEntryOffset 0), each with nameLen bytes of name
// filled with the UTF-16 unit unit.
func dirEntries(n, size int, nameLen uint32, unit uint16) []byte {
	buf := make([]byte, n*size)
	for i := range n {
		e := buf[i*size:]
		if i < n-1 {
			binary.LittleEndian.PutUint32(e, uint32(size))
		}
		binary.LittleEndian.PutUint32(e[60:], nameLen)
		for j := 64; j+1 < size && j < 64+int(nameLen); j += 2 {
			binary.LittleEndian.PutUint16(e[j:], unit)
		}
	}
	return buf
}

// TestQueryDirectoryAmplification feeds the worst QUERY_DIRECTORY replies
// of MaxPayload bytes and holds what the decoder keeps and allocates to
// amp.Factor times the bytes received.
func TestQueryDirectoryAmplification(t *testing.T) {
	const entry = 64
	n := MaxPayload / entry
	for _, tc := range []struct {
		name    string
		buf     []byte
		wantErr bool
	}{
		// Every name claims the rest of the buffer: it overlapped all the
		// entries after it (x719 before names ended at the next entry).
		{"overlapping names", dirEntries(n, entry, MaxPayload-64, 'A'), true},
		// Minimal entries, no names: the most entries per byte.
		{"empty names", dirEntries(n, entry, 0, 'A'), false},
		// Names that grow most in UTF-8 (3 bytes per 2-byte unit).
		{"wide names", dirEntries(MaxPayload/80, 80, 16, 0x0800), false},
		// Unpaired surrogates, each decoded to U+FFFD.
		{"lone surrogates", dirEntries(MaxPayload/128, 128, 64, 0xD800), false},
	} {
		msg := queryDirReply(tc.buf)
		es, err := ParseQueryDirectoryResponse(msg)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: err %v, want error %v", tc.name, err, tc.wantErr)
		}
		if !tc.wantErr && len(es) == 0 {
			t.Fatalf("%s: no entries", tc.name)
		}
		amp.Check(t, "smb2 query directory: "+tc.name, len(msg), func() any {
			es, _ := ParseQueryDirectoryResponse(msg)
			return es
		})
	}
}

// TestQueryDirectoryBufferAsked rejects a buffer longer than the
// OutputBufferLength we ask for, even when the frame holds it.
func TestQueryDirectoryBufferAsked(t *testing.T) {
	msg := queryDirReply(dirEntries(MaxPayload/64+1, 64, 0, 0))
	if _, err := ParseQueryDirectoryResponse(msg); !errors.Is(err, ErrBounds) {
		t.Fatalf("buffer of %d bytes: got %v, want ErrBounds", MaxPayload+64, err)
	}
	msg = queryDirReply(dirEntries(MaxPayload/64, 64, 0, 0))
	if es, err := ParseQueryDirectoryResponse(msg); err != nil || len(es) != MaxPayload/64 {
		t.Fatalf("buffer of MaxPayload: %d entries, %v", len(es), err)
	}
}

// TestDirectoryNameEndsAtNextEntry: a name may fill its entry, not more.
func TestDirectoryNameEndsAtNextEntry(t *testing.T) {
	for _, tc := range []struct {
		nameLen uint32
		ok      bool
	}{{16, true}, {17, false}, {0xFFFFFFFF, false}, {0x80000000, false}} {
		buf := dirEntries(2, 80, 0, 0)
		binary.LittleEndian.PutUint32(buf[60:], tc.nameLen)
		_, err := ParseDirectoryInformation(buf)
		if (err == nil) != tc.ok {
			t.Errorf("name length %d in an 80-byte entry: err %v", tc.nameLen, err)
		}
	}
}

// listServer plays a share whose directory never ends: every QUERY_DIRECTORY
// gets a full MaxPayload of entries with 32-byte names. With silent set it
// answers CREATE and then nothing.
func listServer(t *testing.T, silent bool) (*Tree, *int) {
	var queries int
	c := fake(t, func(h Header) [][]byte {
		switch h.Command {
		case CmdCreate:
			body := make([]byte, 89)
			le.PutUint16(body, 89)
			return [][]byte{frame(resp(h, ntstatus.Success, 8, 0, body))}
		case CmdQueryDirectory:
			if silent {
				return nil
			}
			queries++
			return [][]byte{frame(resp(h, ntstatus.Success, 8, 0, queryDirReply(dirEntries(MaxPayload/96, 96, 32, 'a'))[HeaderSize:]))}
		case CmdClose:
			if silent {
				return nil
			}
			body := make([]byte, 60)
			le.PutUint16(body, 60)
			return [][]byte{frame(resp(h, ntstatus.Success, 8, 0, body))}
		}
		return [][]byte{frame(resp(h, ntstatus.NotSupported, 8, 0, errBody))}
	})
	return &Tree{Session: &Session{Conn: c, ID: 1}, ID: 1}, &queries
}

// TestListCaps: a directory without end is read to maxListEntries entries
// or maxListNameBytes of names and no further, and what the listing holds
// stays within amp.Factor of what the server sent.
func TestListCaps(t *testing.T) {
	tree, queries := listServer(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var es []DirEntry
	var err error
	received := 0
	ret, alloc := amp.Measure(func() any {
		*queries = 0
		es, err = tree.List(ctx, "d")
		received = *queries * (HeaderSize + 8 + MaxPayload/96*96)
		return es
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != maxListEntries {
		t.Fatalf("%d entries, want the cap %d", len(es), maxListEntries)
	}
	t.Logf("smb2 list: %d entries from %d replies (%d bytes): %d retained (x%.2f), %d allocated (x%.2f)",
		len(es), *queries, received, ret, float64(ret)/float64(received), alloc, float64(alloc)/float64(received))
	if ret > uint64(amp.Factor*received) || alloc > uint64(amp.Factor*received) {
		t.Errorf("listing over x%d", amp.Factor)
	}
}

// TestListCloseWithinDeadline: a server that goes silent after CREATE
// holds List no longer than the caller's deadline (the deferred CLOSE used
// to wait 5 s more).
func TestListCloseWithinDeadline(t *testing.T) {
	tree, _ := listServer(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tree.List(ctx, "d")
	if err == nil {
		t.Fatal("a silent server gave a listing")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("List returned %v after a 300ms deadline", d)
	}
}

// FuzzAmpQueryDirectory fails when a QUERY_DIRECTORY reply decodes to more
// than amp.Factor bytes per byte received.
func FuzzAmpQueryDirectory(f *testing.F) {
	f.Add(queryDirReply(dirEntries(4, 64, 0, 'a')))
	f.Add(queryDirReply(dirEntries(3, 80, 16, 0x0800)))
	f.Add(queryDirReply(dirEntries(3, 96, 0xFFFFFFFF, 'a')))
	// Each name runs to the end of the buffer, over the entries after it.
	over := dirEntries(64, 64, 0, 'a')
	for i := range 64 {
		binary.LittleEndian.PutUint32(over[i*64+60:], uint32(len(over)-i*64-64))
	}
	f.Add(queryDirReply(over))
	f.Fuzz(func(t *testing.T, msg []byte) {
		es, _ := ParseQueryDirectoryResponse(msg)
		amp.CheckSize(t, msg, es)
	})
}
