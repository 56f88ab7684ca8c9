// The visitor's session: the public web chat endpoints and what the widget
// remembers between page loads (localStorage, one record per tenant).

const NATIVE = "api-version=2026-11-01";
// A stored token is reused on reload only if it has this long to live, so
// a reload spends none of the session endpoint's per-address budget.
const REUSE_MS = 10 * 60 * 1000;

/**
 * @typedef {object} Saved
 * @property {string} resumeKey  the secret that brings back this visitor's conversation
 * @property {string} token      the current access token
 * @property {string} expiresOn
 * @property {string} threadId
 * @property {string} me          the visitor's rawId
 * @property {string} position    the last real-time position processed
 * @property {string} name        the visitor's display name
 * @property {string} visitor     a fingerprint of the visitor token the session came from ("" if anonymous)
 */

export class SessionStore {
  constructor(endpoint, tenant) {
    this.endpoint = endpoint;
    this.tenant = tenant;
    this.key = `switchboard:${tenant}`;
  }

  /** @returns {Saved | null} */
  load() {
    try {
      const s = JSON.parse(localStorage.getItem(this.key) || "null");
      return s && typeof s === "object" && s.resumeKey ? s : null;
    } catch {
      return null;
    }
  }

  save(patch) {
    try {
      localStorage.setItem(this.key, JSON.stringify({ ...(this.load() || {}), ...patch }));
    } catch {
      /* storage full or blocked: the chat still works on this page */
    }
  }

  clear() {
    try {
      localStorage.removeItem(this.key);
    } catch {
      /* nothing to forget */
    }
  }

  /** True when the saved token can be used without asking for a new one. */
  tokenFresh(s) {
    return !!(s && s.token && s.threadId && s.me && Date.parse(s.expiresOn) - Date.now() > REUSE_MS);
  }

  async api(method, path, body) {
    const res = await fetch(`${this.endpoint}${path}`, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = (json && json.error) || {};
      throw Object.assign(new Error(e.message || `HTTP ${res.status}`), { status: res.status, code: e.code, error: e });
    }
    return json;
  }

  config() {
    return this.api("GET", `/webchat/${encodeURIComponent(this.tenant)}/config?${NATIVE}`);
  }

  /**
   * Starts or resumes a session and remembers it. A position is kept only
   * while the thread stays the same.
   */
  async start(req) {
    const s = await this.api("POST", `/webchat/${encodeURIComponent(this.tenant)}/sessions?${NATIVE}`, req);
    const prev = this.load() || {};
    const same = prev.threadId === s.threadId && prev.me === s.identity.rawId;
    const saved = {
      resumeKey: s.resumeKey, token: s.token, expiresOn: s.expiresOn, threadId: s.threadId, me: s.identity.rawId,
      position: same ? prev.position || "" : "",
      name: req.displayName || (same ? prev.name : "") || "",
      visitor: req.visitorToken ? fingerprint(req.visitorToken) : same ? prev.visitor || "" : "",
    };
    if (!req.resumeKey) this.clear();
    this.save(saved);
    return saved;
  }
}

// fingerprint tells whether a page carries the same visitor token as the
// one a stored session came from, without storing the token itself. Not a
// secret-keeping hash: the token is in the page anyway.
export function fingerprint(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36) + ":" + s.length;
}
