// The chat REST calls, as the ACS chat API shapes them (api-version
// 2025-03-15), plus Switchboard's native attachment upload.

export const CHAT_VERSION = "2025-03-15";
export const NATIVE_VERSION = "2026-11-01";

/**
 * An API error: `status` is the HTTP status, `error` the ACS error object
 * (`{code, message, target?, details?}`) when the server sent one.
 */
export class SwitchboardError extends Error {
  /**
   * @param {number} status
   * @param {{error?: {code?: string, message?: string, target?: string}}} [body]
   */
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.name = "SwitchboardError";
    this.status = status;
    this.code = e.code;
    this.error = body && body.error ? body.error : { code: String(status), message: this.message };
  }
}

/**
 * @typedef {{rawId: string, communicationUser?: {id: string}, phoneNumber?: {value: string}}} Identifier
 * @typedef {{id: string, attachmentType: "image"|"file", name: string, contentType?: string, size?: number, url: string, previewUrl?: string}} Attachment
 */

/** REST helpers for one thread; get one from ChatConnection.thread(id). */
export class ThreadClient {
  /** @param {import("./index.js").ChatConnection} conn */
  constructor(conn, id) {
    this.conn = conn;
    this.id = id;
    this.base = `/chat/threads/${encodeURIComponent(id)}`;
  }

  _path(rest = "", version = CHAT_VERSION) {
    return `${this.base}${rest}?api-version=${version}`;
  }

  getProperties() {
    return this.conn.request("GET", this._path());
  }

  /**
   * @param {{content?: string, type?: "text"|"html", metadata?: Record<string,string>, senderDisplayName?: string, attachments?: {id: string}[]}} msg
   * @returns {Promise<{id: string}>}
   */
  sendMessage({ content = "", type = "text", metadata, senderDisplayName, attachments } = {}) {
    const body = { content, type };
    if (senderDisplayName) body.senderDisplayName = senderDisplayName;
    if (attachments && attachments.length) {
      body.metadata = metadata || {};
      body.attachments = attachments.map((a) => ({ id: a.id }));
    } else if (metadata) {
      body.metadata = metadata;
    }
    return this.conn.request("POST", this._path("/messages"), body);
  }

  /**
   * Messages newest first, following nextLink (up to maxPages pages).
   * @returns {Promise<object[]>}
   */
  async listMessages({ maxPageSize = 50, startTime, maxPages = Infinity } = {}) {
    let path = this._path("/messages") + `&maxPageSize=${maxPageSize}`;
    if (startTime) path += `&startTime=${encodeURIComponent(new Date(startTime).toISOString())}`;
    return collect(this.conn.pages(path, maxPages));
  }

  getMessage(id) {
    return this.conn.request("GET", this._path(`/messages/${encodeURIComponent(id)}`));
  }

  /** @param {{content?: string, metadata?: Record<string,string>}} patch */
  updateMessage(id, patch) {
    return this.conn.request("PATCH", this._path(`/messages/${encodeURIComponent(id)}`), patch, { merge: true });
  }

  deleteMessage(id) {
    return this.conn.request("DELETE", this._path(`/messages/${encodeURIComponent(id)}`));
  }

  sendTypingNotification({ senderDisplayName } = {}) {
    return this.conn.request("POST", this._path("/typing"), senderDisplayName ? { senderDisplayName } : {});
  }

  sendReadReceipt(chatMessageId) {
    return this.conn.request("POST", this._path("/readReceipts"), { chatMessageId });
  }

  listReadReceipts() {
    return collect(this.conn.pages(this._path("/readReceipts")));
  }

  listParticipants() {
    return collect(this.conn.pages(this._path("/participants")));
  }

  /** @param {{communicationIdentifier: Identifier, displayName?: string, shareHistoryTime?: string}[]} participants */
  addParticipants(participants) {
    return this.conn.request("POST", this._path("/participants/:add"), { participants });
  }

  /** @param {Identifier} identifier */
  removeParticipant(identifier) {
    return this.conn.request("POST", this._path("/participants/:remove"), identifier);
  }

  /**
   * Uploads a File or Blob (send it with sendMessage({attachments: [it]})).
   * The tenant's type and size limits apply: 415 and 413 otherwise.
   * @returns {Promise<Attachment>}
   */
  uploadAttachment(file, name = file.name || "file") {
    const path = `${this.base}/attachments?api-version=${NATIVE_VERSION}&name=${encodeURIComponent(name)}`;
    return this.conn.request("POST", path, file, { contentType: file.type || undefined });
  }
}

async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}
