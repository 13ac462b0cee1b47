package werror

import (
	"errors"
	"fmt"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		c    Code
		want string
	}{
		{AccessDenied, "ERROR_ACCESS_DENIED"},
		{MoreData, "ERROR_MORE_DATA"},
		{NERRNetNameNotFound, "NERR_NetNameNotFound"},
		{0x1234, "0x00001234"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%d: %q, want %q", uint32(tt.c), got, tt.want)
		}
	}
	err := fmt.Errorf("srvsvc: share enum: %w", AccessDenied)
	var c Code
	if !errors.As(err, &c) || c != AccessDenied || !errors.Is(err, AccessDenied) {
		t.Fatalf("errors.As/Is failed on %v", err)
	}
}
