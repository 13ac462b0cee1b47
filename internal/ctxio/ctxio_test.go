package ctxio

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErr(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		is   error // want errors.Is(got, is); nil: got == nil
		same bool  // want the error itself back
	}{
		{"nil", cancelled, nil, nil, false},
		{"cancelled ctx names itself", cancelled, io.ErrClosedPipe, context.Canceled, false},
		{"cancelled ctx keeps the cause's identity too", cancelled, context.Canceled, context.Canceled, true},
		{"socket deadline reads as the ctx deadline", live, timeoutErr{}, context.DeadlineExceeded, false},
		{"os deadline error", live, os.ErrDeadlineExceeded, context.DeadlineExceeded, false},
		{"other errors pass", live, io.ErrUnexpectedEOF, io.ErrUnexpectedEOF, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Err(tc.ctx, tc.err)
			if tc.is == nil {
				if got != nil {
					t.Fatalf("Err = %v, want nil", got)
				}
				return
			}
			if !errors.Is(got, tc.is) {
				t.Errorf("Err = %v, want one that is %v", got, tc.is)
			}
			if tc.same && got != tc.err {
				t.Errorf("Err = %v, want %v itself", got, tc.err)
			}
		})
	}
}
