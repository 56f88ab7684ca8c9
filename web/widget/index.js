// The Switchboard web chat widget: <script src=".../widget.js"
// data-tenant="demo" async></script> on any page. See docs/webchat.md.
import { ChatConnection } from "../client/index.js";
import { bytes, el, format, safeHTML } from "./render.js";
import { css } from "./style.js";
import en from "./i18n/en.json";
import id from "./i18n/id.json";

// Adding a language is adding its catalogue here.
const catalogues = { en, id };
const NATIVE = "api-version=2026-11-01";
const HISTORY_PAGES = 4;

const script = document.currentScript;

function pickLocale(wanted) {
  for (const l of [wanted, ...(navigator.languages || [navigator.language])]) {
    const short = String(l || "").toLowerCase().split(/[-_]/)[0];
    if (catalogues[short]) return short;
  }
  return "en";
}

class Widget {
  constructor(opts) {
    this.endpoint = opts.endpoint;
    this.tenant = opts.tenant;
    this.locale = pickLocale(opts.locale);
    this.t = (k, vars) => format(catalogues[this.locale][k] || en[k] || k, vars);
    this.visitorToken = opts.visitorToken || "";
    this.storeKey = `switchboard:${this.tenant}`;
    this.rendered = new Map(); // message id → element
    this.names = new Map(); // rawId → display name
    this.typingTimer = 0;
    this.lastTypingSent = 0;
    this.pending = [];
  }

  text(map) {
    if (!map) return "";
    return map[this.locale] || map.en || Object.values(map)[0] || "";
  }

  saved() {
    try {
      return JSON.parse(localStorage.getItem(this.storeKey) || "null");
    } catch {
      return null;
    }
  }

  save(patch) {
    const next = { ...(this.saved() || {}), ...patch };
    try {
      localStorage.setItem(this.storeKey, JSON.stringify(next));
    } catch {
      /* storage full or blocked: the chat still works for this page */
    }
  }

  async api(method, path, body) {
    const res = await fetch(`${this.endpoint}${path}`, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error((json.error && json.error.message) || res.status), { status: res.status, body: json });
    return json;
  }

  async start() {
    this.config = await this.api("GET", `/webchat/${encodeURIComponent(this.tenant)}/config?${NATIVE}`);
    this.build();
    const s = this.saved();
    if ((s && s.resumeKey) || this.visitorToken) {
      try {
        await this.session({ resumeKey: s && s.resumeKey, visitorToken: this.visitorToken });
      } catch {
        this.save({ resumeKey: "", threadId: "", position: "" });
      }
    }
  }

  build() {
    const c = this.config;
    this.host = el("div", { id: "switchboard-webchat" });
    const root = this.host.attachShadow({ mode: "open" });
    root.append(el("style", { text: css }));
    this.host.style.setProperty("--sb-primary", c.colors.primary);
    this.host.style.setProperty("--sb-bg", c.colors.background);
    this.host.style.setProperty("--sb-text", c.colors.text);

    this.launcher = el("button", { class: "launcher", type: "button", "aria-label": this.t("openChat"), "aria-expanded": "false",
      onclick: () => (this.panel.hidden ? this.open() : this.close()) });
    this.launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M4 4h16v12H7l-3 3z"/></svg>';
    const title = this.t("chatWith", { name: c.name });
    this.panel = el("div", { class: "panel", role: "dialog", "aria-label": title, hidden: true,
      onkeydown: (e) => { if (e.key === "Escape") this.close(); } });
    this.status = el("div", { class: "status", role: "status", hidden: true });
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": this.t("messages"), tabindex: "0" });
    this.typing = el("div", { class: "typing", "aria-live": "polite" });
    this.body = el("div", { style: "display:flex;flex-direction:column;flex:1;min-height:0" });
    this.panel.append(
      el("header", {}, el("h2", { text: title }),
        el("button", { type: "button", "aria-label": this.t("closeChat"), text: "×", onclick: () => this.close() })),
      this.status, this.body);
    root.append(this.launcher, this.panel);
    document.body.append(this.host);
    if (!c.open && c.businessHours) this.showStatus(this.text(c.businessHours.closedMessage));
    this.showPrechat();
    addEventListener("online", () => this.conn && this.conn.reconnectNow());
    addEventListener("offline", () => this.showStatus(this.t("offline")));
  }

  showStatus(msg) {
    this.status.textContent = msg || "";
    this.status.hidden = !msg;
  }

  open() {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    const first = this.panel.querySelector("textarea, input:not([type=file])");
    (first || this.panel.querySelector("button")).focus();
    this.markRead();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  }

  showPrechat() {
    if (this.conn) return;
    const c = this.config;
    const error = el("p", { class: "error", role: "alert" });
    const inputs = [];
    const form = el("form", { class: "prechat", novalidate: true });
    form.append(el("p", { class: "msg greeting", text: this.text(c.greeting) }));
    for (const f of c.preChatFields || []) {
      const label = this.text(f.label) || f.name;
      const input = f.type === "textarea"
        ? el("textarea", { name: f.name, rows: "3", required: f.required })
        : el("input", { name: f.name, type: f.type, required: f.required, autocomplete: f.type === "email" ? "email" : f.name === "name" ? "name" : "on" });
      inputs.push({ f, input, label });
      form.append(el("label", {}, document.createTextNode(label + (f.required ? " *" : "")), input));
    }
    form.append(error, el("button", { class: "primary", type: "submit", text: this.t("startChat") }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const fields = {};
      for (const { f, input, label } of inputs) {
        const v = input.value.trim();
        if (f.required && !v) return this.fieldError(error, input, this.t("required", { field: label }));
        if (f.type === "email" && v && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return this.fieldError(error, input, this.t("invalidEmail", { field: label }));
        if (v) fields[f.name] = v;
      }
      try {
        await this.session({ displayName: fields.name || "", fields });
      } catch (err) {
        error.textContent = (err.body && err.body.error && err.body.error.message) || this.t("sessionFailed");
      }
    });
    this.body.replaceChildren(form);
  }

  fieldError(box, input, msg) {
    box.textContent = msg;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  async session(req) {
    const s = await this.api("POST", `/webchat/${encodeURIComponent(this.tenant)}/sessions?${NATIVE}`, { ...req, locale: this.locale });
    const prev = this.saved() || {};
    const sameThread = prev.threadId === s.threadId;
    this.save({ resumeKey: s.resumeKey, threadId: s.threadId, position: sameThread ? prev.position || "" : "", name: req.displayName || prev.name || "" });
    this.me = s.identity.rawId;
    this.threadId = s.threadId;
    await this.startChat(s.token, sameThread ? prev.position : "");
  }

  async refreshToken() {
    const s = await this.api("POST", `/webchat/${encodeURIComponent(this.tenant)}/sessions?${NATIVE}`, { resumeKey: this.saved().resumeKey });
    return s.token;
  }

  async startChat(token, position) {
    this.buildChat();
    this.conn = new ChatConnection({ endpoint: this.endpoint, token, resumeFrom: position, onTokenExpiring: () => this.refreshToken() });
    this.thread = this.conn.thread(this.threadId);
    this.conn.on("connectionStateChanged", (st) => {
      if (st === "connected") this.showStatus(navigator.onLine === false ? this.t("offline") : "");
      else if (st === "reconnecting") this.showStatus(this.t("reconnecting"));
      else if (st === "connecting") this.showStatus(this.t("connecting"));
    });
    this.conn.on("position", (p) => this.save({ position: p }));
    this.conn.on("chatMessageReceived", (m) => m.threadId === this.threadId && this.addMessage(m));
    this.conn.on("chatMessageEdited", (m) => m.threadId === this.threadId && this.addMessage(m, true));
    this.conn.on("chatMessageDeleted", (m) => m.threadId === this.threadId && this.addMessage({ ...m, deletedOn: m.deletedOn || true }, true));
    this.conn.on("typingIndicatorReceived", (t) => t.threadId === this.threadId && this.showTyping(t));
    this.conn.on("readReceiptReceived", (r) => r.threadId === this.threadId && this.showSeen(r));
    this.conn.on("participantsAdded", (e) => e.threadId === this.threadId && (e.participantsAdded || []).forEach((p) => this.sys("joined", p, e.version)));
    this.conn.on("participantsRemoved", (e) => e.threadId === this.threadId && (e.participantsRemoved || []).forEach((p) => this.sys("left", p, e.version)));
    this.conn.on("resync", () => this.loadHistory());
    // Live first, then history: a message committed while the history loads
    // arrives live (and one in both is recognised by its id), so none falls
    // in between. The log is kept in message order either way.
    await this.conn.connect().catch(() => this.showStatus(this.t("sessionFailed")));
    await this.loadHistory();
  }

  buildChat() {
    const ta = el("textarea", { id: "sb-message", rows: "1", placeholder: this.t("placeholder"), "aria-label": this.t("messageLabel") });
    ta.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    ta.addEventListener("input", () => this.typed());
    this.textarea = ta;
    this.fileInput = el("input", { type: "file", class: "sr", tabindex: "-1", "aria-hidden": "true",
      accept: (this.config.uploads.types || []).join(","), onchange: () => this.upload() });
    this.uploadError = el("p", { class: "error", role: "alert", style: "margin:0 8px" });
    const composer = el("div", { class: "composer" },
      el("button", { type: "button", class: "icon", "aria-label": this.t("attach"), text: "📎", onclick: () => this.fileInput.click() }),
      ta, this.fileInput,
      el("button", { type: "button", class: "primary", text: this.t("send"), onclick: () => this.send() }));
    this.body.replaceChildren(this.log, this.typing, this.uploadError, composer);
    this.log.replaceChildren(el("p", { class: "msg greeting", text: this.text(this.config.greeting) }));
    if (!this.panel.hidden) ta.focus();
  }

  async loadHistory() {
    const msgs = await this.thread.listMessages({ maxPageSize: 50, pages: HISTORY_PAGES });
    msgs.reverse();
    for (const m of msgs) {
      if (m.type === "text" || m.type === "html") {
        this.addMessage({ id: m.id, type: m.type, message: m.content && m.content.message, attachments: m.content && m.content.attachments,
          sender: m.senderCommunicationIdentifier, senderDisplayName: m.senderDisplayName, deletedOn: m.deletedOn }, true);
      } else if ((m.type === "participantAdded" || m.type === "participantRemoved") && !this.rendered.has(m.id)) {
        for (const p of (m.content && m.content.participants) || []) {
          this.sys(m.type === "participantAdded" ? "joined" : "left", { id: p.communicationIdentifier, displayName: p.displayName }, m.id);
        }
        this.rendered.set(m.id, null);
      }
    }
    this.sortLog();
    const receipts = await this.thread.listReadReceipts().catch(() => []);
    for (const r of receipts) this.showSeen({ sender: r.senderCommunicationIdentifier, chatMessageId: r.chatMessageId });
  }

  isMine(sender) {
    return sender && sender.rawId === this.me;
  }

  addMessage(m, replace = false) {
    const existing = this.rendered.get(m.id);
    if (existing && !replace) return;
    const mine = this.isMine(m.sender);
    if (!mine && m.senderDisplayName && m.sender) this.names.set(m.sender.rawId, m.senderDisplayName);
    const box = el("div", { class: mine ? "msg mine" : "msg", "data-id": m.id, "data-order": m.id });
    box.append(el("span", { class: "who", text: mine ? this.t("you") : m.senderDisplayName || this.t("agent") }));
    if (m.deletedOn) {
      box.append(el("em", { text: this.t("deleted") }));
    } else {
      const body = el("div");
      if (m.type === "html") body.append(safeHTML(m.message || ""));
      else body.textContent = m.message || "";
      box.append(body);
      for (const a of m.attachments || []) {
        if (a.attachmentType === "image" && a.url) box.append(el("img", { src: a.url, alt: this.t("image", { name: a.name }) }));
        else if (a.url) box.append(el("a", { href: a.url, target: "_blank", rel: "noopener", text: this.t("download", { name: a.name }) }));
      }
    }
    if (existing) existing.replaceWith(box);
    else this.log.append(box);
    this.rendered.set(m.id, box);
    this.log.scrollTop = this.log.scrollHeight;
    if (!mine) {
      this.typing.textContent = "";
      this.markRead();
    }
  }

  sys(key, p, order) {
    if (p && p.id && p.id.rawId === this.me) return;
    const name = (p && p.displayName) || this.t("agent");
    const text = this.t(key, { name });
    // A live notice and the same change's system message in the history
    // are one line.
    const dup = [...this.log.querySelectorAll(".sys")].find((e) => e.textContent === text && Math.abs(Number(e.dataset.order) - Number(order)) < 5000);
    if (dup) return;
    this.log.append(el("p", { class: "sys", text, "data-order": String(order || Date.now()) }));
  }

  // sortLog puts messages and notices in time order (ids and versions are
  // milliseconds), the greeting first.
  sortLog() {
    const items = [...this.log.querySelectorAll("[data-order]")];
    items.sort((a, b) => Number(a.dataset.order) - Number(b.dataset.order));
    for (const e of items) this.log.append(e);
    const seen = this.log.querySelector(".seen");
    if (seen) seen.remove();
    this.log.scrollTop = this.log.scrollHeight;
  }

  showTyping(t) {
    if (this.isMine(t.sender)) return;
    this.typing.textContent = this.t("typing", { name: t.senderDisplayName || this.t("agent") });
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => (this.typing.textContent = ""), 6000);
  }

  showSeen(r) {
    if (this.isMine(r.sender)) return;
    const old = this.log.querySelector(".seen");
    if (old) old.remove();
    // "Seen" goes under the visitor's last message the reader has reached.
    const mine = [...this.log.querySelectorAll(".msg.mine")].filter((e) => BigInt(e.dataset.id || 0) <= BigInt(r.chatMessageId || 0));
    const last = mine[mine.length - 1];
    if (last) last.after(el("p", { class: "seen", text: this.t("seen") }));
  }

  markRead() {
    if (!this.thread || this.panel.hidden || document.hidden) return;
    const others = [...this.log.querySelectorAll(".msg[data-id]:not(.mine)")];
    const last = others[others.length - 1];
    if (!last || last.dataset.id === this.lastRead) return;
    this.lastRead = last.dataset.id;
    this.thread.sendReadReceipt(last.dataset.id).catch(() => {});
  }

  typed() {
    const now = Date.now();
    if (now - this.lastTypingSent < 3000 || !this.textarea.value.trim()) return;
    this.lastTypingSent = now;
    this.thread.sendTypingNotification({ senderDisplayName: this.saved().name || undefined }).catch(() => {});
  }

  async send(attachment) {
    const content = attachment ? "" : this.textarea.value.trim();
    if (!content && !attachment) return;
    if (!attachment) this.textarea.value = "";
    try {
      const { id } = await this.thread.sendMessage({ content, attachments: attachment ? [attachment] : undefined });
      // Shown at once; the real-time copy then finds it already there.
      this.addMessage({ id, type: "text", message: content, attachments: attachment ? [attachment] : [], sender: { rawId: this.me } });
    } catch {
      if (!attachment) this.textarea.value = content;
      this.uploadError.textContent = this.t("sendFailed");
    }
  }

  async upload() {
    const file = this.fileInput.files[0];
    this.fileInput.value = "";
    this.uploadError.textContent = "";
    if (!file) return;
    const u = this.config.uploads;
    if (!u.types.includes(file.type)) return (this.uploadError.textContent = this.t("fileType", { name: file.name }));
    if (file.size > u.maxBytes) return (this.uploadError.textContent = this.t("fileTooLarge", { name: file.name, size: bytes(u.maxBytes) }));
    try {
      await this.send(await this.thread.uploadAttachment(file));
    } catch {
      this.uploadError.textContent = this.t("uploadFailed", { name: file.name });
    }
  }
}

function boot() {
  const src = script && script.src ? new URL(script.src) : new URL(location.href);
  const ds = (script && script.dataset) || {};
  const w = new Widget({ endpoint: src.origin, tenant: ds.tenant || "demo", locale: ds.locale, visitorToken: ds.visitorToken });
  window.Switchboard = {
    open: () => w.open(),
    close: () => w.close(),
    identify: (token) => { w.visitorToken = token; return w.session({ visitorToken: token }); },
  };
  w.start().catch((e) => console.error("switchboard widget:", e));
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
