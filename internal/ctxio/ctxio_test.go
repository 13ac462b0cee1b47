package ctxio

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
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

// lateTimer is a context whose deadline has passed but whose timer has
// not yet marked it done: the moment a socket deadline taken from it fires.
type lateTimer struct{ context.Context }

func (lateTimer) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

func TestEnded(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	future, stop := context.WithTimeout(context.Background(), time.Hour)
	defer stop()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"no deadline", context.Background(), false},
		{"deadline ahead", future, false},
		{"cancelled", cancelled, true},
		{"deadline passed, timer not yet fired", lateTimer{context.Background()}, true},
	} {
		if got := Ended(tc.ctx); got != tc.want {
			t.Errorf("%s: Ended = %v, want %v", tc.name, got, tc.want)
		}
	}
}
