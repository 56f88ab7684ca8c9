// Switchboard's native API as the desktop uses it: the login session is an
// HttpOnly cookie the browser sends by itself; every change carries the
// session's CSRF token (docs/contactcenter.md).
import { SwitchboardError } from "../client/index.js";

export const NATIVE_VERSION = "2026-11-01";

export class Api {
  /** @param {string} base the server's origin */
  constructor(base) {
    this.base = base;
    this.csrf = "";
    /** Called with the error when the session is gone (401). */
    this.onUnauthenticated = null;
  }

  /**
   * One call; returns the parsed JSON body (undefined when empty).
   * @throws {SwitchboardError}
   */
  async call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && method !== "HEAD" && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    const url = `${this.base}${path}${path.includes("?") ? "&" : "?"}api-version=${NATIVE_VERSION}`;
    const res = await fetch(url, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
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
    return json;
  }

  async login(tenant, username, password) {
    const r = await this.call("POST", "/auth/login", { tenant, username, password });
    this.csrf = r.csrfToken;
    return r;
  }

  /** The current login session, or null when there is none. */
  async session() {
    try {
      const r = await this.call("GET", "/auth/session");
      this.csrf = r.csrfToken;
      return r;
    } catch (e) {
      if (e.status === 401) return null;
      throw e;
    }
  }

  async logout() {
    try {
      await this.call("POST", "/auth/logout");
    } finally {
      this.csrf = "";
    }
  }

  agentSession() {
    return this.call("POST", "/agent/session");
  }

  setPresence(status, reasonCode) {
    return this.call("PUT", "/agent/presence", reasonCode ? { status, reasonCode } : { status });
  }

  /**
   * The tenant's staff with their router presence (available, away, busy,
   * break, offline), for transfers: [{id, displayName, role, presence}].
   */
  async colleagues() {
    return ((await this.call("GET", "/agent/colleagues")) || {}).value || [];
  }

  /** The tenant's queues: [{id, name}]. */
  async queues() {
    return ((await this.call("GET", "/agent/queues")) || {}).value || [];
  }

  async offers() {
    return ((await this.call("GET", "/agent/offers")) || {}).value || [];
  }

  accept(offerId) {
    return this.call("POST", `/agent/offers/${encodeURIComponent(offerId)}:accept`);
  }

  decline(offerId) {
    return this.call("POST", `/agent/offers/${encodeURIComponent(offerId)}:decline`);
  }

  async engagements() {
    return ((await this.call("GET", "/agent/engagements")) || {}).value || [];
  }

  engagement(id) {
    return this.call("GET", `/engagements/${encodeURIComponent(id)}`);
  }

  end(id) {
    return this.call("POST", `/engagements/${encodeURIComponent(id)}:end`);
  }

  wrapUp(id, dispositionCode, notes) {
    return this.call("POST", `/engagements/${encodeURIComponent(id)}:wrapUp`, { dispositionCode, notes });
  }

  /** The conversation as the customer sees it (also after the agent left). */
  async transcript(id) {
    return ((await this.call("GET", `/engagements/${encodeURIComponent(id)}/messages`)) || {}).value || [];
  }

  /** The customer's other conversations, newest first. */
  async history(id) {
    return ((await this.call("GET", `/engagements/${encodeURIComponent(id)}/history`)) || {}).value || [];
  }

  /** Private notes and supervisors' whispers (staff only), newest first. */
  async notes(id) {
    return ((await this.call("GET", `/engagements/${encodeURIComponent(id)}/notes`)) || {}).value || [];
  }

  addNote(id, content) {
    return this.call("POST", `/engagements/${encodeURIComponent(id)}/notes`, { content });
  }

  /** Moves the conversation to a queue ({queueId}) or a colleague ({agentId}). */
  transfer(id, target) {
    return this.call("POST", `/engagements/${encodeURIComponent(id)}:transfer`, target);
  }

  contact(id) {
    return this.call("GET", `/contacts/${encodeURIComponent(id)}`);
  }

  /**
   * The tenant's desk settings: cannedResponses, dispositionCodes and
   * breakReasons (codes with labels per language).
   */
  deskSettings() {
    return this.call("GET", "/desk/settings");
  }
}
