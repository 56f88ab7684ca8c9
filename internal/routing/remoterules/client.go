// Package remoterules calls the Job Router's function and webhook rules:
// an HTTP POST of the job's labels whose JSON answer is the rule's value.
// Function rules authenticate with a function key; webhook rules first
// get a token from an OAuth 2.0 authorization server (client credentials)
// and send it as a bearer token.
package remoterules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxAnswer bounds a rule's answer.
const maxAnswer = 1 << 20

// Client calls remote rules.
type Client struct {
	HTTP *http.Client

	mu     sync.Mutex
	tokens map[string]token // authorization server + client id → token
}

type token struct {
	value   string
	expires time.Time
}

// New is a client with its own HTTP client.
func New() *Client {
	return &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, tokens: map[string]token{}}
}

// Call runs a function or webhook rule: body (a job's labels, or a
// scoring request) is posted as JSON and the JSON answer is the value.
func (c *Client) Call(ctx context.Context, rule map[string]any, body any) (any, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var req *http.Request
	switch rule["kind"] {
	case "function":
		uri, _ := rule["functionUri"].(string)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("remote rule: %w", err)
		}
		cred, _ := rule["credential"].(map[string]any)
		if k, _ := cred["functionKey"].(string); k != "" {
			req.Header.Set("x-functions-key", k)
		} else if k, _ := cred["appKey"].(string); k != "" {
			req.Header.Set("x-functions-key", k)
			if id, _ := cred["clientId"].(string); id != "" {
				req.Header.Set("x-functions-clientid", id)
			}
		}
	case "webhook":
		uri, _ := rule["webhookUri"].(string)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("remote rule: %w", err)
		}
		tok, err := c.token(ctx, rule)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	default:
		return nil, fmt.Errorf("remote rule: kind %v is not remote", rule["kind"])
	}
	req.Header.Set("Content-Type", "application/json")
	var out any
	if err := c.do(req, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("remote rule %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("remote rule %s: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("remote rule %s answered %d", req.URL.Redacted(), resp.StatusCode)
	}
	if len(raw) > maxAnswer {
		return fmt.Errorf("remote rule %s: the answer is over %d bytes", req.URL.Redacted(), maxAnswer)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("remote rule %s: the answer is not JSON: %w", req.URL.Redacted(), err)
	}
	return nil
}

// token gets (and caches until shortly before it expires) a client
// credentials token for a webhook rule.
func (c *Client) token(ctx context.Context, rule map[string]any) (string, error) {
	server, _ := rule["authorizationServerUri"].(string)
	cred, _ := rule["clientCredential"].(map[string]any)
	id, _ := cred["clientId"].(string)
	secret, _ := cred["clientSecret"].(string)
	key := server + "\x00" + id
	c.mu.Lock()
	if t, ok := c.tokens[key]; ok && time.Now().Before(t.expires) {
		c.mu.Unlock()
		return t.value, nil
	}
	c.mu.Unlock()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("remote rule token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var answer struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if err := c.do(req, &answer); err != nil {
		return "", err
	}
	if answer.AccessToken == "" {
		return "", fmt.Errorf("remote rule token: %s gave no access_token", req.URL.Redacted())
	}
	life := time.Duration(answer.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	c.mu.Lock()
	c.tokens[key] = token{value: answer.AccessToken, expires: time.Now().Add(life * 9 / 10)}
	c.mu.Unlock()
	return answer.AccessToken, nil
}
