package lab

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestSMBAnswers checks the readiness probe accepts SMB1 and SMB2 replies
// only: a port that is open but silent, closes, or speaks something else is
// not a ready server.
func TestSMBAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply []byte // nil: say nothing
		close bool
		ok    bool
	}{
		{"smb1", []byte("\x00\x00\x00\x55\xFFSMBr"), false, true},
		{"smb2", []byte("\x00\x00\x00\x55\xFESMB@"), false, true},
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n"), false, false},
		{"nbss negative", []byte("\x83\x00\x00\x01\x82"), true, false},
		{"short", []byte("\x00\x00"), true, false},
		{"closes", nil, true, false},
		{"silent", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				req := make([]byte, len(negotiateProbe))
				io.ReadFull(c, req)
				if tc.reply != nil {
					c.Write(tc.reply)
				}
				if !tc.close {
					time.Sleep(time.Second)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err = smbAnswersAt(ctx, ln.Addr().String())
			if (err == nil) != tc.ok {
				t.Fatalf("smbAnswersAt = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
