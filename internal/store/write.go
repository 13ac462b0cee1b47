package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run kinds.
const (
	KindSweep = "sweep"
	KindAudit = "audit"
	KindMerge = "merge"
)

// RunInfo describes a run when it starts.
type RunInfo struct {
	RunID   string // unique; NewRunID when the caller has none
	Kind    string // sweep | audit | merge
	Plan    string
	Shard   string
	Args    []string // never holds a credential: those come from the environment
	Version string
	Started time.Time
	// Replace drops a stored run with the same RunID even when finished
	// (a resumed sweep recording its whole file again).
	Replace bool
}

// NewRunID returns a random run id.
func NewRunID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ErrExists: a finished run with this run_id is already stored.
var ErrExists = errors.New("run already stored")

// batch bounds how many hosts wait in memory and go into one transaction:
// large enough that a /16 of closed targets costs a few commits, small
// enough that a crash loses little (the JSONL has every record anyway).
const batch = 2048

// batchFull bounds the examined hosts (with their results) in one batch.
const batchFull = 256

// Writer records one run. Add hands hosts to a goroutine that writes them
// in batched transactions while the caller goes on scanning, so storing
// overlaps the sweep instead of adding to it. Add never fails: a database
// error is kept and returned by Finish, and later hosts are dropped from the
// store (never from the JSONL, which the caller writes itself).
type Writer struct {
	d    *DB
	ID   int64 // the run's row id (what `nullsweep runs` shows)
	info RunInfo
	ch   chan *Host
	done chan struct{}
	err  error // set by the goroutine before done closes
	// fixes already stored by this writer (a run has a few dozen at most)
	fixes map[string]bool
	hash  *targetsHash
	dupes bool // a target came twice: the hash is read back at Finish
	open  int  // targets stored with status open
	n     int
}

// Begin stores the run's row and returns its writer. A run_id already
// stored and finished gives ErrExists; one left unfinished (a crash or a
// database error) is replaced.
func (d *DB) Begin(ctx context.Context, info RunInfo) (*Writer, error) {
	if info.RunID == "" {
		info.RunID = NewRunID()
	}
	if info.Kind == "" {
		info.Kind = KindSweep
	}
	if info.Started.IsZero() {
		info.Started = time.Now()
	}
	if info.Args == nil {
		info.Args = []string{}
	}
	args, _ := json.Marshal(info.Args)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin run: %w", classify(err))
	}
	defer tx.Rollback()
	var id int64
	var finished sql.NullString
	switch err := tx.QueryRowContext(ctx, "SELECT id, finished FROM runs WHERE run_id = ?", info.RunID).Scan(&id, &finished); {
	case err == nil && finished.Valid && !info.Replace:
		return nil, fmt.Errorf("store: run %s: %w as run %d", info.RunID, ErrExists, id)
	case err == nil:
		if _, err := tx.ExecContext(ctx, "DELETE FROM runs WHERE id = ?", id); err != nil {
			return nil, fmt.Errorf("store: replace run %d: %w", id, classify(err))
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: begin run: %w", classify(err))
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (run_id, kind, plan, shard, args, version, started) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		info.RunID, info.Kind, info.Plan, info.Shard, string(args), info.Version, info.Started.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return nil, fmt.Errorf("store: begin run: %w", classify(err))
	}
	if id, err = res.LastInsertId(); err != nil {
		return nil, fmt.Errorf("store: begin run: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: begin run: %w", classify(err))
	}
	w := &Writer{d: d, ID: id, info: info, ch: make(chan *Host, batch), done: make(chan struct{}), fixes: map[string]bool{}, hash: newTargetsHash()}
	go w.loop(context.WithoutCancel(ctx))
	return w, nil
}

// Add queues one host. It blocks only when the writer is a full batch
// behind, which bounds the memory held for the store.
func (w *Writer) Add(h *Host) { w.ch <- h }

// Finish writes what is queued, marks the run finished (complete or not)
// and returns the first database error of the run.
func (w *Writer) Finish(ctx context.Context, complete bool) error {
	close(w.ch)
	<-w.done
	if w.err != nil {
		return w.err
	}
	// The hash and count of what was stored: kept while writing, read
	// back only when a repeated target was ignored (it counts once).
	h := w.hash
	if w.dupes {
		var err error
		if h, err = targetsHashOf(ctx, w.d.db, w.ID); err != nil {
			return fmt.Errorf("store: finish run %d: %w", w.ID, classify(err))
		}
	}
	w.n = h.n
	open := w.open
	if w.dupes {
		if err := w.d.db.QueryRowContext(ctx, "SELECT count(*) FROM targets WHERE run = ? AND status = 'open'", w.ID).Scan(&open); err != nil {
			return fmt.Errorf("store: finish run %d: %w", w.ID, classify(err))
		}
	}
	_, err := w.d.db.ExecContext(ctx, "UPDATE runs SET finished = ?, complete = ?, targets_hash = ?, n_targets = ?, n_open = ? WHERE id = ?",
		time.Now().UTC().Format(time.RFC3339Nano), complete, h.sum(), h.n, open, w.ID)
	if err != nil {
		return fmt.Errorf("store: finish run %d: %w", w.ID, classify(err))
	}
	return nil
}

// Stored is how many hosts were written.
func (w *Writer) Stored() int { return w.n }

func (w *Writer) loop(ctx context.Context) {
	defer close(w.done)
	buf := make([]*Host, 0, batch)
	full := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if w.err == nil {
			if err := w.write(ctx, buf); err != nil {
				w.err = err
			}
		}
		clear(buf)
		buf = buf[:0]
	}
	for {
		select {
		case h, ok := <-w.ch:
			if !ok {
				flush()
				return
			}
			buf = append(buf, h)
			if h.Result != nil || h.Audit != nil {
				full++
			}
			// A full host holds its whole result: fewer of them per batch.
			if len(buf) == batch || full == batchFull {
				flush()
				full = 0
			}
		case <-tick.C:
			flush()
			full = 0
		}
	}
}

func (w *Writer) write(ctx context.Context, hosts []*Host) error {
	tx, err := w.d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO targets (run, target, status, layer, error, name, shares, user_view) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
	}
	defer ins.Close()
	var insF, insE, insD *sql.Stmt
	// Targets with nothing but a status (closed, filtered: most of a large
	// sweep) go in multi-row statements: one statement per row costs more
	// than the row itself.
	var plain []any
	var full *sql.Stmt // the statement for a full chunk, prepared once
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	flushPlain := func() error {
		if len(plain) == 0 {
			return nil
		}
		var err error
		var res sql.Result
		rows := len(plain) / 5
		for i := 1; i < len(plain); i += 5 {
			w.hash.add(plain[i].(string))
		}
		if len(plain) == 5*plainRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, plainInsert(plainRows)); err != nil {
					return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
				}
			}
			res, err = full.ExecContext(ctx, plain...)
		} else {
			res, err = tx.ExecContext(ctx, plainInsert(rows), plain...)
		}
		plain = plain[:0]
		if err != nil {
			return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
		}
		if n, _ := res.RowsAffected(); n != int64(rows) {
			w.dupes = true
		}
		return nil
	}
	for _, h := range hosts {
		if h.Result == nil && h.Audit == nil && h.Status != StatusOpen {
			plain = append(plain, w.ID, h.Target, h.Status, h.Layer, h.Error)
			if len(plain) == 5*plainRows {
				if err := flushPlain(); err != nil {
					return err
				}
			}
			continue
		}
		var result, aud, uv any // NULL unless present
		if h.Result != nil {
			b, err := json.Marshal(h.Result)
			if err != nil {
				return fmt.Errorf("store: %s: %w", h.Target, err)
			}
			result = string(b)
		}
		if h.Audit != nil {
			b, err := json.Marshal(h.Audit)
			if err != nil {
				return fmt.Errorf("store: %s: %w", h.Target, err)
			}
			aud = string(b)
			if h.Audit.User != nil {
				b, err := json.Marshal(h.Audit.User)
				if err != nil {
					return fmt.Errorf("store: %s: user view: %w", h.Target, err)
				}
				uv = string(b)
			}
		}
		sh, fixes := Prepare(h)
		shares, _ := json.Marshal(sh.Shares) // "null": not read
		res, err := ins.ExecContext(ctx, w.ID, h.Target, h.Status, h.Layer, h.Error, sh.Name, string(shares), uv)
		if err != nil {
			return fmt.Errorf("store: run %d: %s: %w", w.ID, h.Target, classify(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			w.dupes = true
			continue // the same target twice in one run: the first record stands
		}
		if result != nil || aud != nil {
			if insD == nil {
				if insD, err = tx.PrepareContext(ctx, "INSERT INTO target_data (run, target, result, audit) VALUES (?, ?, ?, ?)"); err != nil {
					return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
				}
				defer insD.Close()
			}
			if _, err := insD.ExecContext(ctx, w.ID, h.Target, result, aud); err != nil {
				return fmt.Errorf("store: run %d: %s: %w", w.ID, h.Target, classify(err))
			}
		}
		w.hash.add(h.Target)
		if h.Status != StatusOpen {
			continue // closed and filtered targets have no findings; skip two statements
		}
		w.open++
		if insF == nil {
			if insF, err = tx.PrepareContext(ctx, "INSERT INTO findings (run, target, id, severity, setting, title, evidence, fix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"); err != nil {
				return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
			}
			defer insF.Close()
			if insE, err = tx.PrepareContext(ctx, "INSERT OR REPLACE INTO exposures (run, target, key, state, evidence) VALUES (?, ?, ?, ?, ?)"); err != nil {
				return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
			}
			defer insE.Close()
		}
		for key, fx := range fixes {
			if w.fixes[key] {
				continue
			}
			fj, _ := json.Marshal(fx.Fix)
			mb, _ := json.Marshal(fx.MayBreak)
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO fixes (key, setting, fix, may_break) VALUES (?, ?, ?, ?)", key, fx.Setting, string(fj), string(mb)); err != nil {
				return fmt.Errorf("store: run %d: %s: %w", w.ID, h.Target, classify(err))
			}
			w.fixes[key] = true
		}
		for _, f := range sh.Findings {
			ev, _ := json.Marshal(f.Evidence)
			if _, err := insF.ExecContext(ctx, w.ID, h.Target, f.ID, int(f.Severity), f.Setting, f.Title, string(ev), f.Fix); err != nil {
				return fmt.Errorf("store: run %d: %s: %w", w.ID, h.Target, classify(err))
			}
		}
		for _, it := range sh.Items {
			if _, err := insE.ExecContext(ctx, w.ID, h.Target, it.Key, it.State, it.Evidence); err != nil {
				return fmt.Errorf("store: run %d: %s: %w", w.ID, h.Target, classify(err))
			}
		}
	}
	if err := flushPlain(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: run %d: %w", w.ID, classify(err))
	}
	return nil
}

func plainInsert(rows int) string {
	return "INSERT OR IGNORE INTO targets (run, target, status, layer, error) VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", rows), ", ")
}

// plainRows is how many status-only targets one INSERT carries (5
// parameters each, well inside SQLite's 32,766).
const plainRows = 512
