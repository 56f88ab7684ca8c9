package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Leases give one node of a cluster a key for a while: a JetStream
// key-value bucket whose entries expire unless their holder renews them.
// The holder renews every third of the TTL; a renewal that fails (another
// node took the key after an expiry, or NATS is unreachable past the TTL)
// loses the lease and tells the owner through onLost. A holder stops using
// a lease it could not renew within half the TTL, before anyone else may
// take it.
type Leases struct {
	kv     jetstream.KeyValue
	node   string
	ttl    time.Duration
	onLost func(key string)

	mu   sync.Mutex
	held map[string]*lease
	stop chan struct{}
	done chan struct{}
}

type lease struct {
	rev     uint64
	renewed time.Time
}

// Leases opens (creating when missing) the bucket of leases named name.
func (b *Bus) Leases(ctx context.Context, name, node string, ttl time.Duration, onLost func(key string)) (*Leases, error) {
	bucket := b.Durable(name)
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, TTL: ttl, History: 1, Storage: jetstream.MemoryStorage})
	if err != nil {
		return nil, fmt.Errorf("bus: lease bucket %s: %w", bucket, err)
	}
	l := &Leases{kv: kv, node: node, ttl: ttl, onLost: onLost, held: map[string]*lease{}, stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l, nil
}

// Node is this node's name in the leases.
func (l *Leases) Node() string { return l.node }

// Acquire returns the key's holder, taking the key when nobody holds it.
// mine is true only while this node's lease is fresh.
func (l *Leases) Acquire(ctx context.Context, key string) (holder string, mine bool, err error) {
	l.mu.Lock()
	if h := l.held[key]; h != nil {
		fresh := time.Since(h.renewed) < l.ttl/2
		l.mu.Unlock()
		if fresh {
			return l.node, true, nil
		}
		return "", false, errors.New("bus: lease not renewed in time")
	}
	l.mu.Unlock()
	rev, err := l.kv.Create(ctx, key, []byte(l.node))
	if err == nil {
		l.mu.Lock()
		l.held[key] = &lease{rev: rev, renewed: time.Now()}
		l.mu.Unlock()
		return l.node, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return "", false, fmt.Errorf("bus: take lease %s: %w", key, err)
	}
	e, err := l.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return l.Acquire(ctx, key) // expired between the two calls
	}
	if err != nil {
		return "", false, fmt.Errorf("bus: read lease %s: %w", key, err)
	}
	if string(e.Value()) == l.node {
		// Ours from before a restart of this object: adopt it.
		l.mu.Lock()
		l.held[key] = &lease{rev: e.Revision(), renewed: time.Now()}
		l.mu.Unlock()
		return l.node, true, nil
	}
	return string(e.Value()), false, nil
}

func (l *Leases) renew() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		keys := make(map[string]uint64, len(l.held))
		for k, h := range l.held {
			keys[k] = h.rev
		}
		l.mu.Unlock()
		for k, rev := range keys {
			ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
			next, err := l.kv.Update(ctx, k, []byte(l.node), rev)
			cancel()
			l.mu.Lock()
			h := l.held[k]
			if err == nil && h != nil {
				h.rev, h.renewed = next, time.Now()
				l.mu.Unlock()
				continue
			}
			lost := h != nil && (errors.Is(err, jetstream.ErrKeyNotFound) || isWrongSequence(err) || time.Since(h.renewed) >= l.ttl/2)
			if lost {
				delete(l.held, k)
			}
			l.mu.Unlock()
			if lost {
				slog.Warn("bus: lease lost", "key", k, "err", err)
				l.onLost(k)
			}
		}
	}
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Stop stops renewing and gives every held lease back.
func (l *Leases) Stop(ctx context.Context) {
	select {
	case <-l.stop:
		return
	default:
	}
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, h := range l.held {
		_ = l.kv.Delete(ctx, k, jetstream.LastRevision(h.rev))
		delete(l.held, k)
	}
}
