package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
)

// Run is one stored run with its counts.
type Run struct {
	ID          int64     `json:"id"`
	RunID       string    `json:"run_id"`
	Kind        string    `json:"kind"`
	Plan        string    `json:"plan,omitempty"`
	Shard       string    `json:"shard,omitempty"`
	Args        []string  `json:"args"`
	Version     string    `json:"version,omitempty"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished,omitzero"`
	Complete    bool      `json:"complete"`
	TargetsHash string    `json:"-"`
	Targets     int       `json:"targets"`
	Open        int       `json:"open"`
	// Findings counts findings by severity name.
	Findings map[string]int `json:"findings"`
}

const runCols = "id, run_id, kind, plan, shard, args, version, started, finished, complete, targets_hash, n_targets, n_open"

func scanRun(sc interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var args, started string
	var finished sql.NullString
	var nTargets, nOpen sql.NullInt64
	if err := sc.Scan(&r.ID, &r.RunID, &r.Kind, &r.Plan, &r.Shard, &args, &r.Version, &started, &finished, &r.Complete, &r.TargetsHash, &nTargets, &nOpen); err != nil {
		return nil, err
	}
	r.Targets, r.Open = -1, -1 // counted by counts
	if nTargets.Valid && nOpen.Valid {
		r.Targets, r.Open = int(nTargets.Int64), int(nOpen.Int64)
	}
	json.Unmarshal([]byte(args), &r.Args)
	r.Started, _ = time.Parse(time.RFC3339Nano, started)
	if finished.Valid {
		r.Finished, _ = time.Parse(time.RFC3339Nano, finished.String)
	}
	return &r, nil
}

// Runs lists the stored runs, oldest first, with their counts.
func (d *DB) Runs(ctx context.Context) ([]*Run, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+runCols+" FROM runs ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: runs: %w", classify(err))
	}
	var out []*Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: runs: %w", classify(err))
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: runs: %w", classify(err))
	}
	for _, r := range out {
		if err := d.counts(ctx, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *DB) counts(ctx context.Context, r *Run) error {
	if r.Targets < 0 { // unfinished, or stored before schema 5
		err := d.db.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE status = 'open') FROM targets WHERE run = ?", r.ID).Scan(&r.Targets, &r.Open)
		if err != nil {
			return fmt.Errorf("store: run %d: %w", r.ID, classify(err))
		}
	}
	r.Findings = map[string]int{}
	rows, err := d.db.QueryContext(ctx, "SELECT severity, count(*) FROM findings WHERE run = ? GROUP BY severity", r.ID)
	if err != nil {
		return fmt.Errorf("store: run %d: %w", r.ID, classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var sev, n int
		if err := rows.Scan(&sev, &n); err != nil {
			return fmt.Errorf("store: run %d: %w", r.ID, classify(err))
		}
		r.Findings[audit.Severity(sev).String()] = n
	}
	return rows.Err()
}

// ErrNoRun: no run matches.
var ErrNoRun = errors.New("no such run")

// Run finds a run by its number, its run_id, or "last" (the newest
// complete run).
func (d *DB) Run(ctx context.Context, ref string) (*Run, error) {
	var row *sql.Row
	switch n, err := strconv.ParseInt(ref, 10, 64); {
	case ref == "last":
		row = d.db.QueryRowContext(ctx, "SELECT "+runCols+" FROM runs WHERE complete = 1 ORDER BY id DESC LIMIT 1")
	case err == nil:
		row = d.db.QueryRowContext(ctx, "SELECT "+runCols+" FROM runs WHERE id = ?", n)
	default:
		row = d.db.QueryRowContext(ctx, "SELECT "+runCols+" FROM runs WHERE run_id = ?", ref)
	}
	r, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		if ref == "last" {
			return nil, fmt.Errorf("store: %w: no complete run stored yet ('nullsweep sweep' and 'nullsweep audit' record runs)", ErrNoRun)
		}
		return nil, fmt.Errorf("store: %w %q (see nullsweep runs)", ErrNoRun, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("store: run %s: %w", ref, classify(err))
	}
	return r, d.counts(ctx, r)
}

// Previous is the newest complete run before r over the same targets, or
// ErrNoRun.
func (d *DB) Previous(ctx context.Context, r *Run) (*Run, error) {
	row := d.db.QueryRowContext(ctx, "SELECT "+runCols+" FROM runs WHERE complete = 1 AND id < ? AND targets_hash = ? ORDER BY id DESC LIMIT 1", r.ID, r.TargetsHash)
	p, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		targets := "targets"
		if r.Targets == 1 {
			targets = "target"
		}
		return nil, fmt.Errorf("store: nothing to compare run %d with: it is the first complete run over its %d %s (%w before it); run the same sweep again, or name two runs from 'nullsweep runs'",
			r.ID, r.Targets, targets, ErrNoRun)
	}
	if err != nil {
		return nil, fmt.Errorf("store: previous run: %w", classify(err))
	}
	return p, d.counts(ctx, p)
}

// StoredHost is one target of a stored run.
type StoredHost struct {
	Host
	Items    []Item
	Name     string
	Shares   []Share
	Findings []Finding
	// User is the host's second look as a user (audit --user, sweep
	// --user); nil when it was looked at anonymously only.
	User *audit.UserView
}

// Hosts loads every target of a run, in target order, with its audit
// report and exposure items.
func (d *DB) Hosts(ctx context.Context, run int64) ([]*StoredHost, error) {
	return d.hosts(ctx, run, true)
}

func (d *DB) hosts(ctx context.Context, run int64, withResult bool) ([]*StoredHost, error) {
	cols := "t.target, t.status, t.layer, t.error, d.audit, NULL"
	if withResult {
		cols = "t.target, t.status, t.layer, t.error, d.audit, d.result"
	}
	rows, err := d.db.QueryContext(ctx, "SELECT "+cols+" FROM targets t LEFT JOIN target_data d ON d.run = t.run AND d.target = t.target WHERE t.run = ? ORDER BY t.target", run)
	if err != nil {
		return nil, fmt.Errorf("store: run %d: %w", run, classify(err))
	}
	var out []*StoredHost
	byTarget := map[string]*StoredHost{}
	for rows.Next() {
		var h StoredHost
		var aud, res sql.NullString
		if err := rows.Scan(&h.Target, &h.Status, &h.Layer, &h.Error, &aud, &res); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: run %d: %w", run, classify(err))
		}
		if aud.Valid {
			h.Audit = new(audit.Report)
			if err := json.Unmarshal([]byte(aud.String), h.Audit); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: run %d: %s: audit: %w", run, h.Target, err)
			}
			h.User = h.Audit.User
		}
		if res.Valid {
			h.Result = new(enum.Result)
			if err := json.Unmarshal([]byte(res.String), h.Result); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: run %d: %s: result: %w", run, h.Target, err)
			}
		}
		h.Items = nil
		out = append(out, &h)
		byTarget[h.Target] = &h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: run %d: %w", run, classify(err))
	}
	rows, err = d.db.QueryContext(ctx, "SELECT target, key, state, evidence FROM exposures WHERE run = ? ORDER BY target, key", run)
	if err != nil {
		return nil, fmt.Errorf("store: run %d: exposures: %w", run, classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var it Item
		if err := rows.Scan(&t, &it.Key, &it.State, &it.Evidence); err != nil {
			return nil, fmt.Errorf("store: run %d: exposures: %w", run, classify(err))
		}
		if h := byTarget[t]; h != nil {
			h.Items = append(h.Items, it)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: run %d: exposures: %w", run, classify(err))
	}
	for _, h := range out {
		// Closed and filtered targets store no items: their status says it.
		if !slices.ContainsFunc(h.Items, func(it Item) bool { return it.Key == KeyReachable }) {
			h.Items = append(h.Items, statusItem(&h.Host))
		}
		h.Items = sortItems(h.Items)
	}
	return out, nil
}

// Worst is one kind of finding in a run, with the hosts that have it.
type Worst struct {
	ID       string
	Severity audit.Severity
	Title    string
	Hosts    []string
}

// WorstFindings lists a run's kinds of finding, worst first, then by how
// many hosts have them; at most n.
func (d *DB) WorstFindings(ctx context.Context, run int64, n int) ([]Worst, error) {
	// Where hosts' titles differ (counts, names), one host's title would
	// misstate the others': the kind's title stands for them all.
	rows, err := d.db.QueryContext(ctx, `SELECT id, max(severity), CASE WHEN count(DISTINCT title) > 1 THEN '' ELSE min(title) END, group_concat(DISTINCT target)
		FROM findings WHERE run = ? GROUP BY id ORDER BY max(severity) DESC, count(DISTINCT target) DESC, id LIMIT ?`, run, n)
	if err != nil {
		return nil, fmt.Errorf("store: run %d: findings: %w", run, classify(err))
	}
	defer rows.Close()
	var out []Worst
	for rows.Next() {
		var w Worst
		var sev int
		var hosts string
		if err := rows.Scan(&w.ID, &sev, &w.Title, &hosts); err != nil {
			return nil, fmt.Errorf("store: run %d: findings: %w", run, classify(err))
		}
		w.Severity = audit.Severity(sev)
		if w.Title == "" {
			kind, _, _ := strings.Cut(w.ID, "/")
			w.Title = audit.KindTitle(audit.FindingID(kind))
		}
		w.Hosts = strings.Split(hosts, ",")
		slices.SortFunc(w.Hosts, compareTargets)
		out = append(out, w)
	}
	return out, rows.Err()
}

// ReportHosts loads what a report shows of a run, without decoding each
// target's full result: name, shares, findings, exposure items, and the
// run's fixes by key. Rows written before schema 3 are read from their
// JSON instead.
func (d *DB) ReportHosts(ctx context.Context, run int64) ([]*StoredHost, map[string]*Fix, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT target, status, layer, error, name, shares, shares IS NULL AND EXISTS (SELECT 1 FROM target_data d WHERE d.run = targets.run AND d.target = targets.target), user_view FROM targets WHERE run = ?", run)
	// (For rows of schema 3 and later, shares is never NULL, so the test
	// stops before reading result and audit.)
	if err != nil {
		return nil, nil, fmt.Errorf("store: run %d: %w", run, classify(err))
	}
	var out []*StoredHost
	byTarget := map[string]*StoredHost{}
	var legacy []string
	for rows.Next() {
		h := &StoredHost{}
		var shares, uv sql.NullString
		var old bool
		if err := rows.Scan(&h.Target, &h.Status, &h.Layer, &h.Error, &h.Name, &shares, &old, &uv); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: run %d: %w", run, classify(err))
		}
		if shares.Valid {
			if err := json.Unmarshal([]byte(shares.String), &h.Shares); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("store: run %d: %s: shares: %w", run, h.Target, err)
			}
		}
		if uv.Valid {
			h.User = new(audit.UserView)
			if err := json.Unmarshal([]byte(uv.String), h.User); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("store: run %d: %s: user view: %w", run, h.Target, err)
			}
		}
		if old {
			legacy = append(legacy, h.Target)
		}
		out = append(out, h)
		byTarget[h.Target] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: run %d: %w", run, classify(err))
	}
	if err := d.loadItems(ctx, run, byTarget, false); err != nil {
		return nil, nil, err
	}
	rows, err = d.db.QueryContext(ctx, "SELECT target, id, severity, title, setting, evidence, fix FROM findings WHERE run = ? ORDER BY rowid", run)
	if err != nil {
		return nil, nil, fmt.Errorf("store: run %d: findings: %w", run, classify(err))
	}
	for rows.Next() {
		var t, ev string
		var f Finding
		var sev int
		if err := rows.Scan(&t, &f.ID, &sev, &f.Title, &f.Setting, &ev, &f.Fix); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: run %d: findings: %w", run, classify(err))
		}
		f.Severity = audit.Severity(sev)
		json.Unmarshal([]byte(ev), &f.Evidence)
		if h := byTarget[t]; h != nil {
			h.Findings = append(h.Findings, f)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: run %d: findings: %w", run, classify(err))
	}
	fixes := map[string]*Fix{}
	rows, err = d.db.QueryContext(ctx, "SELECT key, setting, fix, may_break FROM fixes WHERE key IN (SELECT DISTINCT fix FROM findings WHERE run = ?)", run)
	if err != nil {
		return nil, nil, fmt.Errorf("store: run %d: fixes: %w", run, classify(err))
	}
	for rows.Next() {
		var fx Fix
		var fj, mb string
		if err := rows.Scan(&fx.Key, &fx.Setting, &fj, &mb); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: run %d: fixes: %w", run, classify(err))
		}
		json.Unmarshal([]byte(fj), &fx.Fix)
		json.Unmarshal([]byte(mb), &fx.MayBreak)
		fixes[fx.Key] = &fx
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: run %d: fixes: %w", run, classify(err))
	}
	for _, t := range legacy {
		var res, aud sql.NullString
		if err := d.db.QueryRowContext(ctx, "SELECT result, audit FROM target_data WHERE run = ? AND target = ?", run, t).Scan(&res, &aud); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, nil, fmt.Errorf("store: run %d: %s: %w", run, t, classify(err))
		}
		h := byTarget[t]
		host := h.Host
		if res.Valid {
			host.Result = new(enum.Result)
			json.Unmarshal([]byte(res.String), host.Result)
		}
		if aud.Valid {
			host.Audit = new(audit.Report)
			json.Unmarshal([]byte(aud.String), host.Audit)
		}
		sh, fx := Prepare(&host)
		h.Name, h.Shares = sh.Name, sh.Shares
		if h.User == nil {
			h.User = sh.User
		}
		if host.Audit != nil { // schema 1 kept no audit: the findings table is all there is
			h.Findings = sh.Findings
		}
		h.Result, h.Audit = nil, nil
		maps.Copy(fixes, fx)
	}
	slices.SortFunc(out, func(a, b *StoredHost) int { return compareTargets(a.Target, b.Target) })
	return out, fixes, nil
}

// loadItems reads the run's exposure items into the hosts; a target with
// none (closed, filtered) gets reachability from its status.
func (d *DB) loadItems(ctx context.Context, run int64, byTarget map[string]*StoredHost, evidence bool) error {
	q := "SELECT target, key, state, '' FROM exposures WHERE run = ?" // a report shows no item evidence
	if evidence {
		q = "SELECT target, key, state, evidence FROM exposures WHERE run = ?"
	}
	rows, err := d.db.QueryContext(ctx, q, run)
	if err != nil {
		return fmt.Errorf("store: run %d: exposures: %w", run, classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var it Item
		if err := rows.Scan(&t, &it.Key, &it.State, &it.Evidence); err != nil {
			return fmt.Errorf("store: run %d: exposures: %w", run, classify(err))
		}
		if h := byTarget[t]; h != nil {
			h.Items = append(h.Items, it)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: run %d: exposures: %w", run, classify(err))
	}
	for _, h := range byTarget {
		if !slices.ContainsFunc(h.Items, func(it Item) bool { return it.Key == KeyReachable }) {
			h.Items = append(h.Items, statusItem(&h.Host))
		}
		h.Items = sortItems(h.Items)
	}
	return nil
}
