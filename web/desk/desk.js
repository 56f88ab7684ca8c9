// The agent desktop: login, presence, offers, the conversations the agent
// holds, keyboard shortcuts and the phone layout. One instance per page.
// API contract: docs/contactcenter.md; real-time: docs/realtime.md.
import { ChatConnection } from "../client/index.js";
import { el, format } from "../widget/render.js";
import { Alerts } from "./alerts.js";
import { Api } from "./api.js";
import { Conversation, customerOf } from "./conversation.js";

const STATUSES = ["available", "away", "break", "offline"];
const BREAK_REASONS = ["lunch", "meeting", "training", "other"];
const HANDOFF_REASONS = ["flow", "customer", "notUnderstood", "botFailed", "noBot", "transfer"];
const BUILTIN_CANNED = ["greet", "moment", "checking", "anythingElse", "thanks"];
const LOCALE_KEY = "switchboard:desk:locale";
const TENANT_KEY = "switchboard:desk:tenant";
const LABELS_KEY = "switchboard:desk:labels";
const STATUS_DELAY_MS = 800;
// A queue the desk meets that its list lacks (made since) asks for the
// list again, at most this often.
const QUEUES_EVERY_MS = 30000;
const LANGUAGES = { en: "English", id: "Bahasa Indonesia" };

export class Desk {
  /**
   * @param {HTMLElement} root
   * @param {{locale: string, catalogues: Record<string, Record<string,string>>}} opts
   */
  constructor(root, opts) {
    this.root = root;
    this.locale = opts.locale;
    this.catalogues = opts.catalogues;
    const cat = opts.catalogues[opts.locale] || {};
    const en = opts.catalogues.en || {};
    this.t = (k, vars) => format(cat[k] || en[k] || k, vars);
    this.api = new Api(location.origin);
    this.api.onUnauthenticated = () => this.sessionLost();
    this.alerts = new Alerts();
    this.offers = new Map(); // offerId → {offer, card, countdown, bar}
    this.conversations = new Map(); // engagement id → Conversation
    this.active = null;
    this.seq = 0; // counts reloads: what came after one started is newer than its answer
    this.canned = [];
    this.queueNames = new Map(); // queue id → name (GET /agent/queues)
    this.queuesAt = 0;
    this.me = "";
    this.myName = "";
    document.documentElement.lang = this.locale;
    document.addEventListener("keydown", (e) => this.onKey(e));
    document.addEventListener("visibilitychange", () => this.active && this.active.markRead());
    addEventListener("online", () => this.conn && this.conn.reconnectNow());
  }

  async start() {
    this.root.replaceChildren(el("p", { class: "loading", text: this.t("loading") }));
    let s = null;
    try {
      s = await this.api.session();
    } catch {
      /* the login form says what goes wrong */
    }
    if (s) await this.enter(s);
    else this.showLogin();
  }

  // ---- formatting ----

  time(iso) {
    try {
      return new Date(iso).toLocaleTimeString(this.locale, { hour: "2-digit", minute: "2-digit" });
    } catch {
      return "";
    }
  }

  dateTime(iso) {
    try {
      return new Date(iso).toLocaleString(this.locale, { dateStyle: "medium", timeStyle: "short" });
    } catch {
      return String(iso);
    }
  }

  /** A presence status in words (the router may hold one the desk lacks). */
  statusText(st) {
    return ["available", "away", "busy", "break", "offline"].includes(st) ? this.t("status_" + st) : st || this.t("status_offline");
  }

  stateText(st) {
    return ["bot", "queued", "assigned", "wrapUp", "ended"].includes(st) ? this.t("state_" + st) : st;
  }

  dispositionLabel(code) {
    const d = (this.dispositions || []).find((x) => x.code === code);
    if (d) return d.label;
    return ["resolved", "followUp", "escalated", "noResponse", "spam"].includes(code) ? this.t("disp_" + code) : code;
  }

  reasonText(r) {
    return HANDOFF_REASONS.includes(r) ? this.t("reason_" + r) : r;
  }

  langSwitch() {
    const sel = el("select", { class: "lang", "aria-label": this.t("languageSwitch") },
      ...Object.entries(LANGUAGES).filter(([l]) => this.catalogues[l]).map(([l, name]) => el("option", { value: l, lang: l, text: name, selected: l === this.locale })));
    sel.addEventListener("change", () => {
      try {
        localStorage.setItem(LOCALE_KEY, sel.value);
      } catch {
        /* private mode: the choice lasts this page only */
      }
      // Everything is drawn in the language: start again in the new one
      // (the login session is a cookie, so the agent stays logged in).
      location.reload();
    });
    return sel;
  }

  // ---- login ----

  showLogin(message) {
    const t = this.t;
    const stored = (() => {
      try {
        return localStorage.getItem(TENANT_KEY) || "";
      } catch {
        return "";
      }
    })();
    const q = new URLSearchParams(location.search);
    const field = (name, label, attrs) => {
      const input = el("input", { id: `login-${name}`, name, required: true, ...attrs });
      return [el("label", { for: input.id, text: label }), input];
    };
    const [tl, tenant] = field("tenant", t("tenant"), { autocomplete: "organization", value: q.get("tenant") || stored });
    const [ul, user] = field("username", t("username"), { autocomplete: "username", autocapitalize: "none" });
    const [pl, pass] = field("password", t("password"), { type: "password", autocomplete: "current-password" });
    const error = el("p", { class: "error", role: "alert", text: message || "" });
    const submit = el("button", { type: "submit", class: "primary", text: t("login") });
    const form = el("form", { class: "login", novalidate: true, "aria-labelledby": "login-title" },
      el("h1", { id: "login-title", text: t("loginTitle") }), tl, tenant, ul, user, pl, pass, error, submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      const missing = [tenant, user, pass].find((i) => !i.value.trim());
      if (missing) {
        error.textContent = t("loginMissing");
        missing.focus();
        return;
      }
      // A user gesture: the moment browsers allow sound and notifications.
      this.alerts.prepare();
      submit.disabled = true;
      try {
        const s = await this.api.login(tenant.value.trim(), user.value.trim(), pass.value);
        try {
          localStorage.setItem(TENANT_KEY, tenant.value.trim());
        } catch {
          /* not remembered */
        }
        await this.enter(s);
      } catch (err) {
        submit.disabled = false;
        error.textContent = err.status === 401 || err.status === 404 ? t("loginFailed") : err.status === 403 ? t("notAgent") : err.status === 429 ? t("tooManyAttempts") : t("serverUnreachable");
        pass.select();
      }
    });
    this.root.replaceChildren(el("main", { class: "login-page" }, el("div", { class: "login-top" }, this.langSwitch()), form));
    (tenant.value ? user : tenant).focus();
  }

  sessionLost() {
    if (this.lost) return;
    this.lost = true;
    this.teardown();
    this.showLogin(this.t("sessionExpired"));
  }

  // ---- the desk ----

  async enter(session) {
    this.lost = false;
    this.user = session.user;
    let agent;
    let settings;
    let queues;
    try {
      [agent, settings, queues] = await Promise.all([this.api.agentSession(), this.api.deskSettings().catch(() => null), this.api.queues().catch(() => null)]);
    } catch (err) {
      this.api.csrf = "";
      return this.showLogin(err.status === 403 ? this.t("notAgent") : this.t("serverUnreachable"));
    }
    this.useSettings(settings || {});
    // Without the list (an older server), queues show by id.
    this.queuesAt = Date.now();
    if (queues) this.useQueues(queues);
    this.me = agent.identity.rawId;
    this.myName = (agent.user && agent.user.displayName) || this.user.displayName || this.user.username;
    this.worker = agent.worker || {};
    this.buildShell();
    this.setPresenceShown(this.worker.presence || { status: "offline" });
    const conn = new ChatConnection({
      endpoint: location.origin, token: agent.token,
      // The token lasts 8 hours; the client renews it a few minutes before.
      onTokenExpiring: async () => (await this.api.agentSession()).token,
    });
    this.conn = conn;
    const mine = (f) => (d) => conn === this.conn && f(d);
    conn.on("connectionStateChanged", mine((s) => this.connState(s)));
    conn.on("agentOfferIssued", mine((o) => this.addOffer(o, true)));
    conn.on("agentOfferEnded", mine((o) => this.offerEnded(o)));
    // The customer ended the chat (the widget's "End chat"): the agent has
    // left the thread and wraps up.
    conn.on("engagementCustomerLeft", mine((d) => {
      const c = (d && this.conversations.get(d.engagementId)) || (d && this.byThread(d.threadId));
      if (c) c.customerLeft();
      else this.reload().catch(() => {});
    }));
    const route = (f) => mine((d) => {
      const c = this.byThread(d.threadId);
      if (c) f(c, d);
    });
    conn.on("chatMessageReceived", mine((m) => {
      const c = this.byThread(m.threadId);
      if (c) return c.onMessage(m);
      // A note or a supervisor's whisper, in the conversation's side thread.
      const meta = m.metadata || {};
      const owner = this.conversations.get(meta.engagementId);
      if (owner && (meta.kind === "note" || meta.kind === "whisper")) owner.addNote(m, true);
    }));
    conn.on("chatMessageEdited", route((c, m) => c.onEdited(m)));
    conn.on("chatMessageDeleted", route((c, m) => c.onEdited(m)));
    conn.on("typingIndicatorReceived", route((c, d) => c.onTyping(d)));
    conn.on("readReceiptReceived", route((c, d) => c.onReceipt(d)));
    conn.on("participantsAdded", route((c, d) => c.onParticipants("joined", d)));
    conn.on("participantsRemoved", route((c, d) => c.onParticipants("left", d)));
    conn.on("ready", mine(() => {
      // After a reconnect: offers may have come and gone meanwhile.
      if (this.readyOnce) this.reload().catch(() => {});
      this.readyOnce = true;
    }));
    conn.on("resync", mine(() => this.reload({ history: true }).catch(() => {})));
    conn.on("error", mine(() => this.banner(this.t("connectionLost"))));
    try {
      // Live first, then state: what happens while it loads arrives live.
      await conn.connect();
    } catch {
      this.banner(this.t("connectionLost"));
    }
    await this.reload({ history: true });
    if (this.app) this.app.removeAttribute("aria-busy");
    // Unless a conversation took the focus, start at the presence switch.
    if (this.app && (!document.activeElement || document.activeElement === document.body)) this.presenceSelect.focus();
  }

  teardown() {
    if (this.conn) this.conn.close();
    this.conn = null;
    this.readyOnce = false;
    clearInterval(this.tick);
    for (const id of [...this.offers.keys()]) this.removeOffer(id);
    for (const c of this.conversations.values()) c.dispose();
    this.conversations.clear();
    this.queueNames = new Map();
    this.active = null;
    this.app = null;
  }

  buildShell() {
    const t = this.t;
    this.presenceSelect = el("select", { id: "presence", "aria-label": t("presence") },
      ...STATUSES.map((s) => el("option", { value: s, text: t("status_" + s) })));
    this.reasonSelect = el("select", { id: "break-reason", "aria-label": t("breakReason"), hidden: true },
      ...this.breakReasons.map((r) => el("option", { value: r.code, text: r.label })));
    this.presenceDot = el("span", { class: "dot", "aria-hidden": "true" });
    this.presenceText = el("span", { class: "presence-text", role: "status" });
    this.presenceSelect.addEventListener("change", () => this.changePresence());
    this.reasonSelect.addEventListener("change", () => this.changePresence());
    this.statusBar = el("div", { class: "banner", role: "status" });
    this.toastBox = el("div", { class: "toast", role: "status", "aria-live": "polite" });
    this.offerList = el("div", { class: "offers", "aria-live": "polite" });
    this.offersEmpty = el("p", { class: "muted", text: t("noOffers") });
    this.convList = el("nav", { class: "convs", "aria-label": t("conversations") });
    this.convEmpty = el("p", { class: "muted", text: t("noConversations") });
    this.convCount = el("span", { class: "count" });
    this.chat = el("div", { class: "chat" });
    this.infoPane = el("aside", { class: "info", "aria-label": t("details") });
    this.help = this.buildHelp();
    const header = el("header", { class: "top" },
      el("span", { class: "brand", text: "Switchboard" }),
      el("div", { class: "presence" }, this.presenceDot, this.presenceSelect, this.reasonSelect, this.presenceText),
      el("span", { class: "spacer" }),
      this.langSwitch(),
      el("button", { type: "button", class: "ghost", text: "?", title: t("shortcuts"), "aria-label": t("shortcuts"), onclick: () => this.showHelp() }),
      el("span", { class: "me", text: this.myName }),
      el("button", { type: "button", class: "ghost", text: t("logout"), onclick: () => this.logout() }),
      // Notices: over the list pane's foot, or the top bar on phones
      // (desk.css); never over a conversation.
      this.toastBox);
    const side = el("div", { class: "side" },
      el("section", { class: "offers-section", "aria-labelledby": "offers-title" }, el("h2", { id: "offers-title", text: t("offers") }), this.offersEmpty, this.offerList),
      el("section", { class: "convs-section", "aria-labelledby": "convs-title" },
        el("h2", { id: "convs-title" }, el("span", { text: t("conversations") }), this.convCount), this.convEmpty, this.convList));
    this.app = el("div", { class: "app", "data-view": "list", "data-info": "closed", "aria-busy": "true" }, header, this.statusBar,
      el("main", { class: "panes" }, side, this.chat, this.infoPane), this.help);
    this.root.replaceChildren(this.app);
    this.showEmptyChat();
    this.tick = setInterval(() => this.countdown(), 1000);
    this.updateCount();
  }

  showEmptyChat() {
    this.chat.replaceChildren(el("div", { class: "empty" }, el("p", { text: this.t("pickConversation") }),
      el("p", { class: "muted", text: this.t("helpHint") })));
    this.infoPane.replaceChildren();
  }

  banner(msg) {
    clearTimeout(this.bannerTimer);
    this.statusBar.textContent = msg || "";
  }

  connState(st) {
    clearTimeout(this.bannerTimer);
    if (st === "connected") return this.banner("");
    if (st === "connecting" || st === "reconnecting") {
      this.bannerTimer = setTimeout(() => (this.statusBar.textContent = this.t(st)), STATUS_DELAY_MS);
    }
  }

  toast(msg) {
    clearTimeout(this.toastTimer);
    this.toastBox.textContent = msg;
    this.toastTimer = setTimeout(() => (this.toastBox.textContent = ""), 6000);
  }

  /** Offers and engagements from the server (load, reconnect, resync). */
  async reload({ history = false } = {}) {
    const conn = this.conn;
    // What arrives while the lists load is newer than they are: only what
    // was here before may be dropped for missing from them.
    const before = ++this.seq;
    const [offers, engagements] = await Promise.all([this.api.offers().catch(() => null), this.api.engagements().catch(() => null)]);
    if (!this.app || conn !== this.conn) return; // signed out meanwhile
    if (offers) {
      const now = new Set(offers.map((o) => o.offerId));
      for (const [id, x] of [...this.offers]) if (!now.has(id) && x.seq < before) this.removeOffer(id);
      for (const o of offers) this.addOffer(o, false);
    }
    if (engagements) {
      const now = new Set(engagements.map((e) => e.id));
      for (const c of [...this.conversations.values()]) if (!now.has(c.id) && c.seq < before) this.removeConversation(c);
      for (const e of engagements) {
        const c = this.conversations.get(e.id);
        if (c) {
          c.update(e);
          if (history) c.loadHistory().catch(() => {});
        } else {
          this.addConversation(e, this.storedLabels(e.id), false);
        }
      }
    }
  }

  /** A label in the desk's language from a {locale: text} map. */
  label(map, fallback) {
    if (!map) return fallback;
    return map[this.locale] || map.en || Object.values(map)[0] || fallback;
  }

  // useSettings takes the tenant's desk settings (GET /desk/settings):
  // canned responses, disposition codes and break reasons. What the
  // tenant did not set comes from the catalogue.
  useSettings(s) {
    const t = this.t;
    const canned = (s.cannedResponses || []).filter((c) => c && c.text && (!c.locale || c.locale === this.locale));
    this.canned = canned.length
      ? canned.map((c) => ({ shortcut: String(c.shortcut || c.id || ""), title: String(c.title || ""), text: String(c.text) }))
      : BUILTIN_CANNED.map((k) => ({ shortcut: t("cannedKey_" + k), title: "", text: t("canned_" + k) }));
    const reasons = (s.breakReasons || []).filter((r) => r && r.code);
    this.breakReasons = reasons.length
      ? reasons.map((r) => ({ code: r.code, label: this.label(r.label, r.code) }))
      : BREAK_REASONS.map((r) => ({ code: r, label: t("break_" + r) }));
    // A tenant that set disposition codes takes only those; one that set
    // none takes any code, so the agent may also type one.
    const codes = (s.dispositionCodes || []).filter((d) => d && d.code);
    this.dispositions = codes.length ? codes.map((d) => ({ code: d.code, label: this.label(d.label, d.code) })) : null;
  }

  // ---- queues ----

  useQueues(queues) {
    this.queueNames = new Map(queues.filter((q) => q && q.id).map((q) => [q.id, String(q.name || q.id)]));
  }

  /** A queue's name, else its id while the list lacks it. */
  queueName(id) {
    if (!id) return "";
    const name = this.queueNames.get(id);
    if (name === undefined) this.loadQueues().catch(() => {});
    return name || id;
  }

  /**
   * The tenant's queues again (GET /agent/queues), then what shows a queue
   * is drawn with the names. Unless forced, at most every QUEUES_EVERY_MS.
   */
  loadQueues({ force = false } = {}) {
    if (this.queuesLoading) return this.queuesLoading;
    if (!force && Date.now() - this.queuesAt < QUEUES_EVERY_MS) return Promise.resolve();
    this.queuesAt = Date.now();
    const conn = this.conn;
    this.queuesLoading = this.api.queues().then((qs) => {
      if (!this.app || conn !== this.conn) return; // signed out meanwhile
      this.useQueues(qs);
      for (const x of this.offers.values()) x.queue.textContent = this.queueName(x.offer.queueId);
      for (const c of this.conversations.values()) c.renderQueue();
    }).finally(() => (this.queuesLoading = null));
    return this.queuesLoading;
  }

  // ---- presence ----

  setPresenceShown(p) {
    const status = STATUSES.includes(p.status) ? p.status : p.status || "offline";
    if (![...this.presenceSelect.options].some((o) => o.value === status)) {
      this.presenceSelect.append(el("option", { value: status, text: this.t("status_" + status) }));
    }
    this.presenceSelect.value = status;
    this.reasonSelect.hidden = status !== "break";
    const reason = this.breakReasons.find((r) => r.code === p.reasonCode);
    if (status === "break" && reason) this.reasonSelect.value = reason.code;
    this.app.dataset.presence = status;
    this.presenceText.textContent = status === "break" && p.reasonCode
      ? this.t("presenceNowReason", { status: this.t("status_break"), reason: reason ? reason.label : p.reasonCode })
      : this.t("presenceNow", { status: this.t("status_" + status) });
    this.presence = { status, reasonCode: p.reasonCode || "" };
  }

  async changePresence() {
    this.alerts.prepare();
    const status = this.presenceSelect.value;
    const reason = status === "break" ? this.reasonSelect.value : "";
    this.reasonSelect.hidden = status !== "break";
    try {
      const w = await this.api.setPresence(status, reason);
      this.worker = w || this.worker;
      this.setPresenceShown((w && w.presence) || { status, reasonCode: reason });
    } catch {
      if (!this.app) return; // the session ended: the login form says so
      this.toast(this.t("presenceFailed"));
      this.setPresenceShown(this.presence || { status: "offline" });
    }
  }

  async logout() {
    this.alerts.prepare();
    try {
      await this.api.setPresence("offline");
    } catch {
      /* logging out matters more */
    }
    try {
      await this.api.logout();
    } catch {
      /* the cookie may be gone already */
    }
    this.teardown();
    this.showLogin();
  }

  // ---- offers ----

  addOffer(o, fresh) {
    if (!o || !o.offerId || this.offers.has(o.offerId)) return;
    // An offer that already ended may arrive late (resume after reconnect).
    if (o.expiresOn && Date.parse(o.expiresOn) <= Date.now()) return;
    const t = this.t;
    const labels = o.labels || {};
    const who = customerOf(labels);
    const name = who.name || t("customer");
    const countdown = el("span", { class: "left" });
    const bar = el("progress", { max: "100", value: "100", "aria-hidden": "true" });
    const accept = el("button", { type: "button", class: "primary", text: t("accept"), onclick: () => this.accept(o.offerId) });
    const decline = el("button", { type: "button", text: t("decline"), onclick: () => this.decline(o.offerId) });
    const nameEl = el("strong", { class: "name", text: name });
    const queue = el("span", { class: "queue", title: t("queue"), text: this.queueName(o.queueId) });
    const emailEl = el("p", { class: "email", text: who.email, hidden: !who.email });
    const card = el("article", { class: "offer", "data-offer": o.offerId, "aria-label": t("offerFrom", { name }) },
      el("header", {}, nameEl, queue),
      emailEl,
      labels.handoffReason ? el("p", { class: "reason", text: this.reasonText(labels.handoffReason) }) : null,
      el("p", { class: "countdown" }, countdown, bar),
      el("p", { class: "error", role: "alert" }),
      el("div", { class: "actions" }, accept, decline));
    const entry = { seq: this.seq, offer: o, card, queue, countdown, bar, total: Math.max(1, Date.parse(o.expiresOn) - Date.parse(o.offeredOn || new Date().toISOString())) };
    this.offers.set(o.offerId, entry);
    this.offerList.prepend(card);
    this.offersEmpty.hidden = true;
    this.countdown();
    if ((!who.name || !who.email) && labels.contactId) {
      // The job's labels hold what the bot collected; the contact card
      // (which agents may read) fills in the rest.
      this.api.contact(labels.contactId).then((c) => {
        const more = customerOf({ ...(c.fields || {}), name: c.displayName || (c.fields || {}).name || "" });
        if (!who.name && more.name) {
          nameEl.textContent = more.name;
          card.setAttribute("aria-label", t("offerFrom", { name: more.name }));
        }
        if (!who.email && more.email) {
          emailEl.textContent = more.email;
          emailEl.hidden = false;
        }
      }, () => {});
    }
    if (fresh) {
      this.alerts.beep();
      this.alerts.notify(o.offerId, t("newOffer"), [name, this.queueName(o.queueId), labels.handoffReason && this.reasonText(labels.handoffReason)].filter(Boolean).join(" · "),
        () => accept.focus());
    }
  }

  countdown() {
    const now = Date.now();
    for (const [id, x] of this.offers) {
      const left = Math.max(0, Date.parse(x.offer.expiresOn) - now);
      const s = Math.ceil(left / 1000);
      x.countdown.textContent = left > 0 ? this.t("expiresIn", { time: `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` }) : this.t("expired");
      x.bar.value = Math.round((left / x.total) * 100);
      x.card.classList.toggle("urgent", left > 0 && left < 10000);
      // The server says when it expired; a card never outlives it long.
      if (left <= 0 && now - Date.parse(x.offer.expiresOn) > 5000) this.removeOffer(id);
    }
  }

  removeOffer(id) {
    const x = this.offers.get(id);
    if (!x) return;
    this.offers.delete(id);
    this.alerts.dismiss(id);
    const focused = x.card.contains(document.activeElement);
    x.card.remove();
    this.offersEmpty.hidden = this.offers.size > 0;
    if (focused) this.focusSomething();
  }

  offerEnded(o) {
    if (!o || !this.offers.has(o.offerId)) {
      if (o && o.reason === "Accepted") this.reload().catch(() => {});
      return;
    }
    this.removeOffer(o.offerId);
    if (o.reason === "Accepted") this.reload().catch(() => {});
    else if (o.reason === "Expired") this.toast(this.t("offerExpired"));
    else if (o.reason === "Revoked") this.toast(this.t("offerRevoked"));
  }

  newestOffer() {
    let best = null;
    for (const x of this.offers.values()) if (!best || Date.parse(x.offer.offeredOn) > Date.parse(best.offer.offeredOn)) best = x;
    return best;
  }

  cardError(id, msg) {
    const x = this.offers.get(id);
    if (x) x.card.querySelector(".error").textContent = msg;
  }

  async accept(id) {
    const x = this.offers.get(id);
    if (!x || x.busy) return;
    x.busy = true;
    x.card.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      const e = await this.api.accept(id);
      const labels = x.offer.labels || {};
      this.storeLabels(e.id, labels);
      this.removeOffer(id);
      const c = this.addConversation(e, labels, true);
      this.activate(c);
    } catch (err) {
      x.busy = false;
      if (err.status === 409 || err.status === 404) {
        this.removeOffer(id);
        this.toast(this.t("offerGone"));
      } else {
        x.card.querySelectorAll("button").forEach((b) => (b.disabled = false));
        this.cardError(id, this.t("acceptFailed"));
      }
    }
  }

  async decline(id) {
    const x = this.offers.get(id);
    if (!x || x.busy) return;
    x.busy = true;
    x.card.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      await this.api.decline(id);
      this.removeOffer(id);
    } catch (err) {
      x.busy = false;
      if (err.status === 409 || err.status === 404) return this.removeOffer(id);
      x.card.querySelectorAll("button").forEach((b) => (b.disabled = false));
      this.cardError(id, this.t("declineFailed"));
    }
  }

  // ---- conversations ----

  storedLabels(id) {
    try {
      return (JSON.parse(sessionStorage.getItem(LABELS_KEY) || "{}") || {})[id];
    } catch {
      return undefined;
    }
  }

  storeLabels(id, labels) {
    try {
      const all = JSON.parse(sessionStorage.getItem(LABELS_KEY) || "{}") || {};
      all[id] = labels;
      sessionStorage.setItem(LABELS_KEY, JSON.stringify(all));
    } catch {
      /* labels are shown this page only */
    }
  }

  byThread(threadId) {
    for (const c of this.conversations.values()) if (c.threadId === threadId) return c;
    return null;
  }

  addConversation(e, labels, fresh) {
    const existing = this.conversations.get(e.id);
    if (existing) {
      existing.update(e);
      return existing;
    }
    const c = new Conversation(this, e, labels);
    c.seq = this.seq;
    this.conversations.set(e.id, c);
    this.convList.append(c.item);
    this.updateCount();
    c.load().catch(() => {});
    if (!this.active && !fresh && this.app.dataset.view !== "chat" && matchMedia("(min-width: 421px)").matches) this.activate(c);
    return c;
  }

  removeConversation(c) {
    if (!this.conversations.has(c.id)) return;
    this.conversations.delete(c.id);
    c.dispose();
    c.item.remove();
    this.updateCount();
    if (this.active === c) {
      this.active = null;
      const next = this.conversations.values().next().value;
      if (next) this.activate(next);
      else {
        this.showEmptyChat();
        this.showView("list");
      }
    }
  }

  maxChats() {
    const w = this.worker || {};
    const ch = (w.channels || []).find((c) => c.channelId === "chat");
    const cost = (ch && Number(ch.capacityCostPerJob)) || 0;
    return cost > 0 && w.capacity ? Math.floor(Number(w.capacity) / cost) : 0;
  }

  updateCount() {
    const n = this.conversations.size;
    const max = this.maxChats();
    this.convCount.textContent = max ? ` ${this.t("ofCapacity", { count: n, max })}` : ` (${n})`;
    this.convEmpty.hidden = n > 0;
  }

  activate(c) {
    if (!c || !this.conversations.has(c.id)) return;
    if (this.active && this.active !== c) this.active.closeCanned();
    this.active = c;
    for (const x of this.conversations.values()) {
      x.item.setAttribute("aria-current", String(x === c));
      x.item.classList.toggle("active", x === c);
    }
    this.chat.replaceChildren(c.pane);
    this.infoPane.replaceChildren(el("header", { class: "info-head" },
      el("button", { type: "button", class: "back", text: this.t("back"), "aria-label": this.t("backToConversation"), onclick: () => this.showView("chat") }),
      el("h2", { text: this.t("details") })), c.info);
    this.showView("chat");
    c.shown();
    c.focusReply();
  }

  /** Phone-sized screens show one pane: "list", "chat" or "info". */
  showView(v) {
    this.app.dataset.view = v;
    if (v !== "info") this.app.dataset.info = "closed";
    if (v === "list") {
      const target = (this.active && this.active.item) || this.offerList.querySelector("button") || this.presenceSelect;
      if (matchMedia("(max-width: 420px)").matches) target.focus();
    }
  }

  toggleInfo() {
    const open = this.app.dataset.info !== "open";
    this.app.dataset.info = open ? "open" : "closed";
    if (open) this.app.dataset.view = "info";
    else this.app.dataset.view = "chat";
  }

  step(delta) {
    const list = [...this.conversations.values()];
    if (!list.length) return;
    const i = list.indexOf(this.active);
    this.activate(list[(i + delta + list.length) % list.length]);
  }

  messageArrived(c, m) {
    if (this.active === c && !document.hidden) return;
    this.alerts.notify("msg-" + c.id, this.t("newMessage", { name: c.name }), (m.message || "").slice(0, 120), () => this.activate(c));
  }

  focusSomething() {
    const next = this.offerList.querySelector(".offer button") || (this.active && this.active.textarea) || this.presenceSelect;
    if (next) next.focus();
  }

  // ---- keyboard ----

  buildHelp() {
    const t = this.t;
    const rows = [["A", t("kAccept")], ["D", t("kDecline")], ["J  /  Alt+↓", t("kNext")], ["K  /  Alt+↑", t("kPrev")],
      ["R", t("kReply")], ["E", t("kEnd")], ["Esc", t("kEscape")], ["/", t("kCanned")], ["Enter", t("kSend")], ["Shift+Enter", t("kNewline")], ["?", t("kHelp")]];
    const dl = el("dl", { class: "keys" });
    for (const [k, v] of rows) dl.append(el("dt", {}, el("kbd", { text: k })), el("dd", { text: v }));
    const dialog = el("dialog", { class: "help", "aria-labelledby": "help-title" },
      el("h2", { id: "help-title", text: t("shortcuts") }), dl,
      el("form", { method: "dialog" }, el("button", { type: "submit", class: "primary", text: t("close") })));
    return dialog;
  }

  showHelp() {
    if (this.help.open) return;
    if (this.help.showModal) this.help.showModal();
    else this.help.setAttribute("open", "");
  }

  onKey(e) {
    if (e.defaultPrevented || e.isComposing || !this.app || !this.app.isConnected) return;
    const target = e.target;
    const editing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      return this.step(e.key === "ArrowDown" ? 1 : -1);
    }
    if (editing || e.altKey || e.ctrlKey || e.metaKey || this.help.open) return;
    const newest = () => this.newestOffer();
    switch (e.key) {
      case "?":
        e.preventDefault();
        return this.showHelp();
      case "a":
      case "A": {
        const x = newest();
        if (x) {
          e.preventDefault();
          this.accept(x.offer.offerId);
        }
        return;
      }
      case "d":
      case "D": {
        const x = newest();
        if (x) {
          e.preventDefault();
          this.decline(x.offer.offerId);
        }
        return;
      }
      case "j":
      case "J":
        e.preventDefault();
        return this.step(1);
      case "k":
      case "K":
        e.preventDefault();
        return this.step(-1);
      case "r":
      case "R":
        if (this.active) {
          e.preventDefault();
          this.showView("chat");
          this.active.focusReply();
        }
        return;
      case "e":
      case "E":
        if (this.active) {
          e.preventDefault();
          this.showView("chat");
          this.active.askEnd();
        }
        return;
      default:
    }
  }
}
