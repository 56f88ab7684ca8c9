package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Repeatable-request headers (Azure REST guidelines, as ACS uses them).
const (
	repeatabilityID        = "Repeatability-Request-ID"
	repeatabilityFirstSent = "Repeatability-First-Sent"
	repeatabilityResult    = "Repeatability-Result"
)

// replayedHeaders are the response headers kept with a stored answer.
var replayedHeaders = []string{"Content-Type", "ETag", "Location", "Last-Modified"}

type capture struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.buf.Write(b)
}

// idempotent runs a repeatable POST: the first answer with a given
// Repeatability-Request-ID is stored and replayed to every retry, so the
// request takes effect once.
func (s *Server) idempotent(rt route, w http.ResponseWriter, r *http.Request) error {
	key := r.Header.Get(repeatabilityID)
	if key == "" {
		return rt.h(w, r)
	}
	if len(key) > 128 {
		return errs.Invalid("InvalidRepeatabilityRequestId", "%s must be at most 128 characters", repeatabilityID).WithTarget(repeatabilityID)
	}
	if fs := r.Header.Get(repeatabilityFirstSent); fs != "" {
		first, err := http.ParseTime(fs)
		if err != nil {
			return errs.Invalid("InvalidRepeatabilityFirstSent", "%s must be an HTTP date", repeatabilityFirstSent).WithTarget(repeatabilityFirstSent)
		}
		if time.Since(first) > s.cfg.IdempotencyWindow {
			return errs.Invalid("RepeatabilityExpired", "%s is older than the %s repeatability window", repeatabilityFirstSent, s.cfg.IdempotencyWindow).WithTarget(repeatabilityFirstSent)
		}
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+"\n"), body...))
	fp := hex.EncodeToString(sum[:])
	t := tenant.MustFrom(r.Context())
	prev, reserved, err := s.deps.Idempotency.ReserveIdempotencyKey(r.Context(), t, key, fp, time.Now(), 30*time.Second)
	if err != nil {
		return err
	}
	if !reserved {
		if prev.Fingerprint != fp {
			return errs.Conflict("RepeatabilityRequestIdReused", "%s was already used for a different request", repeatabilityID)
		}
		if prev.Status == 0 {
			return errs.Conflict("RepeatableRequestInProgress", "the first request with this %s is still being processed; retry shortly", repeatabilityID)
		}
		var hdr map[string]string
		_ = json.Unmarshal([]byte(prev.Headers), &hdr)
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.Header().Set(repeatabilityResult, "accepted")
		w.WriteHeader(prev.Status)
		_, _ = w.Write(prev.Body)
		return nil
	}
	c := &capture{ResponseWriter: w}
	herr := rt.h(c, r)
	if herr != nil || c.status/100 != 2 {
		// Failures are not remembered: the client may fix and retry.
		_ = s.deps.Idempotency.ReleaseIdempotencyKey(r.Context(), t, key)
		if herr != nil {
			return herr
		}
	} else {
		hdr := map[string]string{}
		for _, h := range replayedHeaders {
			if v := c.Header().Get(h); v != "" {
				hdr[h] = v
			}
		}
		hj, _ := json.Marshal(hdr)
		if err := s.deps.Idempotency.CompleteIdempotencyKey(r.Context(), t, key, c.status, string(hj), c.buf.Bytes()); err != nil {
			return err
		}
		w.Header().Set(repeatabilityResult, "accepted")
	}
	w.WriteHeader(c.status)
	_, _ = w.Write(c.buf.Bytes())
	return nil
}
