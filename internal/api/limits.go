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

// exhausted reports, without spending anything, whether key has no token
// left; it carries the Retry-After error when so.
func (l *limiter) exhausted(key string) error {
	now := time.Now()
	b := l.bucket(key, now)
	if b.l.TokensAt(now) >= 1 {
		return nil
	}
	return retryAfter{
		err:     errs.New(errs.KindRateLimited, "TooManyRequests", "too many failed attempts; retry after the time in Retry-After"),
		seconds: int(math.Ceil(max(1-b.l.TokensAt(now), 0) / float64(l.rate))),
	}
}

func (l *limiter) bucket(key string, now time.Time) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
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
	return b
}

func (l *limiter) allow(key string) error {
	now := time.Now()
	b := l.bucket(key, now)
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
