package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// limiter is a token bucket per key (a tenant or a client address). Idle
// buckets are swept so the map cannot grow without bound.
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: burst, m: map[string]*bucket{}, swept: time.Now()}
}

func (l *limiter) allow(key string) error {
	now := time.Now()
	l.mu.Lock()
	b, ok := l.m[key]
	if !ok {
		b = &bucket{l: rate.NewLimiter(l.rate, l.burst)}
		l.m[key] = b
	}
	b.seen = now
	if now.Sub(l.swept) > time.Minute {
		for k, v := range l.m {
			if now.Sub(v.seen) > 5*time.Minute {
				delete(l.m, k)
			}
		}
		l.swept = now
	}
	l.mu.Unlock()
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return retryAfter{
			err:     errs.New(errs.KindRateLimited, "TooManyRequests", "rate limit exceeded; retry after the time in Retry-After"),
			seconds: int(math.Ceil(d.Seconds())),
		}
	}
	return nil
}
