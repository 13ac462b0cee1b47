package dcerpc

import (
	"context"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/smb"
)

// PipeError says which step of OpenPipe failed, so reports can keep the
// pipe-open layer (NullSessionPipes) apart from the RPC bind layer.
type PipeError struct {
	Pipe string
	Step string // "open" or "bind"
	Err  error
}

func (e *PipeError) Error() string {
	return fmt.Sprintf("dcerpc: %s \\PIPE\\%s: %v", e.Step, e.Pipe, e.Err)
}

func (e *PipeError) Unwrap() error { return e.Err }

// OpenPipe opens the named pipe on an IPC$ tree and binds abstract on it.
// The caller closes the returned pipe. Errors are *PipeError wrapping the
// server's NTSTATUS (open) or the bind refusal / fault (bind).
func OpenPipe(ctx context.Context, tree smb.Tree, name string, abstract SyntaxID) (*Client, smb.Pipe, error) {
	p, err := tree.OpenPipe(ctx, name)
	if err != nil {
		return nil, nil, &PipeError{Pipe: name, Step: "open", Err: err}
	}
	c, err := Bind(ctx, p, abstract)
	if err != nil {
		p.Close(ctx)
		return nil, nil, &PipeError{Pipe: name, Step: "bind", Err: err}
	}
	return c, p, nil
}
