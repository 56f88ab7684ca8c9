package store

import (
	"context"
	"database/sql"
	"sync"
)

// modernc's SQLite driver parses every statement anew, which costs more
// than running the small statements the store uses. cachedQuerier prepares
// each distinct query once per pool and reuses it; database/sql keeps the
// prepared form per connection and binds it to a transaction with Tx.Stmt.
// PostgreSQL needs none of this: pgx caches statements itself.
type stmtCache struct {
	pool      *sql.DB
	mu        sync.RWMutex
	m         map[string]*sql.Stmt
	preparing map[string]bool
	closed    bool
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}, preparing: map[string]bool{}}
}

// get returns the prepared statement for query, or nil when it is not
// prepared yet. Preparing needs a connection of the pool, which a caller
// inside a transaction on the one-connection write pool already holds, so
// it happens in the background and this call runs unprepared meanwhile.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.preparing[query] && !c.closed {
		c.preparing[query] = true
		go c.prepare(query)
	}
	return nil
}

func (c *stmtCache) prepare(query string) {
	st, err := c.pool.PrepareContext(context.Background(), query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.preparing, query)
	if err != nil {
		return // stays unprepared; the next call tries again
	}
	if c.closed {
		_ = st.Close()
		return
	}
	c.m[query] = st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// cachedQuerier runs queries through prepared statements, inside tx when
// set.
type cachedQuerier struct {
	cache *stmtCache
	tx    *sql.Tx
}

// stmt returns the prepared statement bound to the transaction, or nil.
func (q cachedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := q.cache.get(query)
	if st == nil || q.tx == nil {
		return st
	}
	return q.tx.StmtContext(ctx, st)
}

// plain is where unprepared queries go.
func (q cachedQuerier) plain() querier {
	if q.tx != nil {
		return q.tx
	}
	return q.cache.pool
}

func (q cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.plain().ExecContext(ctx, query, args...)
}

func (q cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.plain().QueryContext(ctx, query, args...)
}

func (q cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.plain().QueryRowContext(ctx, query, args...)
}
