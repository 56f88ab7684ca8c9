package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// A flow's lookup step asks the tenant's customer-lookup webhook who the
// customer is: Switchboard POSTs {"fields": {...}} signed like activities;
// the webhook answers 200 {"found": true, "contact": {"name": …, …}} or
// {"found": false}, or 404 for not found.

// Lookups calls customer-lookup webhooks.
type Lookups struct {
	c *Client
}

// NewLookups wraps hc, the guarded outbound client.
func NewLookups(hc *http.Client) *Lookups { return &Lookups{c: NewClient(hc)} }

// maxLookupFields bounds what a lookup answer may hand back.
const maxLookupFields = 50

// Lookup asks the webhook about fields. Failures match ErrBotFailed.
func (l *Lookups) Lookup(ctx context.Context, ep Endpoint, fields map[string]string) (bool, map[string]string, error) {
	body, err := json.Marshal(map[string]any{"fields": fields})
	if err != nil {
		return false, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, ep.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return false, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(SignatureHeader, sign(ep.Secret, body, time.Now()))
	resp, err := l.c.hc.Do(req)
	if err != nil {
		return false, nil, transportErr(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		drain(resp.Body)
		return false, nil, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		drain(resp.Body)
		return false, nil, &StatusError{StatusCode: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return false, nil, transportErr(ctx, err)
	}
	if len(data) > maxAnswer {
		return false, nil, malformed("lookup answer is over 256 KiB")
	}
	var ans struct {
		Found   *bool             `json:"found"`
		Contact map[string]string `json:"contact"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return false, nil, malformedErr("lookup answer", err)
	}
	if ans.Found == nil {
		return false, nil, malformed(`lookup answer has no "found"`)
	}
	if len(ans.Contact) > maxLookupFields {
		return false, nil, malformed("lookup answer has too many contact fields")
	}
	return *ans.Found, ans.Contact, nil
}
