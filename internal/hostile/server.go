// Package hostile is a test harness of misbehaving servers: in-process
// listeners on loopback addresses of their own (127.0.1.N, since enum
// dials host:445 and host:139) that lead a client to a chosen point and
// then misbehave — truncated or oversized frames, lying lengths and counts,
// silence, a one-byte-a-second drip, a reset mid-reply, STATUS_PENDING for
// ever, zero credits, endless DCE/RPC fragments, garbage on the last call.
//
// Most servers are a Proxy in front of a real lab server: every reply is
// real until a Rule changes it, so the session up to the chosen point is
// what Samba says, and only the misbehaviour is made up. NBNS is a small
// UDP responder of its own (nbns.go).
//
// Traffic stays on 127.0.0.0/8: listeners refuse any other address.
package hostile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// Addr returns the n-th hostile address, 127.0.1.n (1 ≤ n ≤ 254).
//
// go test runs packages in parallel, so each test owns its addresses; two
// tests on one address fail to bind or, worse, probe each other's servers.
// Taken: 9-32, 40-41, 60, 112 enum; 64, 220-224 epm; 170 enum (signing);
// 185-187 hostile (mux); 190-194 ldap; 200-209 cmd sweep; 230 enum doors;
// 232 audit doors; 240-249 cmd; 250 hostile; 70-73 enum (slow link, read ahead).
func Addr(n int) string { return "127.0.1." + strconv.Itoa(n) }

// Handler serves one accepted connection. It must return when ctx ends
// (the server is closing); the server closes conn after it returns.
type Handler func(ctx context.Context, conn *net.TCPConn, port int)

// Server is a set of TCP listeners on one loopback address.
type Server struct {
	Addr string

	ctx    context.Context
	cancel context.CancelFunc
	lns    []net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[*net.TCPConn]struct{}
	n     int // connections accepted
}

// ErrNotLoopback: the harness only ever listens on 127.0.0.0/8.
var ErrNotLoopback = errors.New("hostile: address is not in 127.0.0.0/8")

// Listen starts listeners on addr for each port and serves every
// connection with h until Close.
func Listen(addr string, ports []int, h Handler) (*Server, error) {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() == nil || ip.To4()[0] != 127 {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Addr: addr, ctx: ctx, cancel: cancel, conns: map[*net.TCPConn]struct{}{}}
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(p)))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("hostile: listen: %w", err)
		}
		s.lns = append(s.lns, ln)
		s.wg.Add(1)
		go s.accept(ln, p, h)
	}
	return s, nil
}

func (s *Server) accept(ln net.Listener, port int, h Handler) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		tc := c.(*net.TCPConn)
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			tc.Close()
			return
		}
		s.conns[tc] = struct{}{}
		s.n++
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, tc)
				s.mu.Unlock()
				tc.Close()
			}()
			h(s.ctx, tc, port)
		}()
	}
}

// Accepted returns how many connections the server has taken.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Close stops the listeners, closes every connection and waits for all of
// the server's goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.cancel()
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("hostile: server goroutines did not end within 10s")
	}
}

// Silent is a Handler that accepts and never answers.
func Silent(ctx context.Context, conn *net.TCPConn, port int) { <-ctx.Done() }

// Script is a Handler that writes the given bytes, then holds the
// connection open and silent: a fixed reply to whatever the client sends
// first (a truncated frame, a frame claiming 16 MiB, garbage).
func Script(reply ...[]byte) Handler {
	return func(ctx context.Context, conn *net.TCPConn, port int) {
		var b [4096]byte
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(b[:]); err != nil {
			return
		}
		for _, r := range reply {
			if _, err := conn.Write(r); err != nil {
				return
			}
		}
		<-ctx.Done()
	}
}

// Reset closes conn with an RST instead of a FIN: the client sees
// "connection reset by peer".
func Reset(conn *net.TCPConn) {
	conn.SetLinger(0)
	conn.Close()
}
