// Package store keeps the history of runs in an embedded SQLite database
// (modernc.org/sqlite: pure Go, so the binary stays static): one row per
// run, per target, per finding and per exposure item, never overwritten, so
// that two runs can be compared (see Diff).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultPath is $XDG_DATA_HOME/nullsweep/history.db, or
// ~/.local/share/nullsweep/history.db when XDG_DATA_HOME is unset (XDG Base
// Directory Specification 0.8).
func DefaultPath() (string, error) {
	base := os.Getenv("XDG_DATA_HOME")
	if !filepath.IsAbs(base) { // the specification says relative paths are invalid
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("store: no history path: %w (use --db PATH or --no-store)", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "nullsweep", "history.db"), nil
}

// DB is an open history database.
type DB struct {
	db   *sql.DB
	Path string
}

// busyTimeout is how long a writer waits for another process's lock before
// the store gives up with ErrLocked.
var busyTimeout = 5 * time.Second

// Open opens (creating when absent) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, nil)
}

// open takes extra pragmas for tests (query_only, max_page_count).
func open(ctx context.Context, path string, pragmas []string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: %s: %w", path, classify(err))
		}
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)") // WAL + NORMAL: durable at checkpoints, consistent always
	q.Add("_txlock", "immediate")           // writers take the lock at BEGIN, so busy_timeout applies
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, classify(err))
	}
	// One connection: the store writes from one goroutine at a time, and a
	// single connection keeps pragmas and transactions simple.
	db.SetMaxOpenConns(1)
	d := &DB{db: db, Path: path}
	if err := d.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return d, nil
}

func (d *DB) init(ctx context.Context) error {
	// journal_mode=WAL is persistent and needs a write lock; a read-only or
	// corrupt file fails here with its own error.
	var mode string
	if err := d.db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return classify(err)
	}
	return classify(migrate(ctx, d.db, len(migrations)))
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Errors a caller may want to tell apart; every store error wraps one of
// them when the cause is the database file rather than a bug.
var (
	ErrLocked   = errors.New("the history database is locked by another process")
	ErrFull     = errors.New("the disk holding the history database is full")
	ErrReadOnly = errors.New("the history database is read-only")
	ErrCorrupt  = errors.New("the history database is corrupt or not a SQLite file")
	ErrNewer    = errors.New("the history database was written by a newer nullsweep")
)

// classify wraps SQLite's result codes (https://sqlite.org/rescode.html)
// into the errors above, keeping the original text.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // primary code; extended codes add bits above
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %v", ErrLocked, err)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %v", ErrFull, err)
		case sqlite3.SQLITE_READONLY:
			return fmt.Errorf("%w: %v", ErrReadOnly, err)
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		case sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%w: %v", ErrReadOnly, err)
		}
	}
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: %v", ErrReadOnly, err)
	}
	return err
}
