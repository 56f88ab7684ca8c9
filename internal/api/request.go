package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

type bodyKey struct{}

// readBody returns the request body, read once and cached (HMAC needs it
// before the handler does). The size limit applies here.
func readBody(r *http.Request) ([]byte, error) {
	if b, ok := r.Context().Value(bodyKey{}).(*[]byte); ok && *b != nil {
		return *b, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if p, ok := r.Context().Value(bodyKey{}).(*[]byte); ok {
		*p = b
	}
	return b, nil
}

// decodeJSON parses the body into v. An empty body leaves v untouched when
// emptyOK. Errors name the problem and its offset.
func decodeJSON(r *http.Request, v any, emptyOK bool) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return errs.Invalid("InvalidRequestBody", "the request body is empty; a JSON object is required")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return errs.New(errs.KindInvalid, "UnsupportedMediaType", "content type %q is not JSON", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Not dec.More: it reports false before a stray ']' or '}', which would
	// let `{...}]` through.
	if _, err := dec.Token(); err != io.EOF {
		return errs.Invalid("InvalidRequestBody", "the request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errs.Invalid("InvalidRequestBody", "the request body is not valid JSON (offset %d): %v", se.Offset, se)
	case errors.As(err, &te):
		return errs.Invalid("InvalidRequestBody", "field %q must be %s, not %s", te.Field, te.Type, te.Value).WithTarget(te.Field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalid("InvalidRequestBody", "the request body ends in the middle of a JSON value")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errs.Invalid("InvalidRequestBody", "the request body cannot be read as JSON: %v", err)
}
