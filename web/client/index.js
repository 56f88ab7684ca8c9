// Switchboard browser client: the real-time channel (docs/realtime.md) and
// the chat REST calls a browser needs. No dependencies; used by the widget
// and the agent desktop, and published for customers' own apps.

const CHAT_VERSION = "2025-03-15";
const NATIVE_VERSION = "2026-11-01";
const PROTOCOL = "switchboard.v1";

/** An API error with the HTTP status and the ACS error body. */
export class SwitchboardError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.name = "SwitchboardError";
    this.status = status;
    this.code = e.code;
    this.target = e.target;
  }
}

/**
 * One client's connection: a WebSocket that reconnects and resumes by
 * itself, plus REST helpers with the same token.
 *
 * @param {object} opts
 * @param {string} opts.endpoint  base URL, e.g. "https://switchboard.example.com"
 * @param {string} opts.token     an ACS user access token (chat scope)
 * @param {() => Promise<string>} [opts.onTokenExpiring] returns a fresh token
 * @param {string} [opts.resumeFrom] a position saved from an earlier session
 * @param {typeof WebSocket} [opts.WebSocket] for non-browser runtimes
 */
export class ChatConnection {
  constructor(opts) {
    this.endpoint = String(opts.endpoint).replace(/\/+$/, "");
    this.token = opts.token;
    this.onTokenExpiring = opts.onTokenExpiring;
    this.position = opts.resumeFrom || "";
    this.WS = opts.WebSocket || globalThis.WebSocket;
    this.state = "disconnected";
    this.handlers = new Map();
    this.attempt = 0;
    this.closedByUser = false;
    this.ws = null;
    this.heartbeatMs = 25000;
    this.lastHeard = 0;
    this.timers = {};
  }

  /** Subscribe to an event name (ACS client events, plus connectionStateChanged, resync, ready). */
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.off(name, fn);
  }

  off(name, fn) {
    const set = this.handlers.get(name);
    if (set) set.delete(fn);
  }

  emit(name, data) {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(data);
      } catch (e) {
        setTimeout(() => { throw e; });
      }
    }
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.emit("connectionStateChanged", s);
  }

  /** Opens the channel; resolves once the server says ready. */
  connect() {
    this.closedByUser = false;
    return new Promise((resolve, reject) => {
      let settled = false;
      const offReady = this.on("ready", () => {
        offReady();
        offFatal();
        settled = true;
        resolve();
      });
      const offFatal = this.on("fatal", (err) => {
        offReady();
        offFatal();
        if (!settled) reject(err);
      });
      this.open();
    });
  }

  /** Closes for good (no reconnect). */
  close() {
    this.closedByUser = true;
    this.clearTimers();
    if (this.ws) this.ws.close(1000);
    this.setState("disconnected");
  }

  wsURL() {
    return this.endpoint.replace(/^http/, "ws") + "/realtime";
  }

  open() {
    this.clearTimers();
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new this.WS(this.wsURL(), PROTOCOL);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const hello = { type: "hello", token: this.token };
      if (this.position) hello.resume = this.position;
      ws.send(JSON.stringify(hello));
      this.lastHeard = Date.now();
    };
    ws.onmessage = (m) => this.onFrame(m.data);
    ws.onclose = (e) => this.onClose(e.code, ws);
    ws.onerror = () => {};
  }

  onFrame(raw) {
    this.lastHeard = Date.now();
    let f;
    try {
      f = JSON.parse(raw);
    } catch {
      return;
    }
    switch (f.type) {
      case "ready":
        this.attempt = 0;
        if (!this.position || BigInt(f.position) > BigInt(this.position)) this.position = f.position;
        this.heartbeatMs = (f.heartbeatSeconds || 25) * 1000;
        this.identity = f.identity;
        this.setState("connected");
        this.startHeartbeat();
        this.emit("ready", f);
        break;
      case "event":
        // Positions only grow: anything at or below the last one processed
        // was already handled (a resume can overlap live delivery).
        if (f.position) {
          if (this.position && BigInt(f.position) <= BigInt(this.position)) return;
          this.position = f.position;
        }
        this.absolutize(f.data);
        this.emit(f.name, f.data);
        this.emit("position", this.position);
        break;
      case "resyncRequired":
        this.emit("resync");
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      default:
        break;
    }
  }

  // Attachment links in events are relative to the server (it cannot know
  // which of its names a client used); resolve them against the endpoint.
  absolutize(data) {
    for (const a of (data && data.attachments) || []) {
      if (a.url && a.url.startsWith("/")) a.url = this.endpoint + a.url;
      if (a.previewUrl && a.previewUrl.startsWith("/")) a.previewUrl = this.endpoint + a.previewUrl;
    }
  }

  send(frame) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  startHeartbeat() {
    clearInterval(this.timers.heartbeat);
    this.timers.heartbeat = setInterval(() => {
      const silent = Date.now() - this.lastHeard;
      if (silent > 3 * this.heartbeatMs) {
        // Nothing heard for too long, not even the answer to our ping.
        if (this.ws) this.ws.close();
        return;
      }
      if (silent > 2 * this.heartbeatMs) this.send({ type: "ping" });
    }, Math.min(5000, this.heartbeatMs));
  }

  clearTimers() {
    clearInterval(this.timers.heartbeat);
    clearTimeout(this.timers.reconnect);
  }

  async onClose(code, ws) {
    if (ws !== this.ws) return;
    this.clearTimers();
    if (this.closedByUser) return;
    if (code === 4400 || code === 1009) {
      this.setState("disconnected");
      this.emit("fatal", new SwitchboardError(400, { error: { code: "ProtocolError", message: `closed with ${code}` } }));
      return;
    }
    if (code === 4401) {
      if (!this.onTokenExpiring) {
        this.setState("disconnected");
        this.emit("fatal", new SwitchboardError(401, { error: { code: "InvalidToken", message: "the token was refused" } }));
        return;
      }
      try {
        this.token = await this.onTokenExpiring();
      } catch (e) {
        this.setState("disconnected");
        this.emit("fatal", e);
        return;
      }
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    this.setState("reconnecting");
    const base = Math.min(30000, 500 * 2 ** Math.min(this.attempt, 6));
    this.attempt++;
    this.timers.reconnect = setTimeout(() => this.open(), base / 2 + Math.random() * base / 2);
  }

  /** Reconnects now (e.g. when the browser says it is back online). */
  reconnectNow() {
    if (this.closedByUser) return;
    if (this.ws && this.ws.readyState <= 1 && this.state === "connected") return;
    this.attempt = 0;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.onclose = null;
      old.close();
    }
    this.open();
  }

  /** Replaces the token on the open socket and for REST calls. */
  updateToken(token) {
    this.token = token;
    this.send({ type: "token", token });
  }

  async request(method, path, body, opts = {}) {
    const headers = { Authorization: `Bearer ${this.token}` };
    let payload;
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      payload = body;
      headers["Content-Type"] = opts.contentType || (body.type || "application/octet-stream");
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = opts.merge ? "application/merge-patch+json" : "application/json";
    }
    const url = /^https?:/.test(path) ? path : this.endpoint + path;
    let res = await fetch(url, { method, headers, body: payload });
    if (res.status === 401 && this.onTokenExpiring && !opts.retried) {
      this.updateToken(await this.onTokenExpiring());
      return this.request(method, path, body, { ...opts, retried: true });
    }
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new SwitchboardError(res.status, json);
    return json;
  }

  /** REST helpers for one thread. */
  thread(id) {
    return new ThreadClient(this, id);
  }

  async *listThreads({ maxPageSize } = {}) {
    let next = `/chat/threads?api-version=${CHAT_VERSION}` + (maxPageSize ? `&maxPageSize=${maxPageSize}` : "");
    while (next) {
      const page = await this.request("GET", next);
      yield* page.value;
      next = page.nextLink || "";
    }
  }
}

export class ThreadClient {
  constructor(conn, id) {
    this.conn = conn;
    this.id = id;
    this.base = `/chat/threads/${encodeURIComponent(id)}`;
  }

  path(rest, version = CHAT_VERSION) {
    return `${this.base}${rest}?api-version=${version}`;
  }

  getProperties() {
    return this.conn.request("GET", this.path(""));
  }

  /** @returns {Promise<{id: string}>} */
  sendMessage({ content = "", type = "text", metadata, senderDisplayName, attachments } = {}) {
    const body = { content, type };
    if (metadata) body.metadata = metadata;
    if (senderDisplayName) body.senderDisplayName = senderDisplayName;
    if (attachments && attachments.length) body.attachments = attachments.map((a) => ({ id: a.id }));
    return this.conn.request("POST", this.path("/messages"), body);
  }

  /** Pages newest first; follows nextLink. */
  async listMessages({ maxPageSize = 50, startTime, pages = Infinity } = {}) {
    let next = this.path("/messages") + `&maxPageSize=${maxPageSize}` + (startTime ? `&startTime=${encodeURIComponent(new Date(startTime).toISOString())}` : "");
    const out = [];
    for (let i = 0; next && i < pages; i++) {
      const page = await this.conn.request("GET", next);
      out.push(...page.value);
      next = page.nextLink || "";
    }
    return out;
  }

  getMessage(id) {
    return this.conn.request("GET", this.path(`/messages/${id}`));
  }

  updateMessage(id, patch) {
    return this.conn.request("PATCH", this.path(`/messages/${id}`), patch, { merge: true });
  }

  deleteMessage(id) {
    return this.conn.request("DELETE", this.path(`/messages/${id}`));
  }

  sendTypingNotification({ senderDisplayName } = {}) {
    return this.conn.request("POST", this.path("/typing"), senderDisplayName ? { senderDisplayName } : {});
  }

  sendReadReceipt(chatMessageId) {
    return this.conn.request("POST", this.path("/readReceipts"), { chatMessageId });
  }

  async listReadReceipts() {
    return (await this.conn.request("GET", this.path("/readReceipts"))).value;
  }

  async listParticipants() {
    return (await this.conn.request("GET", this.path("/participants"))).value;
  }

  /** Uploads a File/Blob; the tenant's type and size limits apply. */
  uploadAttachment(file, name = file.name || "file") {
    const p = `${this.base}/attachments?api-version=${NATIVE_VERSION}&name=${encodeURIComponent(name)}`;
    return this.conn.request("POST", p, file, { contentType: file.type });
  }
}
