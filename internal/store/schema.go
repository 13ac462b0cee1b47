package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] brings a database from user_version i to i+1
// (https://sqlite.org/pragma.html#pragma_user_version). Never edit a
// migration that has shipped: add one. The test keeps a version-1 database
// built by migrations[:1] and opens it with the current code.
var migrations = []string{
	// 1: runs, targets, findings.
	`CREATE TABLE runs (
		id       INTEGER PRIMARY KEY,
		run_id   TEXT NOT NULL UNIQUE,  -- the sweep's run_id, or the import key
		plan     TEXT NOT NULL DEFAULT '',
		shard    TEXT NOT NULL DEFAULT '',  -- "" one process, "2/4" one shard, "4" shards merged
		args     TEXT NOT NULL DEFAULT '[]', -- JSON array
		version  TEXT NOT NULL DEFAULT '',
		started  TEXT NOT NULL,  -- RFC 3339, UTC
		finished TEXT,           -- NULL while running or when interrupted
		complete INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE targets (
		run    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		target TEXT NOT NULL,
		status TEXT NOT NULL,   -- open | closed | filtered | error
		layer  TEXT NOT NULL DEFAULT '',
		error  TEXT NOT NULL DEFAULT '',
		result TEXT,            -- the enum result as JSON; NULL when none
		PRIMARY KEY (run, target)
	);
	CREATE TABLE findings (
		run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		target   TEXT NOT NULL,
		id       TEXT NOT NULL,     -- stable finding id
		severity INTEGER NOT NULL,  -- 0 info .. 4 critical
		setting  TEXT NOT NULL DEFAULT '',
		evidence TEXT NOT NULL DEFAULT '[]' -- JSON array
	);
	CREATE INDEX findings_run ON findings(run, target);`,

	// 2: the kind of run, a hash of its target set (to find the previous
	// run over the same targets), the audit verdict per target and the
	// exposure items a diff compares.
	`ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'sweep';
	ALTER TABLE runs ADD COLUMN targets_hash TEXT NOT NULL DEFAULT '';
	ALTER TABLE targets ADD COLUMN audit TEXT;
	ALTER TABLE findings ADD COLUMN title TEXT NOT NULL DEFAULT '';
	CREATE TABLE exposures (
		run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		target   TEXT NOT NULL,
		key      TEXT NOT NULL,   -- stable exposure key
		state    TEXT NOT NULL,   -- yes | no | unknown
		evidence TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (run, target, key)
	) WITHOUT ROWID;
	CREATE INDEX runs_started ON runs(started);`,

	// 3: what a report shows without decoding each target's full JSON: the
	// host's name, its listed shares, and each finding's fix (shared by
	// every finding with the same fix).
	`ALTER TABLE targets ADD COLUMN name TEXT NOT NULL DEFAULT '';
	ALTER TABLE targets ADD COLUMN shares TEXT; -- JSON [[name, comment, anonymous access], ...]
	ALTER TABLE findings ADD COLUMN fix TEXT NOT NULL DEFAULT ''; -- fixes.key
	CREATE TABLE fixes (
		key       TEXT PRIMARY KEY, -- hash of the rest
		setting   TEXT NOT NULL,
		fix       TEXT NOT NULL,    -- JSON: audit.Fix
		may_break TEXT NOT NULL     -- JSON array
	) WITHOUT ROWID;`,

	// 4: targets clustered on (run, target): one B-tree instead of a table
	// and its primary-key index, which halves the cost of recording the
	// closed targets that make most of a large sweep; the small columns
	// first, so a report reads names and shares without walking the
	// overflow pages of each full result.
	`CREATE TABLE targets_new (
		run    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		target TEXT NOT NULL,
		status TEXT NOT NULL,
		layer  TEXT NOT NULL DEFAULT '',
		error  TEXT NOT NULL DEFAULT '',
		name   TEXT NOT NULL DEFAULT '',
		shares TEXT,
		result TEXT,
		audit  TEXT,
		PRIMARY KEY (run, target)
	) WITHOUT ROWID;
	INSERT INTO targets_new (run, target, status, layer, error, name, shares, result, audit)
		SELECT run, target, status, layer, error, name, shares, result, audit FROM targets;
	DROP TABLE targets;
	ALTER TABLE targets_new RENAME TO targets;`,

	// 5: a run's target counts kept when it finishes (NULL: count them),
	// and findings indexed by severity so counts and the worst findings of
	// a run read the index alone.
	`ALTER TABLE runs ADD COLUMN n_targets INTEGER;
	ALTER TABLE runs ADD COLUMN n_open INTEGER;
	CREATE INDEX findings_sev ON findings(run, severity, id, target);`,

	// 6: the second look as a user (audit --user, sweep --user): the
	// account, its logon and per item what the user saw beside the
	// stranger, as JSON (audit.UserView; never a credential, which the
	// view does not hold). NULL: the host was looked at anonymously only.
	// Rows written before keep the view inside their audit JSON: copied
	// out here so a report reads them like new rows.
	`ALTER TABLE targets ADD COLUMN user_view TEXT;
	UPDATE targets SET user_view = json_extract(audit, '$.user')
		WHERE audit IS NOT NULL AND json_valid(audit) AND json_type(audit, '$.user') = 'object';`,

	// 7: a full host's result and audit JSON (tens of KB) move to a table
	// of their own. Beside the small columns they filled the targets
	// B-tree's leaves, about one host a page, so every scan of a run's
	// targets (the report, runs, diff) read every host's whole result: a
	// 10,000-host report spent a third of its time there. The report's
	// fixes come from the run's findings by an index of their own.
	`CREATE TABLE target_data (
		run    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		target TEXT NOT NULL,
		result TEXT,
		audit  TEXT,
		PRIMARY KEY (run, target)
	);
	INSERT INTO target_data (run, target, result, audit)
		SELECT run, target, result, audit FROM targets WHERE result IS NOT NULL OR audit IS NOT NULL;
	CREATE TABLE targets_new (
		run       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
		target    TEXT NOT NULL,
		status    TEXT NOT NULL,
		layer     TEXT NOT NULL DEFAULT '',
		error     TEXT NOT NULL DEFAULT '',
		name      TEXT NOT NULL DEFAULT '',
		shares    TEXT,
		user_view TEXT,
		PRIMARY KEY (run, target)
	) WITHOUT ROWID;
	INSERT INTO targets_new (run, target, status, layer, error, name, shares, user_view)
		SELECT run, target, status, layer, error, name, shares, user_view FROM targets;
	DROP TABLE targets;
	ALTER TABLE targets_new RENAME TO targets;
	CREATE INDEX findings_fix ON findings(run, fix);`,
}

// SchemaVersion is the user_version this code writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies migrations up to version to (tests stop early to build
// an old database). Each step runs in its own transaction with its
// user_version bump, so a crash leaves a consistent version.
func migrate(ctx context.Context, db *sql.DB, to int) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("%w (schema %d, this one knows up to %d)", ErrNewer, v, len(migrations))
	}
	for ; v < to; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to schema %d: %w", v+1, err)
		}
		if v+1 == 2 {
			if err := backfillTargetsHash(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("migrate to schema 2: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// backfillTargetsHash gives version-1 runs the hash version 2 looks runs up by.
func backfillTargetsHash(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM runs")
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		h, err := targetsHashOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET targets_hash = ? WHERE id = ?", h.sum(), id); err != nil {
			return err
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// targetsHashOf hashes the target set of a stored run.
func targetsHashOf(ctx context.Context, q querier, run int64) (*targetsHash, error) {
	rows, err := q.QueryContext(ctx, "SELECT target FROM targets WHERE run = ?", run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h := newTargetsHash()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		h.add(t)
	}
	return h, rows.Err()
}
