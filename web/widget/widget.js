// The widget itself: launcher, panel, pre-chat form and conversation. One
// instance per page, inside a shadow root so neither page nor widget styles
// leak into the other.
import { ChatConnection, isAfter } from "../client/index.js";
import { LIVE_STATES, endChatControls, queueText, ratingForm } from "./center.js";
import { bytes, cssColor, el, format, icon, safeHTML, safeURL } from "./render.js";
import { fingerprint, SessionStore } from "./session.js";
import { css } from "./style.js";

const NATIVE = "api-version=2026-11-01";
const HISTORY_PAGES = 4;
const TYPING_EVERY_MS = 3000; // at most one typing notification per this
const TYPING_SHOWN_MS = 6000; // an agent's indicator fades without news
const STATUS_DELAY_MS = 800; // a quick reconnect shows no banner at all
const CHAT_ICON = "M4 4h16v12H7l-3 3z";
const CLIP_ICON = "M8 12.5V7a4 4 0 0 1 8 0v9a6 6 0 0 1-12 0V8";

export class Widget {
  /**
   * @param {{endpoint: string, tenant: string, locale: string, catalogue: Record<string,string>, fallback: Record<string,string>, visitorToken?: string}} opts
   */
  constructor(opts) {
    this.endpoint = opts.endpoint;
    this.locale = opts.locale;
    this.t = (k, vars) => format(opts.catalogue[k] || opts.fallback[k] || k, vars);
    this.visitorToken = opts.visitorToken || "";
    this.store = new SessionStore(opts.endpoint, opts.tenant);
    this.conn = null;
    this.rendered = new Map(); // message id → element
    this.unread = 0;
    this.lastTypingSent = 0;
    // Bumped by every live change of the queue line or the engagement, so
    // a position asked for over REST never overwrites news that came
    // meanwhile.
    this.queueEpoch = 0;
    this.engagement = null; // the live contact-center conversation: {id, state}
  }

  text(map) {
    if (!map) return "";
    return map[this.locale] || map.en || Object.values(map)[0] || "";
  }

  async start() {
    this.config = await this.store.config();
    this.build();
    this.started = true;
    const restoring = this.restore();
    // Switchboard.open() may come before the settings did.
    if (this.wantOpen) this.open();
    await restoring;
  }

  // restore brings back the stored conversation, or the identified
  // visitor's, or leaves the pre-chat form for a first visit.
  async restore() {
    const s = this.store.load();
    try {
      if (this.visitorToken && !(s && s.visitor === fingerprint(this.visitorToken))) {
        // Never a resume key from someone else: on a shared computer the
        // stored conversation may belong to another customer.
        await this.begin({ visitorToken: this.visitorToken });
      } else if (s && this.store.tokenFresh(s)) {
        await this.startChat(s, true);
      } else if (s) {
        await this.begin({ resumeKey: s.resumeKey });
      }
    } catch (e) {
      if (e.status === 401 || e.status === 404) this.startOver();
      else this.showStatus(this.t("sessionFailed"));
    }
  }

  // startOver forgets a conversation the server no longer knows (erased,
  // or an unknown key) and offers the pre-chat form again.
  startOver() {
    if (this.conn) this.conn.close();
    this.conn = this.thread = null;
    this.store.clear();
    this.showStatus("");
    this.showQueue(null);
    this.setEngagement(null);
    this.showPrechat();
  }

  build() {
    const c = this.config;
    this.host = el("div", { id: "switchboard-webchat" });
    const root = this.host.attachShadow({ mode: "open" });
    try {
      // A constructed sheet passes a host page's strict style-src CSP.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.append(el("style", { text: css }));
    }
    const colors = c.colors || {};
    this.host.style.setProperty("--sb-primary", cssColor(colors.primary, "#0b5cad"));
    this.host.style.setProperty("--sb-bg", cssColor(colors.background, "#ffffff"));
    this.host.style.setProperty("--sb-text", cssColor(colors.text, "#1b1b1b"));

    this.badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.launcher = el("button", { class: "launcher", type: "button", "aria-label": this.t("openChat"), "aria-expanded": "false",
      "aria-controls": "sb-panel", onclick: () => (this.panel.hidden ? this.open() : this.close()) }, icon(CHAT_ICON), this.badge);
    const title = this.t("chatWith", { name: c.name || c.tenant || "" });
    this.panel = el("div", { id: "sb-panel", class: "panel", role: "dialog", "aria-label": title, lang: this.locale, hidden: true,
      onkeydown: (e) => e.key === "Escape" && this.close() });
    this.status = el("div", { class: "status", role: "status" });
    // Where the customer stands while waiting for an agent: its own polite
    // live region, apart from the connection notices.
    this.queue = el("p", { class: "queue", role: "status", "aria-live": "polite" });
    this.notice = el("p", { class: "notice", hidden: c.open !== false });
    this.notice.textContent = c.open === false && c.businessHours ? this.text(c.businessHours.closedMessage) : "";
    this.body = el("div", { class: "body" });
    this.closeButton = el("button", { type: "button", class: "close", "aria-label": this.t("closeChat"), text: "×", onclick: () => this.close() });
    // "End chat", shown while a contact-center conversation is live, and
    // the question it asks first.
    this.ending = endChatControls(this.t, { confirm: () => this.leave(),
      onGone: () => (this.textarea && this.textarea.isConnected ? this.textarea : this.closeButton).focus() });
    this.panel.append(
      el("header", {}, el("h2", { text: title }), this.ending.button, this.closeButton),
      this.ending.confirm, this.notice, this.status, this.queue, this.body);
    root.append(this.launcher, this.panel);
    document.body.append(this.host);
    this.showPrechat();
    addEventListener("online", () => {
      this.showStatus("");
      if (this.conn) this.conn.reconnectNow();
    });
    addEventListener("offline", () => this.showStatus(this.t("offline")));
    document.addEventListener("visibilitychange", () => this.markRead());
  }

  showStatus(msg) {
    clearTimeout(this.statusTimer);
    this.status.textContent = msg || "";
  }

  connState(st) {
    clearTimeout(this.statusTimer);
    if (st === "connected") {
      this.showStatus(navigator.onLine === false ? this.t("offline") : "");
    } else if (st === "connecting" || st === "reconnecting") {
      if (navigator.onLine === false) return this.showStatus(this.t("offline"));
      this.statusTimer = setTimeout(() => (this.status.textContent = this.t(st)), STATUS_DELAY_MS);
    }
  }

  open() {
    this.wantOpen = !this.panel;
    if (!this.panel) return;
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.setUnread(0);
    const first = this.body.querySelector("textarea, input:not([type=file])");
    (first || this.closeButton).focus();
    this.markRead();
  }

  close() {
    this.wantOpen = false;
    if (!this.panel || this.panel.hidden) return;
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  }

  /** Identifies the visitor as a known customer (docs/webchat.md). */
  async identify(token) {
    this.visitorToken = token || "";
    if (this.started && token) await this.begin({ visitorToken: token });
  }

  setUnread(n) {
    this.unread = n;
    this.badge.textContent = n > 9 ? "9+" : String(n);
    this.badge.hidden = n === 0;
    this.launcher.setAttribute("aria-label", n ? this.t("openChatUnread", { count: n }) : this.t("openChat"));
  }

  showPrechat() {
    if (this.conn) return;
    const c = this.config;
    const error = el("p", { class: "error", role: "alert" });
    const inputs = [];
    const form = el("form", { class: "prechat", novalidate: true });
    form.append(el("p", { class: "msg greeting", text: this.text(c.greeting) }));
    for (const [i, f] of (c.preChatFields || []).entries()) {
      const label = this.text(f.label) || f.name;
      const id = `sb-field-${i}`;
      const attrs = { id, name: f.name, required: !!f.required, "aria-required": f.required ? "true" : undefined };
      const input = f.type === "textarea"
        ? el("textarea", { ...attrs, rows: "3" })
        : el("input", { ...attrs, type: ["email", "tel"].includes(f.type) ? f.type : "text",
          autocomplete: f.type === "email" ? "email" : f.type === "tel" ? "tel" : f.name === "name" ? "name" : "on" });
      inputs.push({ f, input, label });
      form.append(el("label", { for: id, text: label + (f.required ? " *" : "") }), input);
    }
    const submit = el("button", { class: "primary", type: "submit", text: this.t("startChat") });
    form.append(error, submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      const fields = {};
      for (const { f, input, label } of inputs) {
        const v = input.value.trim();
        input.removeAttribute("aria-invalid");
        if (f.required && !v) return this.fieldError(error, input, this.t("required", { field: label }));
        if (f.type === "email" && v && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return this.fieldError(error, input, this.t("invalidEmail", { field: label }));
        if (v) fields[f.name] = v;
      }
      submit.disabled = true;
      try {
        await this.begin({ displayName: fields.name || "", fields });
      } catch {
        error.textContent = this.t("sessionFailed");
        submit.disabled = false;
      }
    });
    this.body.replaceChildren(form);
  }

  fieldError(box, input, msg) {
    box.textContent = msg;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  async begin(req) {
    await this.startChat(await this.store.start({ ...req, locale: this.locale }), false);
  }

  // refreshToken serves the client's onTokenExpiring: the resume key buys a
  // fresh token for the same visitor.
  async refreshToken() {
    const s = this.store.load();
    if (!s) throw Object.assign(new Error("no session"), { status: 401 });
    const fresh = await this.store.start({ resumeKey: s.resumeKey, locale: this.locale });
    // Retention or the business deleted the thread: the visitor has a new one.
    if (fresh.threadId !== this.threadId) setTimeout(() => this.startChat(fresh, false));
    return fresh.token;
  }

  async startChat(s, fromStore) {
    if (this.conn) this.conn.close();
    this.me = s.me;
    this.threadId = s.threadId;
    this.name = s.name;
    this.rendered = new Map();
    this.historyLoaded = false;
    this.showQueue(null);
    this.setEngagement(null);
    this.ratingFor = "";
    this.buildChat();
    const conn = new ChatConnection({ endpoint: this.endpoint, token: s.token, resumeFrom: s.position, onTokenExpiring: () => this.refreshToken() });
    this.conn = conn;
    this.thread = conn.thread(this.threadId);
    const mine = (f) => (d) => conn === this.conn && d.threadId === this.threadId && f(d);
    conn.on("connectionStateChanged", (st) => conn === this.conn && this.connState(st));
    conn.on("position", (p) => conn === this.conn && this.store.save({ position: p }));
    conn.on("chatMessageReceived", mine((m) => this.addMessage(m, { live: true })));
    conn.on("chatMessageEdited", mine((m) => this.addMessage(m, { replace: true })));
    conn.on("chatMessageDeleted", mine((m) => this.addMessage(m, { replace: true })));
    conn.on("typingIndicatorReceived", mine((t) => this.showTyping(t)));
    conn.on("readReceiptReceived", mine((r) => this.showSeen(r)));
    conn.on("participantsAdded", mine((e) => {
      const added = e.participantsAdded || [];
      added.forEach((p) => this.sys("joined", p, e.version));
      if (!added.some((p) => !this.isMine(p.id))) return;
      // The bot left at the handoff: whoever joins now is the agent. Or a
      // bot greets a new conversation. Either way the engagement changed.
      this.showQueue(null);
      this.restoreQueue(conn);
    }));
    conn.on("engagementQueuePosition", mine((p) => {
      this.showQueue(p);
      this.setEngagement(p);
    }));
    conn.on("engagementEnded", mine((e) => {
      this.showQueue(null);
      if (!this.engagement || this.engagement.id === String(e.engagementId)) this.setEngagement(null);
      if (e.rate && e.engagementId) this.askRating(String(e.engagementId));
    }));
    conn.on("participantsRemoved", mine((e) => {
      const removed = e.participantsRemoved || [];
      removed.forEach((p) => this.sys("left", p, e.version));
      // The bot let go (a handoff, or its end), or the agent left (a
      // transfer, or the end): ask where the conversation stands.
      if (removed.some((p) => !this.isMine(p.id))) this.restoreQueue(conn);
    }));
    conn.on("resync", () => {
      if (conn !== this.conn) return;
      this.loadHistory().catch(() => {});
      this.restoreQueue(conn);
    });
    conn.on("error", (e) => {
      if (conn !== this.conn) return;
      if (e.status === 401 || e.status === 404) this.startOver();
      else this.showStatus(this.t("sessionFailed"));
    });
    try {
      // Live first, then history: a message committed while the history
      // loads arrives live (one in both is recognised by its id), so none
      // falls in between.
      await conn.connect();
      this.restoreQueue(conn);
      await this.loadHistory();
    } catch (e) {
      if (conn !== this.conn) return;
      if (fromStore && (e.status === 403 || e.status === 404)) {
        // The stored token's thread is gone: ask for the visitor's current one.
        return this.begin({ resumeKey: this.store.load().resumeKey });
      }
      throw e;
    }
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
    const u = this.config.uploads || {};
    this.fileInput = el("input", { type: "file", class: "sr", tabindex: "-1", "aria-hidden": "true", "aria-label": this.t("attach"),
      accept: (u.types || []).join(","), onchange: () => this.upload() });
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": this.t("messages"), tabindex: "0" },
      el("p", { class: "msg greeting", text: this.text(this.config.greeting) }));
    this.typing = el("div", { class: "typing", "aria-live": "polite" });
    this.rating = el("div", { class: "rating" });
    this.alert = el("p", { class: "error", role: "alert" });
    const composer = el("div", { class: "composer" },
      el("button", { type: "button", class: "icon", "aria-label": this.t("attach"), title: this.t("attach"), onclick: () => this.fileInput.click() }, icon(CLIP_ICON, true)),
      ta, this.fileInput,
      el("button", { type: "button", class: "primary", text: this.t("send"), onclick: () => this.send() }));
    this.body.replaceChildren(this.log, this.typing, this.rating, this.alert, composer);
    if (!this.panel.hidden) ta.focus();
  }

  async loadHistory() {
    const msgs = await this.thread.listMessages({ maxPageSize: 50, maxPages: HISTORY_PAGES });
    for (const m of msgs.reverse()) {
      const type = String(m.type).toLowerCase();
      const content = m.content || {};
      if (type === "text" || type === "html") {
        this.addMessage({ id: m.id, type, message: content.message, attachments: content.attachments,
          sender: m.senderCommunicationIdentifier, senderDisplayName: m.senderDisplayName, deletedOn: m.deletedOn }, { replace: true });
      } else if (type === "participantadded" || type === "participantremoved") {
        for (const p of content.participants || []) {
          this.sys(type === "participantadded" ? "joined" : "left", { id: p.communicationIdentifier, displayName: p.displayName }, m.id);
        }
      }
    }
    this.sortLog();
    this.historyLoaded = true;
    const receipts = await this.thread.listReadReceipts().catch(() => []);
    for (const r of receipts) this.showSeen({ sender: r.senderCommunicationIdentifier, chatMessageId: r.chatMessageId });
    this.markRead();
  }

  isMine(sender) {
    return !!sender && sender.rawId === this.me;
  }

  addMessage(m, { replace = false, live = false } = {}) {
    const existing = this.rendered.get(m.id);
    if (existing && !replace) return;
    const mine = this.isMine(m.sender);
    const box = el("div", { class: mine ? "msg mine" : "msg", "data-id": m.id, "data-order": m.id });
    box.append(el("span", { class: "who", text: mine ? this.t("you") : m.senderDisplayName || this.t("agent") }));
    if (m.deletedOn) {
      box.append(el("em", { text: this.t("deleted") }));
    } else {
      const body = el("div", { class: "text" });
      if (String(m.type).toLowerCase() === "html") body.append(safeHTML(m.message || ""));
      else body.textContent = m.message || "";
      if (body.textContent || body.childNodes.length) box.append(body);
      for (const a of m.attachments || []) box.append(this.attachment(a));
    }
    if (existing) existing.replaceWith(box);
    else this.log.append(box);
    this.rendered.set(m.id, box);
    this.scrollDown();
    if (mine) return;
    if (!existing) this.typing.textContent = "";
    if (live && !existing && this.panel.hidden && this.historyLoaded) this.setUnread(this.unread + 1);
    this.markRead();
  }

  attachment(a) {
    const url = safeURL(a.url);
    if (!url) return el("span", { class: "file", text: a.name || "" });
    if (a.attachmentType === "image") {
      const img = el("img", { src: safeURL(a.previewUrl) || url, alt: this.t("image", { name: a.name || "" }), onload: () => this.scrollDown() });
      return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, img);
    }
    return el("a", { class: "file", href: url, target: "_blank", rel: "noopener noreferrer", text: this.t("download", { name: a.name || "" }) });
  }

  scrollDown() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  sys(key, p, order) {
    const rawId = p && p.id && p.id.rawId;
    if (rawId === this.me) return;
    // A live notice and the same change's system message in the history
    // are one line: both are stamped with the change's time in ms.
    const tag = `${key}|${rawId}`;
    const near = [...this.log.querySelectorAll(".sys")].some((e) => e.dataset.tag === tag && Math.abs(Number(e.dataset.order) - Number(order)) < 5000);
    if (near) return;
    const text = this.t(key, { name: (p && p.displayName) || this.t("agent") });
    this.log.append(el("p", { class: "sys", text, "data-tag": tag, "data-order": String(order || Date.now()) }));
    this.scrollDown();
  }

  // sortLog puts messages and notices in time order (ids and versions are
  // milliseconds); the greeting stays first.
  sortLog() {
    const items = [...this.log.querySelectorAll("[data-order]")];
    items.sort((a, b) => (isAfter(a.dataset.order, b.dataset.order) ? 1 : isAfter(b.dataset.order, a.dataset.order) ? -1 : 0));
    const seen = this.log.querySelector(".seen");
    for (const e of items) this.log.append(e);
    if (seen) seen.remove();
    this.scrollDown();
  }

  showTyping(t) {
    if (this.isMine(t.sender)) return;
    this.typing.textContent = this.t("typing", { name: t.senderDisplayName || this.t("agent") });
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => (this.typing.textContent = ""), TYPING_SHOWN_MS);
  }

  showSeen(r) {
    if (this.isMine(r.sender) || !r.chatMessageId) return;
    // "Seen" goes under the visitor's last message the reader has reached.
    const reached = [...this.log.querySelectorAll(".msg.mine[data-id]")].filter((e) => !isAfter(e.dataset.id, r.chatMessageId));
    const last = reached[reached.length - 1];
    if (!last) return;
    const old = this.log.querySelector(".seen");
    if (old) old.remove();
    last.after(el("p", { class: "seen", text: this.t("seen") }));
  }

  markRead() {
    if (!this.thread || !this.panel || this.panel.hidden || document.hidden || !this.historyLoaded) return;
    const others = this.log.querySelectorAll(".msg[data-id]:not(.mine)");
    const last = others[others.length - 1];
    if (!last || last.dataset.id === this.lastRead) return;
    this.lastRead = last.dataset.id;
    this.thread.sendReadReceipt(last.dataset.id).catch(() => (this.lastRead = ""));
  }

  typed() {
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_EVERY_MS || !this.textarea.value.trim()) return;
    this.lastTypingSent = now;
    this.thread.sendTypingNotification({ senderDisplayName: this.name || undefined }).catch(() => {});
  }

  async send(attachment) {
    const content = attachment ? "" : this.textarea.value.trim();
    if ((!content && !attachment) || !this.thread) return;
    if (!attachment) this.textarea.value = "";
    this.alert.textContent = "";
    // The thanks for a rating has been read: the conversation goes on.
    if (this.rating.querySelector("form.done")) this.rating.replaceChildren();
    this.lastTypingSent = 0;
    try {
      const { id } = await this.thread.sendMessage({ content, senderDisplayName: this.name || undefined, attachments: attachment ? [attachment] : undefined });
      // Shown at once; the real-time copy then finds it already there.
      this.addMessage({ id, type: "text", message: content, attachments: attachment ? [attachment] : [], sender: { rawId: this.me } });
    } catch {
      if (!attachment && !this.textarea.value) this.textarea.value = content;
      this.alert.textContent = this.t("sendFailed");
    }
  }

  async upload() {
    const file = this.fileInput.files[0];
    this.fileInput.value = "";
    this.alert.textContent = "";
    if (!file) return;
    // The server checks too; this only spares the visitor a useless upload.
    const u = this.config.uploads || {};
    if (u.types && u.types.length && !u.types.includes(file.type)) return (this.alert.textContent = this.t("fileType", { name: file.name }));
    if (u.maxBytes && file.size > u.maxBytes) return (this.alert.textContent = this.t("fileTooLarge", { name: file.name, size: bytes(u.maxBytes) }));
    this.alert.textContent = "";
    try {
      await this.send(await this.thread.uploadAttachment(file));
    } catch (e) {
      this.alert.textContent = e.status === 413 ? this.t("fileTooLarge", { name: file.name, size: bytes(u.maxBytes || 0) })
        : e.status === 415 ? this.t("fileType", { name: file.name }) : this.t("uploadFailed", { name: file.name });
    }
  }

  // showQueue shows where the customer stands (a position answer or
  // notification), or hides the line (null, or any state but queued).
  showQueue(p) {
    this.queueEpoch++;
    this.queue.textContent = queueText(this.t, p);
  }

  // setEngagement remembers the live contact-center conversation (a
  // position answer or notification), or that there is none (null): "End
  // chat" is offered while it is with the bot, waiting or with an agent.
  setEngagement(p) {
    const live = p && p.engagementId && LIVE_STATES.includes(p.state) ? { id: String(p.engagementId), state: p.state } : null;
    this.queueEpoch++;
    this.engagement = live;
    this.ending.show(!!live);
  }

  // restoreQueue asks where the customer stands after a reload or a
  // resync (the notifications that said so are in the past), or when
  // someone joined or left the conversation.
  async restoreQueue(conn) {
    const epoch = this.queueEpoch;
    let p;
    try {
      p = await conn.request("GET", `/webchat/position?${NATIVE}&threadId=${encodeURIComponent(this.threadId)}`);
    } catch (e) {
      // 404: no conversation in the contact center (any more).
      if (e.status === 404 && conn === this.conn && epoch === this.queueEpoch) this.setEngagement(null);
      return; // else the server cannot say now
    }
    if (conn === this.conn && epoch === this.queueEpoch && p && p.threadId === this.threadId) {
      this.showQueue(p);
      this.setEngagement(p);
    }
  }

  // leave ends the conversation for the customer (POST
  // /engagements/{id}:leave, after they confirmed): the queue line goes,
  // and a conversation an agent had asks for a rating.
  async leave() {
    const e = this.engagement;
    const conn = this.conn;
    if (!e || !conn) return;
    this.alert.textContent = "";
    this.ending.busy(true);
    let r;
    try {
      r = await conn.request("POST", `/engagements/${encodeURIComponent(e.id)}:leave?${NATIVE}`);
    } catch (err) {
      this.ending.busy(false);
      if (conn !== this.conn) return;
      if (err.status !== 409 && err.status !== 404) {
        this.alert.textContent = this.t("endChatFailed");
        return;
      }
      // Ended meanwhile (by the agent, or in another tab): as it stands now.
      this.ending.show(false);
      return this.restoreQueue(conn);
    }
    this.ending.busy(false);
    if (conn !== this.conn) return;
    this.showQueue(null);
    this.setEngagement(null);
    this.log.append(el("p", { class: "sys", text: this.t("youEnded"), "data-order": String(Date.now()) }));
    this.scrollDown();
    const form = r && r.rate ? this.askRating(e.id) : null;
    // The button that had focus is gone: the rating, else the message box.
    const star = form && form.querySelector(".star");
    (star || this.textarea).focus();
  }

  // askRating puts the rating form above the composer, once per ended
  // engagement; the customer may rate, skip, or just keep chatting.
  askRating(id) {
    if (this.ratingFor === id) return this.rating.querySelector("form.rate");
    this.ratingFor = id;
    const conn = this.conn;
    const form = ratingForm(this.t, {
      send: async (rating, comment) => {
        try {
          await conn.request("POST", `/engagements/${encodeURIComponent(id)}:rate?${NATIVE}`, { rating, comment });
        } catch (e) {
          // 409: rated already (another tab, or before a reload): stored.
          if (e.status !== 409) throw e;
        }
      },
      close: () => {
        const hadFocus = form.contains(form.getRootNode().activeElement);
        form.remove();
        if (hadFocus) this.textarea.focus();
      },
    });
    this.rating.replaceChildren(form);
    this.scrollDown();
    return form;
  }
}
