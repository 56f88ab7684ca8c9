// The native API as the console and the admin pages use it, the way the
// agent desktop does (web/desk/api.js): the login session is an HttpOnly
// cookie the browser sends by itself, and every change carries the
// session's CSRF token (docs/contactcenter.md). Its own small class
// rather than the desktop's, so that each page's bundle changes only with
// its own code.
import { SwitchboardError } from "../client/index.js";

export const NATIVE_VERSION = "2026-11-01";
const ROUTER_VERSION = "2023-11-01";
const enc = encodeURIComponent;

export class ConsoleApi {
  /** @param {string} base the server's origin */
  constructor(base) {
    this.base = base;
    this.csrf = "";
    /** Called with the error when the session is gone (401). */
    this.onUnauthenticated = null;
  }

  /**
   * One call with any body type. Returns the parsed JSON (or the text
   * when asText), and the response's headers.
   * @throws {SwitchboardError}
   */
  async send(method, path, { body, type = "application/json", asText = false, headers = {}, keepalive = false } = {}) {
    const h = { Accept: asText ? "*/*" : "application/json", ...headers };
    if (body !== undefined) h["Content-Type"] = type;
    if (method !== "GET" && method !== "HEAD" && this.csrf) h["X-CSRF-Token"] = this.csrf;
    const url = /[?&]api-version=/.test(path) ? path : `${path}${path.includes("?") ? "&" : "?"}api-version=${NATIVE_VERSION}`;
    const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
    const res = await fetch(/^https?:/.test(url) ? url : this.base + url, { method, headers: h, credentials: "same-origin", body: payload, keepalive });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = new SwitchboardError(res.status, json);
      if (res.status === 401 && this.onUnauthenticated && !path.startsWith("/auth/")) this.onUnauthenticated(err);
      throw err;
    }
    return { data: asText ? text : json, headers: res.headers };
  }

  async json(method, path, body) {
    return (await this.send(method, path, { body })).data;
  }

  // ---- the login session ----

  async login(tenant, username, password) {
    const r = await this.json("POST", "/auth/login", { tenant, username, password });
    this.csrf = r.csrfToken;
    return r;
  }

  /** The current login session, or null when there is none. */
  async session() {
    try {
      const r = await this.json("GET", "/auth/session");
      this.csrf = r.csrfToken;
      return r;
    } catch (e) {
      if (e.status === 401) return null;
      throw e;
    }
  }

  async logout() {
    try {
      await this.json("POST", "/auth/logout");
    } finally {
      this.csrf = "";
    }
  }

  /** A chat token for the person's identity: {identity, token, …}. */
  agentSession() {
    return this.json("POST", "/agent/session");
  }

  /** Every item of a paged list, following nextLink. */
  async list(path) {
    const out = [];
    for (let next = path, i = 0; next && i < 50; i++) {
      const page = (await this.json("GET", next)) || {};
      out.push(...(page.value || []));
      next = page.nextLink || "";
    }
    return out;
  }

  // ---- supervisor ----

  wallboard() {
    return this.json("GET", "/wallboard");
  }

  /** The tenant's engagements in these states, newest first. */
  engagementsIn(states) {
    return this.list(`/engagements?${states.map((s) => `state=${enc(s)}`).join("&")}`);
  }

  async transcript(id) {
    return ((await this.json("GET", `/engagements/${enc(id)}/messages`)) || {}).value || [];
  }

  async notes(id) {
    return ((await this.json("GET", `/engagements/${enc(id)}/notes`)) || {}).value || [];
  }

  addNote(id, content) {
    return this.json("POST", `/engagements/${enc(id)}/notes`, { content });
  }

  /** Starts or stops watching; keepalive lets the stop outlive the page. */
  monitor(id, on, keepalive = false) {
    return this.send("POST", `/engagements/${enc(id)}:${on ? "monitor" : "unmonitor"}`, { keepalive }).then((r) => r.data);
  }

  barge(id) {
    return this.json("POST", `/engagements/${enc(id)}:barge`);
  }

  transfer(id, to) {
    return this.json("POST", `/engagements/${enc(id)}:transfer`, to);
  }

  contact(id) {
    return this.json("GET", `/contacts/${enc(id)}`);
  }

  users() {
    return this.list("/users?maxpagesize=100");
  }

  // ---- admin ----

  createUser(u) {
    return this.json("POST", "/users", u);
  }

  patchUser(id, patch) {
    return this.send("PATCH", `/users/${enc(id)}`, { body: patch, type: "application/merge-patch+json" }).then((r) => r.data);
  }

  async bots() {
    return ((await this.json("GET", "/bots")) || {}).value || [];
  }

  patchBot(id, patch, etag) {
    return this.send("PATCH", `/bots/${enc(id)}`, { body: patch, headers: etag ? { "If-Match": etag } : {} }).then((r) => r.data);
  }

  /** The running flow: {source, version}. */
  async flow(id) {
    const r = await this.send("GET", `/bots/${enc(id)}/flow`, { asText: true });
    return { source: r.data, version: Number(r.headers.get("Flow-Version")) || 0 };
  }

  putFlow(id, source) {
    return this.send("PUT", `/bots/${enc(id)}/flow`, { body: source, type: "application/yaml" }).then((r) => r.data);
  }

  /** A Job Router configuration list: queues, workers, distributionPolicies. */
  router(kind) {
    return this.list(`/routing/${kind}?api-version=${ROUTER_VERSION}&maxpagesize=100`);
  }

  /** Creates or changes a queue or worker (RFC 7396 merge patch). */
  patchRouter(kind, id, patch) {
    return this.send("PATCH", `/routing/${kind}/${enc(id)}?api-version=${ROUTER_VERSION}`, { body: patch, type: "application/merge-patch+json" }).then((r) => r.data);
  }

  webchatSettings() {
    return this.json("GET", "/webchat/settings");
  }

  putWebchatSettings(s) {
    return this.json("PUT", "/webchat/settings", s);
  }

  deskSettings() {
    return this.json("GET", "/desk/settings");
  }

  putDeskSettings(s) {
    return this.json("PUT", "/desk/settings", s);
  }
}
