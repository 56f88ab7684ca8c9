package switchboardtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/identity"
)

// Client sends HMAC-signed requests exactly as the ACS SDKs sign them.
type Client struct {
	Base string // e.g. http://127.0.0.1:1234
	Key  []byte
	HTTP *http.Client
	// Now overrides the signing time (clock-skew tests).
	Now func() time.Time
}

// ParseConnectionString splits "endpoint=…;accesskey=…".
func ParseConnectionString(cs string) (endpoint string, key []byte, err error) {
	for part := range strings.SplitSeq(cs, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch strings.ToLower(k) {
		case "endpoint":
			endpoint = v
		case "accesskey":
			key, err = base64.StdEncoding.DecodeString(v)
		}
	}
	if endpoint == "" || key == nil {
		return "", nil, fmt.Errorf("bad connection string")
	}
	return endpoint, key, err
}

// Client returns a signed client of the demo tenant over plain HTTP.
func (s *Server) Client(t testing.TB) *Client {
	t.Helper()
	_, key, err := ParseConnectionString(s.Demo.ConnectionString)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Base: s.HTTPURL, Key: key, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// ClientFor returns a signed client for any connection string, over plain
// HTTP to this node.
func (s *Server) ClientFor(t testing.TB, connectionString string) *Client {
	t.Helper()
	_, key, err := ParseConnectionString(connectionString)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Base: s.HTTPURL, Key: key, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Request builds a signed request; body may be nil, []byte, string or a
// value to marshal as JSON.
func (c *Client) Request(method, pathAndQuery string, body any) *http.Request {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			panic(err)
		}
	}
	req, err := http.NewRequest(method, c.Base+pathAndQuery, bytes.NewReader(raw))
	if err != nil {
		panic(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.Sign(req, raw)
	return req
}

// Sign adds x-ms-date, x-ms-content-sha256 and Authorization to req.
func (c *Client) Sign(req *http.Request, body []byte) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	date := now.UTC().Format(http.TimeFormat)
	hash := identity.ContentHash(body)
	u, _ := url.Parse(req.URL.String())
	pq := u.EscapedPath()
	if u.RawQuery != "" {
		pq += "?" + u.RawQuery
	}
	sts := identity.StringToSign(req.Method, pq, date, req.URL.Host, hash)
	req.Header.Set("x-ms-date", date)
	req.Header.Set("x-ms-content-sha256", hash)
	req.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="+identity.Sign(c.Key, sts))
}

// Do sends a signed request and returns the response with its body read.
func (c *Client) Do(t testing.TB, method, pathAndQuery string, body any) (*http.Response, []byte) {
	t.Helper()
	return c.Send(t, c.Request(method, pathAndQuery, body))
}

// Send sends a prepared request and reads the body.
func (c *Client) Send(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// JSON decodes b into a generic map, failing the test on bad JSON.
func JSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, b)
	}
	return m
}
