package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// Paging: list endpoints return {"value":[...],"nextLink":...}. The
// continuation token is opaque to clients: base64url of a small JSON cursor.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

type page struct {
	After string
	Limit int
}

type publicURLKey struct{}

type cursor struct {
	After string `json:"a"`
}

// pageParams reads continuationToken and maxpagesize (maxPageSize too).
func pageParams(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{Limit: defaultPageSize}
	size := q.Get("maxpagesize")
	if size == "" {
		size = q.Get("maxPageSize")
	}
	if size != "" {
		n, err := strconv.Atoi(size)
		if err != nil || n < 1 || n > maxPageSize {
			return p, errs.Invalid("InvalidPageSize", "maxpagesize must be an integer between 1 and %d", maxPageSize).WithTarget("maxpagesize")
		}
		p.Limit = n
	}
	if tok := q.Get("continuationToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		var c cursor
		if err != nil || json.Unmarshal(raw, &c) != nil {
			return p, errs.Invalid("InvalidContinuationToken", "the continuation token is malformed; use the nextLink of the previous page").WithTarget("continuationToken")
		}
		p.After = c.After
	}
	return p, nil
}

type list[T any] struct {
	Value    []T     `json:"value"`
	NextLink *string `json:"nextLink"`
}

// pageOf builds a page from items fetched with Limit+1: the extra item only
// tells that there is more.
func pageOf[T any, I any](r *http.Request, p page, items []I, key func(I) string, render func(I) T) list[T] {
	out := list[T]{Value: make([]T, 0, min(len(items), p.Limit))}
	more := len(items) > p.Limit
	if more {
		items = items[:p.Limit]
	}
	for _, it := range items {
		out.Value = append(out.Value, render(it))
	}
	if more && len(items) > 0 {
		raw, _ := json.Marshal(cursor{After: key(items[len(items)-1])})
		q := r.URL.Query()
		q.Set("continuationToken", base64.RawURLEncoding.EncodeToString(raw))
		q.Set("maxpagesize", strconv.Itoa(p.Limit))
		q.Del("maxPageSize")
		base := &url.URL{Scheme: "https", Host: r.Host}
		if r.TLS == nil {
			base.Scheme = "http"
		}
		if pub, ok := r.Context().Value(publicURLKey{}).(string); ok {
			if u, err := url.Parse(pub); err == nil {
				base = u
			}
		}
		link := (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: strings.TrimSuffix(base.Path, "/") + r.URL.Path, RawQuery: q.Encode()}).String()
		out.NextLink = &link
	}
	return out
}

// ETags are the entity's version, quoted.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// anyVersion is what If-Match: * asks for: the resource must exist.
const anyVersion = -1

// ifMatch returns the version If-Match asks for: 0 when absent, anyVersion
// for "*". A value that is not one of ours can never match: 412.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	if v == "*" {
		return anyVersion, nil
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n <= 0 {
		return 0, errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "If-Match does not match the resource's current ETag")
	}
	return n, nil
}

// mergePatch reads an RFC 7396 merge-patch body into a map of fields;
// a JSON null value means "remove".
func mergePatch(r *http.Request) (map[string]json.RawMessage, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/merge-patch+json") && !strings.HasPrefix(ct, "application/json") {
		return nil, errs.New(errs.KindInvalid, "UnsupportedMediaType", "PATCH needs Content-Type application/merge-patch+json")
	}
	var m map[string]json.RawMessage
	if err := decodeJSON(r, &m, false); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errs.Invalid("InvalidRequestBody", "a merge-patch body must be a JSON object")
	}
	return m, nil
}

// patchField decodes field name of patch into dst if present; it reports
// whether the field was there and non-null.
func patchField(patch map[string]json.RawMessage, name string, dst any) (bool, error) {
	raw, ok := patch[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return false, errs.Invalid("InvalidRequestBody", "field %q has the wrong type", name).WithTarget(name)
	}
	return true, nil
}
