// Package store is the one portable SQL implementation of every domain
// store, over database/sql, for SQLite (embedded default, modernc driver) and
// PostgreSQL (scale-out, pgx). The SQL stays in the subset both accept ($n
// placeholders, ON CONFLICT, RETURNING); Dialect covers the rest.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// Dialect names the SQL engine underneath.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config chooses the engine: an empty URL means the SQLite file in DataDir.
type Config struct {
	URL     string // postgres://… ; empty for SQLite
	DataDir string
}

// DB holds a write and a read pool. SQLite allows one writer at a time, so
// writes share a single connection and never wait on busy locks inside this
// process; PostgreSQL uses one pool for both.
type DB struct {
	w, r    *sql.DB
	dialect Dialect
	// onOutbox is called after a commit that appended events, so the relay
	// publishes at once instead of on its next poll.
	onOutbox func()
	// batch groups concurrent SQLite transactions (nil on PostgreSQL).
	batch *batcher
	// wStmts and rStmts cache prepared statements (SQLite only).
	wStmts, rStmts *stmtCache
	ckpt           *checkpointer
}

// OnOutbox sets the function called after events are committed.
func (db *DB) OnOutbox(fn func()) { db.onOutbox = fn }

type txState struct {
	tx       *sql.Tx
	appended bool
}

// Open connects and migrates.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db, err := open(cfg)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func open(cfg Config) (*DB, error) {
	if strings.HasPrefix(cfg.URL, "postgres://") || strings.HasPrefix(cfg.URL, "postgresql://") {
		pool, err := sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		pool.SetMaxOpenConns(32)
		pool.SetMaxIdleConns(16)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{w: pool, r: pool, dialect: Postgres}, nil
	}
	if cfg.URL != "" {
		return nil, errs.Invalid("InvalidDatabaseURL", "database URL must start with postgres:// (leave it empty for the embedded SQLite store)")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "switchboard.db")
	// synchronous(NORMAL) in WAL mode keeps every committed transaction across
	// a process crash (kill -9); only an OS crash could lose the last commits.
	// temp_store(MEMORY): the batcher runs each transaction in a savepoint,
	// and a savepoint keeps the pages it changes in a sub-journal; in a
	// temporary file that was a write call per page of every commit.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)"
	// Checkpoints run in the background (checkpointer), not inside whichever
	// commit crosses the WAL threshold: a checkpoint syncs the file.
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	r.SetConnMaxLifetime(0)
	ckpt, err := newCheckpointer("file:"+path+"?"+pragmas, 250*time.Millisecond)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	db := &DB{w: w, r: r, dialect: SQLite, wStmts: newStmtCache(w), rStmts: newStmtCache(r), ckpt: ckpt}
	db.batch = newBatcher(db)
	return db, nil
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.r.PingContext(ctx) }

// RawQueryRow runs one read-only query outside every store method. It
// bypasses tenant scoping and secret sealing, so domain code never uses it:
// it is for diagnostics and for the contract suite, which checks what really
// sits in a row (a sealed secret, a tombstone).
func (db *DB) RawQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.r.QueryRowContext(ctx, query, args...)
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.batch != nil {
		db.batch.close()
	}
	if db.wStmts != nil {
		db.wStmts.close()
		db.rStmts.close()
	}
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if db.ckpt != nil {
		db.ckpt.close()
	}
	return err
}

type txKey struct{}

// InTx runs fn in one transaction; store calls made with the ctx passed to fn
// join it. A nested InTx joins the outer transaction.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*txState); ok {
		return fn(ctx)
	}
	if db.batch != nil {
		return db.batch.do(ctx, fn)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	st := &txState{tx: tx}
	if err := fn(context.WithValue(ctx, txKey{}, st)); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if st.appended {
		db.outboxWritten()
	}
	return nil
}

func (db *DB) outboxWritten() {
	if db.onOutbox != nil {
		db.onOutbox()
	}
}

// markAppended notes that ctx's transaction wrote events; it reports false
// when there is no transaction (the write is already committed).
func markAppended(ctx context.Context) bool {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		st.appended = true
		return true
	}
	return false
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writer is the transaction in ctx, or the write pool.
func (db *DB) writer(ctx context.Context) querier {
	st, inTx := ctx.Value(txKey{}).(*txState)
	if db.wStmts != nil {
		if inTx {
			return cachedQuerier{cache: db.wStmts, tx: st.tx}
		}
		return cachedQuerier{cache: db.wStmts}
	}
	if inTx {
		return st.tx
	}
	return db.w
}

// reader is the transaction in ctx (to read its own writes), or the read pool.
func (db *DB) reader(ctx context.Context) querier {
	if _, ok := ctx.Value(txKey{}).(*txState); ok {
		return db.writer(ctx)
	}
	if db.rStmts != nil {
		return cachedQuerier{cache: db.rStmts}
	}
	return db.r
}

// isUniqueViolation reports a unique-constraint failure on either engine.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
