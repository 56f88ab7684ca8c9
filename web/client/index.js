// Switchboard browser client: the real-time channel (docs/realtime.md) and
// the chat REST calls a browser needs. No dependencies; the widget bundles
// it, the agent desktop reuses it, and customers may load it from
// /web/switchboard-client.js for their own apps.

import { SwitchboardError, ThreadClient, CHAT_VERSION } from "./rest.js";

export { SwitchboardError, ThreadClient };

const PROTOCOL = "switchboard.v1";
// Back-off between reconnects: 0.5 s doubling to 30 s, each wait drawn
// from its upper half so a whole site's clients do not return in step.
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
// A connection that dies sooner than this after ready does not reset the
// back-off: a server that accepts and then drops us must not be hammered.
const STABLE_MS = 5000;
const REFRESH_LEAD_MS = 5 * 60 * 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** @typedef {"connecting" | "connected" | "reconnecting" | "disconnected"} ConnectionState */

/**
 * One client's connection: a WebSocket that reconnects and resumes by
 * itself, plus REST helpers with the same token.
 *
 * Events (`on(name, fn)`): the ACS client events of docs/realtime.md
 * (`chatMessageReceived`, `typingIndicatorReceived`, …) with their `data`;
 * `connectionStateChanged` (a {@link ConnectionState}); `ready` (the ready
 * frame); `resync` (after a ready that followed resyncRequired: reload
 * state over REST); `position` (the last processed position, to persist);
 * `error` (a SwitchboardError when the connection gives up for good).
 */
export class ChatConnection {
  /**
   * @param {object} opts
   * @param {string} opts.endpoint  base URL, e.g. "https://switchboard.example.com"
   * @param {string} opts.token     an ACS user access token (chat scope)
   * @param {() => Promise<string>} [opts.onTokenExpiring] returns a fresh token for the same identity
   * @param {string} [opts.resumeFrom] a position saved from an earlier session
   * @param {typeof WebSocket} [opts.WebSocket] for runtimes without a global one
   * @param {typeof fetch} [opts.fetch] likewise
   */
  constructor(opts) {
    this.endpoint = String(opts.endpoint).replace(/\/+$/, "");
    this.token = opts.token;
    this.onTokenExpiring = opts.onTokenExpiring;
    /** The last processed position ("" before the first event). */
    this.position = opts.resumeFrom || "";
    /** @type {ConnectionState} */
    this.state = "disconnected";
    /** The identity from the last ready frame. */
    this.identity = null;
    this.fetch = opts.fetch || globalThis.fetch.bind(globalThis);
    this._WS = opts.WebSocket || globalThis.WebSocket;
    this._handlers = new Map();
    this._ws = null;
    this._attempt = 0;
    this._everReady = false;
    this._stopped = true;
    this._timers = {};
    this._heartbeatMs = 25000;
    this._lastHeard = 0;
    this._pingSentAt = 0;
    this._readyAt = 0;
    this._resync = false;
    this._serverError = null;
    this._refreshing = null;
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on(name, fn) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set());
    this._handlers.get(name).add(fn);
    return () => this.off(name, fn);
  }

  off(name, fn) {
    const set = this._handlers.get(name);
    if (set) set.delete(fn);
  }

  _emit(name, data) {
    const set = this._handlers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(data);
      } catch (e) {
        // One faulty handler must not stop delivery to the others, nor
        // vanish silently.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    this._emit("connectionStateChanged", s);
  }

  /**
   * Opens the channel. Resolves at the first ready; rejects only if the
   * server refuses the client for good (4400, 1009, or 4401 with no way to
   * get a new token). Unreachable servers are retried, not reported.
   */
  connect() {
    if (!this._stopped) return this._connecting || Promise.resolve();
    this._stopped = false;
    this._connecting = new Promise((resolve, reject) => {
      const offReady = this.on("ready", () => done(null));
      const offError = this.on("error", (e) => done(e));
      const done = (err) => {
        offReady();
        offError();
        this._connecting = null;
        if (err) reject(err);
        else resolve();
      };
    });
    this._scheduleRefresh();
    this._open();
    return this._connecting;
  }

  /** Closes for good: no reconnect until connect() is called again. */
  close() {
    this._stopped = true;
    this._clearTimers();
    clearTimeout(this._timers.refresh);
    this._drop(1000);
    this._setState("disconnected");
  }

  /** Reconnects at once, e.g. when the browser says it is back online. */
  reconnectNow() {
    if (this._stopped) return;
    if (this.state === "connected" && this._pingSentAt === 0) {
      // Possibly a dead socket the browser has not noticed: ask.
      this._ping();
      return;
    }
    this._attempt = 0;
    this._drop(4000);
    this._open();
  }

  /** Replaces the token for REST calls and on the open socket. */
  updateToken(token) {
    this.token = token;
    this._send({ type: "token", token });
    this._scheduleRefresh();
  }

  _open() {
    this._clearTimers();
    this._setState(this._everReady ? "reconnecting" : "connecting");
    this._serverError = null;
    let ws;
    try {
      ws = new this._WS(this.endpoint.replace(/^http/, "ws") + "/realtime", PROTOCOL);
    } catch {
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      const hello = { type: "hello", token: this.token };
      if (this.position) hello.resume = this.position;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (m) => this._onFrame(m.data);
    ws.onclose = (e) => {
      if (ws === this._ws) this._onClose(e.code);
    };
    ws.onerror = () => {};
  }

  // _drop forgets the current socket without waiting for its close event:
  // a dead network can delay that event for minutes.
  _drop(code) {
    const ws = this._ws;
    this._ws = null;
    if (!ws) return;
    ws.onclose = ws.onmessage = ws.onopen = null;
    try {
      ws.close(code);
    } catch {
      /* already closed */
    }
  }

  _onFrame(raw) {
    this._lastHeard = Date.now();
    this._pingSentAt = 0;
    let f;
    try {
      f = JSON.parse(raw);
    } catch {
      return;
    }
    switch (f.type) {
      case "ready":
        this._onReady(f);
        break;
      case "event":
        if (f.position) {
          // A position at or below the last one processed was handled
          // already: a resume may overlap what the client saw live.
          if (this.position && !isAfter(f.position, this.position)) return;
          this.position = f.position;
        }
        this._absolutize(f.data);
        this._emit(f.name, f.data);
        if (f.position) this._emit("position", this.position);
        break;
      case "resyncRequired":
        this._resync = true;
        break;
      case "error":
        this._serverError = f;
        break;
      default:
        // ping needs no answer (the server's heartbeat only proves the
        // line is alive); pong already counted as hearing from it.
        break;
    }
  }

  _onReady(f) {
    // After a resync the old position means nothing: continue from ready.
    if (this._resync || !this.position || isAfter(f.position, this.position)) this.position = f.position;
    this._heartbeatMs = Math.max(1, Number(f.heartbeatSeconds) || 25) * 1000;
    this.identity = f.identity;
    this._everReady = true;
    this._readyAt = Date.now();
    this._setState("connected");
    this._startHeartbeat();
    this._emit("ready", f);
    this._emit("position", this.position);
    if (this._resync) {
      this._resync = false;
      // Emitted after ready, so a REST reload started now cannot miss
      // anything: whatever it does not see arrives live.
      this._emit("resync");
    }
  }

  // Attachment links in events are relative to the server (it cannot know
  // which of its names a client used); resolve them against the endpoint.
  _absolutize(data) {
    for (const a of (data && data.attachments) || []) {
      if (a.url) a.url = new URL(a.url, this.endpoint + "/").href;
      if (a.previewUrl) a.previewUrl = new URL(a.previewUrl, this.endpoint + "/").href;
    }
  }

  _send(frame) {
    if (this._ws && this._ws.readyState === 1) this._ws.send(JSON.stringify(frame));
  }

  _ping() {
    this._pingSentAt = Date.now();
    this._send({ type: "ping" });
  }

  // The client pings after 2 × heartbeatSeconds of silence and gives up
  // on the socket when the pong does not come within a heartbeat (at most
  // 10 s): a half-open connection otherwise looks alive indefinitely.
  _startHeartbeat() {
    clearInterval(this._timers.heartbeat);
    this._lastHeard = Date.now();
    this._pingSentAt = 0;
    const hb = this._heartbeatMs;
    const pongWait = Math.min(hb, 10000);
    const ws = this._ws;
    this._timers.heartbeat = setInterval(() => {
      if (ws !== this._ws) return;
      const now = Date.now();
      if (this._pingSentAt && now - this._pingSentAt >= pongWait) {
        this._drop(4000);
        this._onClose(1006);
      } else if (!this._pingSentAt && now - this._lastHeard >= 2 * hb) {
        this._ping();
      }
    }, Math.max(100, Math.min(hb / 5, 5000)));
  }

  _clearTimers() {
    clearInterval(this._timers.heartbeat);
    clearTimeout(this._timers.reconnect);
  }

  async _onClose(code) {
    this._ws = null;
    this._clearTimers();
    if (this._stopped) return;
    if (this._readyAt && Date.now() - this._readyAt >= STABLE_MS) this._attempt = 0;
    this._readyAt = 0;
    const why = this._serverError ? `: ${this._serverError.message || this._serverError.code}` : "";
    if (code === 4400 || code === 1009) {
      // The client sent something the server will never accept; retrying
      // would only repeat it.
      return this._fail(new SwitchboardError(400, { error: { code: "ProtocolError", message: `the server closed the connection with ${code}${why}` } }));
    }
    if (code === 4401) {
      if (!this.onTokenExpiring) {
        return this._fail(new SwitchboardError(401, { error: { code: "InvalidToken", message: `the server refused the token${why}` } }));
      }
      this._setState(this._everReady ? "reconnecting" : "connecting");
      try {
        await this._refreshToken();
      } catch (e) {
        if (isFinal(e)) return this._fail(e);
        // Could not reach whoever issues tokens: keep trying, backing off.
      }
      if (this._stopped) return;
    }
    this._scheduleReconnect();
  }

  _fail(err) {
    this._stopped = true;
    clearTimeout(this._timers.refresh);
    this._setState("disconnected");
    this._emit("error", err);
  }

  _scheduleReconnect() {
    this._setState(this._everReady ? "reconnecting" : "connecting");
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(this._attempt, 10));
    this._attempt++;
    clearTimeout(this._timers.reconnect);
    this._timers.reconnect = setTimeout(() => this._open(), cap / 2 + Math.random() * (cap / 2));
  }

  // _refreshToken asks onTokenExpiring once however many callers need a
  // token at the same moment (the socket and several REST calls).
  _refreshToken() {
    if (!this.onTokenExpiring) return Promise.reject(new SwitchboardError(401, { error: { code: "InvalidToken", message: "no way to get a new token" } }));
    if (!this._refreshing) {
      this._refreshing = Promise.resolve()
        .then(() => this.onTokenExpiring())
        .then((token) => {
          this.updateToken(token);
          return token;
        })
        .finally(() => {
          this._refreshing = null;
        });
    }
    return this._refreshing;
  }

  // _scheduleRefresh renews the token a few minutes before it expires (or
  // halfway for short-lived ones) and hands it to the open socket with a
  // token frame, so a long conversation is never cut at expiry.
  _scheduleRefresh() {
    clearTimeout(this._timers.refresh);
    const exp = tokenExpiry(this.token);
    if (!this.onTokenExpiring || !exp || this._stopped) return;
    const left = exp - Date.now();
    const at = exp - Math.min(REFRESH_LEAD_MS, left / 2);
    const arm = () => {
      const wait = at - Date.now();
      if (wait > 0) {
        // Timers overflow past ~24.8 days; wake up and check again.
        this._timers.refresh = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
        return;
      }
      this._refreshToken().catch((e) => {
        if (isFinal(e) || this._stopped) return;
        const remaining = exp - Date.now();
        if (remaining > 2000) this._timers.refresh = setTimeout(arm, Math.max(1000, remaining / 4));
      });
    };
    arm();
  }

  /**
   * One REST call with the connection's token; a 401 gets one retry with
   * a fresh token. Returns the parsed JSON body (undefined when empty).
   * @throws {SwitchboardError}
   */
  async request(method, path, body, opts = {}) {
    const headers = { Authorization: `Bearer ${this.token}` };
    let payload;
    if (typeof Blob !== "undefined" && body instanceof Blob) {
      payload = body;
      headers["Content-Type"] = opts.contentType || body.type || "application/octet-stream";
    } else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
      payload = body;
      headers["Content-Type"] = opts.contentType || "application/octet-stream";
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = opts.merge ? "application/merge-patch+json" : "application/json";
    }
    const url = /^https?:/.test(path) ? path : this.endpoint + path;
    const res = await this.fetch(url, { method, headers, body: payload });
    if (res.status === 401 && this.onTokenExpiring && !opts.retried) {
      const stale = headers.Authorization;
      // Another call may have refreshed meanwhile; only ask if not.
      if (stale === `Bearer ${this.token}`) await this._refreshToken();
      return this.request(method, path, body, { ...opts, retried: true });
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) throw new SwitchboardError(res.status, json);
    return json;
  }

  /** Follows nextLink from path, yielding every item of every page. */
  async *pages(path, maxPages = Infinity) {
    let next = path;
    for (let i = 0; next && i < maxPages; i++) {
      const page = await this.request("GET", next);
      yield* (page && page.value) || [];
      next = (page && page.nextLink) || "";
    }
  }

  /** REST helpers for one thread. */
  thread(id) {
    return new ThreadClient(this, id);
  }

  /** The threads this identity is in, newest first (async iterable). */
  listThreads({ maxPageSize } = {}) {
    return this.pages(`/chat/threads?api-version=${CHAT_VERSION}` + (maxPageSize ? `&maxPageSize=${maxPageSize}` : ""));
  }
}

/** True when position a is after b (both decimal strings of any length). */
export function isAfter(a, b) {
  a = String(a).replace(/^0+(?=\d)/, "");
  b = String(b).replace(/^0+(?=\d)/, "");
  return a.length !== b.length ? a.length > b.length : a > b;
}

// tokenExpiry reads exp (ms) from a JWT without checking it: the server
// checks tokens; the client only needs to know when to renew.
function tokenExpiry(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part + "===".slice((part.length + 3) % 4))).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

// isFinal tells a refusal (the token source said no: asking again is
// pointless) from a failure to reach it (worth retrying).
function isFinal(e) {
  const s = e && e.status;
  return typeof s === "number" && s >= 400 && s < 500 && s !== 408 && s !== 429;
}
