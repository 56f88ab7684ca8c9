package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// errorBody is the ACS CommunicationErrorResponse: {"error":{code,message,target,details,innererror}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Target  string        `json:"target,omitempty"`
	Details []errorDetail `json:"details,omitempty"`
}

func statusOf(k errs.Kind) int {
	switch k {
	case errs.KindInvalid:
		return http.StatusBadRequest
	case errs.KindUnauthenticated:
		return http.StatusUnauthorized
	case errs.KindForbidden:
		return http.StatusForbidden
	case errs.KindNotFound:
		return http.StatusNotFound
	case errs.KindConflict:
		return http.StatusConflict
	case errs.KindPreconditionFailed:
		return http.StatusPreconditionFailed
	case errs.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.KindRateLimited:
		return http.StatusTooManyRequests
	case errs.KindUnavailable:
		return http.StatusServiceUnavailable
	case errs.KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case errs.KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// retryAfter carries a Retry-After hint with a rate-limit error.
type retryAfter struct {
	err     *errs.Error
	seconds int
}

func (r retryAfter) Error() string { return r.err.Error() }
func (r retryAfter) Unwrap() error { return r.err }

// writeError maps err once to a status and the ACS error body. Internal
// causes are logged, never shown.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errs.New(errs.KindTooLarge, "RequestEntityTooLarge", "the request body is larger than %d bytes", mbe.Limit)
	}
	e := errs.As(err)
	status := statusOf(e.Kind)
	if status == http.StatusInternalServerError {
		slog.ErrorContext(r.Context(), "request failed", "err", err)
	}
	var ra retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.seconds))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `HMAC-SHA256, Bearer`)
	}
	w.Header().Set("x-ms-error-code", e.Code)
	writeJSON(w, status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Target: e.Target}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// writeRouterError answers in the Job Router's error body: a general code
// for the status, the request path as target, and for validation failures
// the specific code in details.
func writeRouterError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errs.New(errs.KindTooLarge, "RequestEntityTooLarge", "the request body is larger than %d bytes", mbe.Limit)
	}
	e := errs.As(err)
	status := statusOf(e.Kind)
	if status == http.StatusInternalServerError {
		slog.ErrorContext(r.Context(), "request failed", "err", err)
	}
	var ra retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.seconds))
	}
	body := errorDetail{Code: strings.ReplaceAll(http.StatusText(status), " ", ""), Message: e.Message, Target: r.URL.Path}
	if e.Kind == errs.KindInvalid {
		body.Message = "One or more validation errors occurred."
		d := errorDetail{Code: e.Code, Message: e.Message}
		if e.Target != "" {
			d.Target = e.Target
		}
		body.Details = []errorDetail{d}
	}
	w.Header().Set("x-ms-error-code", e.Code)
	writeJSON(w, status, struct {
		CommunicationError errorDetail `json:"communicationError"`
	}{body})
}
