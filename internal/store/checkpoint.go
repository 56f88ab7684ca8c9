package store

import (
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// checkpointer copies the SQLite WAL back into the database file in the
// background, on its own connection, so no request's commit pays for it.
// PASSIVE never blocks readers or the writer; it catches up on the next run.
type checkpointer struct {
	conn *sql.DB
	stop chan struct{}
	wg   sync.WaitGroup
}

func newCheckpointer(dsn string, every time.Duration) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	c := &checkpointer{conn: conn, stop: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				if _, err := conn.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
					slog.Warn("sqlite checkpoint", "err", err)
				}
			}
		}
	}()
	return c, nil
}

// close stops the loop and folds the whole WAL into the database file.
func (c *checkpointer) close() {
	close(c.stop)
	c.wg.Wait()
	if _, err := c.conn.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		slog.Warn("sqlite final checkpoint", "err", err)
	}
	_ = c.conn.Close()
}
