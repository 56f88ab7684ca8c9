package conversation

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// ThreadRef names a thread of some tenant.
type ThreadRef struct {
	Tenant tenant.ID
	ID     ThreadID
}

// RetentionStore is what the sweeper needs.
type RetentionStore interface {
	RetentionPolicies(ctx context.Context) (map[tenant.ID]int, error)
	ExpiredThreads(ctx context.Context, t tenant.ID, before time.Time, limit int) ([]ThreadRef, error)
	PurgeThread(ctx context.Context, t tenant.ID, id ThreadID) ([]string, int64, error)
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// RetentionMetrics counts what a sweep deleted.
type RetentionMetrics interface {
	RetentionDeleted(kind string, n int)
}

// Sweep deletes, for good, the threads (with their messages and files)
// that a tenant's retention policy or the thread's own ACS policy has
// expired. It works in batches and logs its progress; it is safe to run on
// several nodes at once (a purge of a purged thread deletes nothing).
func Sweep(ctx context.Context, st RetentionStore, blobs Blobs, m RetentionMetrics, now time.Time) (threads int, err error) {
	policies, err := st.RetentionPolicies(ctx)
	if err != nil {
		return 0, err
	}
	type pass struct {
		tenant tenant.ID
		before time.Time
	}
	passes := []pass{{"", now}} // threads' own policies, every tenant
	for t, days := range policies {
		passes = append(passes, pass{t, now.AddDate(0, 0, -days)})
	}
	for _, p := range passes {
		for {
			refs, err := st.ExpiredThreads(ctx, p.tenant, p.before, 100)
			if err != nil {
				return threads, err
			}
			if len(refs) == 0 {
				break
			}
			var files, messages int
			for _, r := range refs {
				var keys []string
				var n int64
				err := st.InTx(tenant.With(ctx, r.Tenant), func(ctx context.Context) error {
					var err error
					keys, n, err = st.PurgeThread(ctx, r.Tenant, r.ID)
					return err
				})
				if err != nil {
					return threads, err
				}
				for _, k := range keys {
					if err := blobs.Delete(ctx, k); err != nil {
						slog.Warn("retention: delete file", "key", k, "err", err)
					}
				}
				threads++
				files += len(keys)
				messages += int(n)
			}
			m.RetentionDeleted("threads", len(refs))
			m.RetentionDeleted("messages", messages)
			m.RetentionDeleted("files", files)
			slog.Info("retention: purged expired conversations", "tenant", p.tenant, "threads", len(refs),
				"messages", messages, "files", files, "older_than", p.before.Format(time.RFC3339))
		}
	}
	return threads, nil
}
