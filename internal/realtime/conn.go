package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Subprotocol is the WebSocket subprotocol clients must ask for.
const Subprotocol = "switchboard.v1"

// MaxFrameBytes bounds a client frame.
const MaxFrameBytes = 16 << 10

// Close codes (docs/realtime.md).
const (
	closeGoingAway    = websocket.StatusGoingAway
	closeMalformed    = websocket.StatusCode(4400)
	closeUnauthorized = websocket.StatusCode(4401)
	closeHelloTimeout = websocket.StatusCode(4408)
	closeSlowConsumer = websocket.StatusCode(4429)
	closeInternal     = websocket.StatusCode(4500)
)

type conn struct {
	hub    *Hub
	ws     *websocket.Conn
	tenant tenant.ID
	user   string

	queue chan frame
	done  chan struct{}
	// cancelWrites aborts a write stuck on a client that stopped reading;
	// the socket is then closed without a close frame (none could pass).
	cancelWrites context.CancelFunc
	shutOnce     sync.Once
	code         websocket.StatusCode
	reason       string

	mu      sync.Mutex
	expires *time.Timer
}

// enqueue never blocks; a full queue means the client does not keep up, so
// it is cut off (it resumes from its last position when it reconnects).
func (c *conn) enqueue(f frame) {
	select {
	case c.queue <- f:
	default:
		go c.shut(closeSlowConsumer, "slow consumer: the client did not read fast enough")
		if c.hub.metrics != nil {
			c.hub.metrics.RealtimeDropped("slow_consumer")
		}
	}
}

// shut asks the connection to close with code; the first reason wins.
func (c *conn) shut(code websocket.StatusCode, reason string) {
	c.shutOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
		if code == closeSlowConsumer && c.cancelWrites != nil {
			c.cancelWrites()
		}
	})
}

type clientFrame struct {
	Type   string `json:"type"`
	Token  string `json:"token"`
	Resume string `json:"resume"`
}

// ServeHTTP upgrades the request and runs the connection until it ends.
// Any origin may connect: the channel is authenticated by a token in the
// first frame, never by cookies, so a cross-site page gains nothing.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !hasSubprotocol(r) {
		http.Error(w, `{"error":{"code":"MissingSubprotocol","message":"the WebSocket subprotocol switchboard.v1 is required"}}`, http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(MaxFrameBytes)
	h.wg.Add(1)
	defer h.wg.Done()
	h.run(r.Context(), ws)
}

func hasSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == Subprotocol {
				return true
			}
		}
	}
	return false
}

func (h *Hub) run(ctx context.Context, ws *websocket.Conn) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	hello, claims, code, reason := h.hello(ctx, ws)
	if code != 0 {
		_ = ws.Close(code, reason)
		return
	}
	wctx, cancelWrites := context.WithCancel(ctx)
	defer cancelWrites()
	c := &conn{hub: h, ws: ws, tenant: claims.Tenant, user: string(claims.User),
		queue: make(chan frame, h.cfg.QueueLength), done: make(chan struct{}), cancelWrites: cancelWrites}
	c.armExpiry(claims.ExpiresAt)
	through := h.register(c)
	defer h.unregister(c)

	last, err := c.catchUp(wctx, hello.Resume, through)
	if err != nil {
		slog.Warn("realtime: resume failed", "err", err)
		_ = ws.Close(closeInternal, "resume failed")
		return
	}
	go c.readLoop(ctx)
	c.writeLoop(wctx, last)
	c.stopExpiry()
	if c.code == websocket.StatusAbnormalClosure {
		_ = ws.CloseNow()
		return
	}
	_ = ws.Close(c.code, c.reason)
}

// hello waits for the first frame and authenticates it.
func (h *Hub) hello(ctx context.Context, ws *websocket.Conn) (clientFrame, identity.Claims, websocket.StatusCode, string) {
	// A read whose context ends closes the socket without a close frame,
	// so the timeout closes it properly from the side instead.
	timer := time.AfterFunc(h.cfg.HelloTimeout, func() { _ = ws.Close(closeHelloTimeout, "no hello frame in time") })
	typ, data, err := ws.Read(ctx)
	if !timer.Stop() || err != nil {
		return clientFrame{}, identity.Claims{}, websocket.StatusNormalClosure, ""
	}
	var f clientFrame
	if typ != websocket.MessageText || json.Unmarshal(data, &f) != nil || f.Type != "hello" {
		return f, identity.Claims{}, closeMalformed, "the first frame must be a JSON hello frame"
	}
	if f.Resume != "" {
		if _, err := strconv.ParseUint(f.Resume, 10, 64); err != nil {
			return f, identity.Claims{}, closeMalformed, "resume must be a position from an earlier frame"
		}
	}
	claims, err := h.auth.AuthenticateToken(ctx, f.Token)
	if err != nil {
		return f, claims, closeUnauthorized, "the access token is missing, invalid, expired or revoked"
	}
	if !claims.Has(identity.ScopeChat) && !claims.Has(identity.ScopeChatJoin) && !claims.Has(identity.ScopeChatJoinLimited) {
		return f, claims, closeUnauthorized, "the access token has no chat scope"
	}
	return f, claims, 0, ""
}

func (c *conn) armExpiry(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expires != nil {
		c.expires.Stop()
	}
	c.expires = time.AfterFunc(time.Until(at), func() { c.shut(closeUnauthorized, "the access token expired") })
}

func (c *conn) stopExpiry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expires != nil {
		c.expires.Stop()
	}
}

// catchUp sends what the client missed since resume, then ready. It
// returns the last position sent, below which queued frames are dropped.
func (c *conn) catchUp(ctx context.Context, resume string, through uint64) (uint64, error) {
	last := through
	if resume != "" {
		from, _ := strconv.ParseUint(resume, 10, 64)
		err := c.hub.replay(ctx, c.tenant, c.user, from, through, func(f frame) error { return c.write(ctx, f.body) })
		switch {
		case errors.Is(err, errResync):
			if err := c.write(ctx, []byte(`{"type":"resyncRequired"}`)); err != nil {
				return 0, err
			}
		case err != nil:
			return 0, err
		}
		last = max(from, through)
	}
	ready, _ := json.Marshal(map[string]any{
		"type": "ready", "position": strconv.FormatUint(last, 10), "heartbeatSeconds": max(1, int(c.hub.cfg.Heartbeat/time.Second)),
		"identity": identity.IdentifierFromRaw(c.user),
	})
	return last, c.write(ctx, ready)
}

func (c *conn) write(ctx context.Context, body []byte) error {
	wctx, cancel := context.WithTimeout(ctx, c.hub.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(wctx, websocket.MessageText, body)
}

// writeLoop sends queued frames in order, skipping any at or below last
// (already sent during catch-up), and heartbeats when idle.
func (c *conn) writeLoop(ctx context.Context, last uint64) {
	tick := time.NewTicker(c.hub.cfg.Heartbeat)
	defer tick.Stop()
	idle := true
	for {
		select {
		case <-c.done:
			return
		case f := <-c.queue:
			if f.seq != 0 && f.seq <= last {
				continue
			}
			if err := c.write(ctx, f.body); err != nil {
				c.shut(websocket.StatusAbnormalClosure, "")
				return
			}
			if f.seq != 0 {
				last = f.seq
			}
			idle = false
		case <-tick.C:
			if idle {
				if err := c.write(ctx, []byte(`{"type":"ping"}`)); err != nil {
					c.shut(websocket.StatusAbnormalClosure, "")
					return
				}
				// A protocol ping too: browsers answer it without any code,
				// so a vanished client is found even if it never writes.
				pctx, cancel := context.WithTimeout(ctx, c.hub.cfg.Heartbeat)
				err := c.ws.Ping(pctx)
				cancel()
				if err != nil {
					c.shut(websocket.StatusAbnormalClosure, "")
					return
				}
			}
			idle = true
		}
	}
}

// readLoop handles client frames: ping, token refresh. Anything else is a
// protocol error.
func (c *conn) readLoop(ctx context.Context) {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				c.shut(websocket.StatusNormalClosure, "")
			} else if websocket.CloseStatus(err) == -1 {
				c.shut(websocket.StatusAbnormalClosure, "")
			}
			return
		}
		var f clientFrame
		if typ != websocket.MessageText || json.Unmarshal(data, &f) != nil {
			c.shut(closeMalformed, "frames must be JSON text")
			return
		}
		switch f.Type {
		case "ping":
			c.enqueue(frame{body: []byte(`{"type":"pong"}`)})
		case "pong":
		case "token":
			claims, err := c.hub.auth.AuthenticateToken(ctx, f.Token)
			if err != nil || string(claims.User) != c.user || claims.Tenant != c.tenant {
				c.shut(closeUnauthorized, "the new token is invalid or for another identity")
				return
			}
			c.armExpiry(claims.ExpiresAt)
		default:
			c.shut(closeMalformed, "unknown frame type "+strconv.Quote(f.Type))
			return
		}
	}
}
