package enum

import "context"

func (h *Host) ridCycle(ctx context.Context, st *rpcState) {}
