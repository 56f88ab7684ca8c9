// The supervisor console: the wallboard per queue, the live
// conversations, today's ratings, and one conversation watched at a time
// (monitor.js). API: docs/contactcenter.md; real-time: docs/realtime.md.
import { ChatConnection } from "../client/index.js";
import { ConsoleApi } from "./api.js";
import { customerName, duration, el, langSwitch, loginPage, topBar } from "./common.js";
import { Monitor } from "./monitor.js";

const REFRESH_MS = 3000;
const LIVE_STATES = ["bot", "queued", "assigned", "wrapUp"];
const AGENT_STATES = ["available", "busy", "away", "break", "offline"];
const STATUS_DELAY_MS = 800;

export class Console {
  constructor(root, { locale, catalogues, t }) {
    this.root = root;
    this.locale = locale;
    this.catalogues = catalogues;
    this.t = t;
    this.api = new ConsoleApi(location.origin);
    this.api.onUnauthenticated = () => this.sessionLost();
    this.names = new Map(); // contact id → display name
    this.queues = [];
    this.agents = [];
    this.monitor = null;
    document.documentElement.lang = locale;
    addEventListener("online", () => this.conn && this.conn.reconnectNow());
    // Leaving the page ends a silent watch; keepalive lets the call
    // outlive the page.
    addEventListener("pagehide", () => this.monitor && this.monitor.stop({ keepalive: true }));
  }

  async start() {
    this.root.replaceChildren(el("p", { class: "loading", text: this.t("loading") }));
    let s = null;
    try {
      s = await this.api.session();
    } catch {
      /* the login form says what goes wrong */
    }
    if (s) await this.enter(s).catch((err) => this.showLogin(this.failure(err)));
    else this.showLogin();
  }

  failure(err) {
    return err && err.status === 403 ? this.t("forbidden") : this.t("serverUnreachable");
  }

  showLogin(message) {
    const t = this.t;
    this.root.replaceChildren(loginPage({ t, api: this.api, title: t("loginTitle"), message, lang: this.lang(),
      onEnter: (s) => this.enter(s) }));
  }

  lang() {
    return langSwitch(this.t, this.catalogues, this.locale);
  }

  sessionLost() {
    if (!this.app) return;
    this.teardown();
    this.showLogin(this.t("sessionExpired"));
  }

  time(iso) {
    try {
      return new Date(iso).toLocaleTimeString(this.locale, { hour: "2-digit", minute: "2-digit" });
    } catch {
      return "";
    }
  }

  // ---- signing in ----

  async enter(session) {
    const user = session.user || {};
    if (user.role !== "supervisor" && user.role !== "admin") {
      this.api.csrf = "";
      throw Object.assign(new Error("not a supervisor"), { status: 403 });
    }
    this.user = user;
    // The chat token: the real-time socket carries the watched
    // conversations' messages, and the supervisor writes with it.
    const agent = await this.api.agentSession();
    this.me = agent.identity.rawId;
    this.myName = user.displayName || user.username;
    this.buildShell();
    const conn = new ChatConnection({
      endpoint: location.origin, token: agent.token,
      onTokenExpiring: async () => (await this.api.agentSession()).token,
    });
    this.conn = conn;
    const mine = (f) => (d) => conn === this.conn && f(d);
    conn.on("connectionStateChanged", mine((s) => this.connState(s)));
    conn.on("engagementMessage", mine((d) => this.monitor && this.monitor.onWatched(d)));
    conn.on("chatMessageReceived", mine((m) => this.monitor && this.monitor.onChatMessage(m)));
    conn.on("participantsAdded", mine((d) => this.monitor && this.monitor.onParticipants(d)));
    conn.on("resync", mine(() => this.monitor && this.monitor.reload()));
    conn.on("error", mine(() => this.banner(this.t("connectionLost"))));
    try {
      // Live first, then state: nothing said meanwhile is missed.
      await conn.connect();
    } catch {
      this.banner(this.t("connectionLost"));
    }
    this.api.users().then((us) => {
      this.agents = us.filter((u) => u.role === "agent");
      if (this.monitor) this.monitor.renderTargets();
    }, () => {});
    await this.refresh();
    this.timer = setInterval(() => this.refresh().catch(() => {}), REFRESH_MS);
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  teardown() {
    if (this.monitor) this.monitor.stop();
    this.monitor = null;
    if (this.conn) this.conn.close();
    this.conn = null;
    clearInterval(this.timer);
    clearInterval(this.ticker);
    this.app = null;
    this.ratedCount = undefined;
  }

  async logout() {
    if (this.monitor) await this.monitor.stop();
    try {
      await this.api.logout();
    } catch {
      /* the cookie may be gone already */
    }
    this.teardown();
    this.showLogin();
  }

  buildShell() {
    const t = this.t;
    const links = [["/desk", t("deskLink")]];
    if (this.user.role === "admin") links.unshift(["/admin", t("adminLink")]);
    this.statusBar = el("div", { class: "banner", role: "status" });
    this.boards = el("div", { class: "boards" });
    this.updated = el("span", { class: "muted updated" });
    this.target = el("p", { class: "muted target" });
    this.liveBody = el("tbody");
    this.liveEmpty = el("p", { class: "muted", text: t("noLive") });
    this.liveCount = el("span", { class: "count" });
    this.ratingList = el("ul", { class: "ratings" });
    this.ratingEmpty = el("p", { class: "muted", text: t("noRatings") });
    this.side = el("aside", { class: "watch", "aria-label": t("monitorPane") });
    const th = (k) => el("th", { scope: "col", text: t(k) });
    this.app = el("div", { class: "app console" },
      topBar({ t, title: t("consoleTitle"), links, lang: this.lang(), name: this.myName, onLogout: () => this.logout() }),
      this.statusBar,
      el("main", { class: "console-main" },
        el("div", { class: "overview" },
          el("section", { class: "wallboard", "aria-labelledby": "wb-title" },
            el("h2", { id: "wb-title" }, el("span", { text: t("wallboard") }), this.updated), this.target, this.boards),
          el("section", { class: "live", "aria-labelledby": "live-title" },
            el("h2", { id: "live-title" }, el("span", { text: t("liveConversations") }), this.liveCount),
            this.liveEmpty,
            el("table", { class: "grid" },
              el("thead", {}, el("tr", {}, th("customer"), th("state"), th("queue"), th("agent"), th("time"), th("rating"), el("th", { scope: "col" }, el("span", { class: "sr", text: t("actions") })))),
              this.liveBody)),
          el("section", { class: "ratings-today", "aria-labelledby": "ratings-title" },
            el("h2", { id: "ratings-title", text: t("ratingsToday") }), this.ratingEmpty, this.ratingList)),
        this.side));
    this.root.replaceChildren(this.app);
    this.showIdle();
  }

  showIdle() {
    this.side.replaceChildren(el("div", { class: "empty" }, el("p", { text: this.t("pickToMonitor") }),
      el("p", { class: "muted", text: this.t("monitorHint") })));
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

  // ---- figures ----

  async refresh() {
    const app = this.app;
    const [wb, live] = await Promise.all([this.api.wallboard().catch(() => null), this.api.engagementsIn(LIVE_STATES).catch(() => null)]);
    if (app !== this.app) return; // signed out meanwhile
    if (wb) this.renderWallboard(wb);
    if (live) this.renderLive(live);
    // Today's ratings are read again only when the wallboard counts a
    // new one: the list of finished conversations is long.
    const rated = wb ? (wb.queues || []).reduce((n, q) => n + (q.ratingsToday || 0), 0) : -1;
    if (rated >= 0 && rated !== this.ratedCount) {
      const done = await this.api.engagementsIn(["wrapUp", "ended"]).catch(() => null);
      if (app !== this.app || !done) return;
      this.ratedCount = rated;
      this.renderRatings(done);
    }
  }

  renderWallboard(wb) {
    const t = this.t;
    this.queues = (wb.queues || []).map((q) => ({ id: q.queueId, name: q.name || q.queueId }));
    this.target.textContent = t("serviceLevelTarget", { seconds: wb.serviceLevelSeconds });
    this.updated.textContent = t("updatedAt", { time: new Date().toLocaleTimeString(this.locale) });
    const cards = (wb.queues || []).map((q) => {
      const stat = (key, label, value, extra) => el("div", { class: `stat ${extra || ""}`, "data-stat": key },
        el("dt", { text: label }), el("dd", { text: String(value) }));
      const sl = q.serviceLevelToday === undefined || q.serviceLevelToday === null ? "—" : `${Math.round(q.serviceLevelToday)}%`;
      const rating = q.averageRatingToday === undefined || q.averageRatingToday === null ? "—"
        : t("ratingAverage", { average: (Math.round(q.averageRatingToday * 10) / 10).toLocaleString(this.locale), count: q.ratingsToday });
      const agents = el("ul", { class: "agents", "aria-label": t("agentsByState") },
        ...AGENT_STATES.map((s) => el("li", { class: `agent-state ${s}`, "data-agents": s },
          el("span", { class: "n", text: String((q.agents || {})[s] || 0) }), el("span", { text: t("agents_" + s) }))));
      return el("article", { class: "queue-card", "data-queue": q.queueId, "aria-labelledby": `q-${q.queueId}` },
        el("h3", { id: `q-${q.queueId}` }, el("span", { text: q.name || q.queueId }), el("span", { class: "muted qid", text: q.queueId })),
        el("dl", { class: "stats" },
          stat("waiting", t("waiting"), q.waiting, q.waiting > 0 ? "hot" : ""),
          stat("longestWait", t("longestWait"), duration(q.longestWaitSeconds)),
          stat("handedOffToday", t("handedOffToday"), q.handedOffToday),
          stat("answeredToday", t("answeredToday"), q.answeredToday),
          stat("abandonedToday", t("abandonedToday"), q.abandonedToday),
          stat("serviceLevelToday", t("serviceLevelToday"), sl),
          stat("averageRatingToday", t("averageRatingToday"), rating, "wide")),
        agents);
    });
    if (!cards.length) cards.push(el("p", { class: "muted", text: t("noQueues") }));
    this.boards.replaceChildren(...cards);
  }

  /** The customer's name: collected by the bot, else the contact card's. */
  nameOf(e) {
    const n = customerName(e) || this.names.get(e.contactId);
    if (n) return n;
    if (e.contactId && !this.names.has(e.contactId)) {
      this.names.set(e.contactId, "");
      this.api.contact(e.contactId).then((c) => {
        const name = (c && (c.displayName || (c.fields || {}).name)) || "";
        this.names.set(e.contactId, name);
        if (name && this.app) {
          for (const cell of this.app.querySelectorAll(`[data-contact="${CSS.escape(e.contactId)}"] .customer`)) cell.textContent = name;
          if (this.monitor && this.monitor.e.contactId === e.contactId) this.monitor.renderHead();
        }
      }, () => {});
    }
    return this.t("customerUnknown");
  }

  agentName(e) {
    if (e.agentName) return e.agentName;
    const a = this.agents.find((u) => u.id === e.agentId);
    return a ? a.displayName || a.username : "";
  }

  stateText(st) {
    return ["bot", "queued", "assigned", "wrapUp", "ended"].includes(st) ? this.t("state_" + st) : st;
  }

  /** Since when the clock of the engagement's state runs. */
  since(e) {
    if (e.state === "queued") return e.handoffAt || e.createdAt;
    if (e.state === "assigned") return e.assignedAt || e.createdAt;
    if (e.state === "wrapUp") return e.endedAt || e.assignedAt || e.createdAt;
    return e.createdAt;
  }

  renderLive(list) {
    const t = this.t;
    this.live = list;
    this.liveCount.textContent = ` (${list.length})`;
    this.liveEmpty.hidden = list.length > 0;
    // Rows that did not change stay as they are, so a focused button
    // keeps its focus across refreshes.
    const old = new Map([...this.liveBody.children].map((tr) => [tr.dataset.engagement, tr]));
    const rows = list.map((e) => {
      const name = this.nameOf(e);
      const sig = JSON.stringify([name, e.state, e.queueId, this.agentName(e), this.since(e), e.rating || 0]);
      const same = old.get(e.id);
      if (same && same.dataset.sig === sig) return same;
      const btn = el("button", { type: "button", text: t("monitor"), "aria-pressed": "false", "aria-label": t("monitorWho", { name }), onclick: () => this.watch(e.id) });
      return el("tr", { "data-engagement": e.id, "data-contact": e.contactId || "", "data-state": e.state, "data-sig": sig },
        el("td", { class: "customer", text: name }),
        el("td", {}, el("span", { class: `pill ${e.state}`, text: this.stateText(e.state) })),
        el("td", { text: e.queueId || "—" }),
        el("td", { class: "agent", text: this.agentName(e) || "—" }),
        el("td", { class: "clock", "data-since": this.since(e) || "" }),
        el("td", { class: "stars", text: e.rating ? stars(e.rating) : "", "aria-label": e.rating ? t("ratingOf", { rating: e.rating }) : null }),
        el("td", {}, btn));
    });
    const current = [...this.liveBody.children];
    if (rows.length === current.length && rows.every((tr, i) => tr.dataset.engagement === current[i].dataset.engagement)) {
      rows.forEach((tr, i) => tr !== current[i] && current[i].replaceWith(tr));
    } else {
      this.liveBody.replaceChildren(...rows);
    }
    this.markWatched();
    this.tick();
    if (this.monitor) {
      const e = list.find((x) => x.id === this.monitor.id);
      this.monitor.update(e || null);
    }
  }

  tick() {
    const now = Date.now();
    for (const td of this.liveBody.querySelectorAll("td.clock")) {
      const since = Date.parse(td.dataset.since);
      td.textContent = Number.isFinite(since) ? duration((now - since) / 1000) : "";
    }
  }

  renderRatings(list) {
    const t = this.t;
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    const rated = list.filter((e) => e.rating && e.ratedAt && Date.parse(e.ratedAt) >= midnight.getTime())
      .sort((a, b) => Date.parse(b.ratedAt) - Date.parse(a.ratedAt));
    this.ratingEmpty.hidden = rated.length > 0;
    this.ratingList.replaceChildren(...rated.map((e) => el("li", { "data-engagement": e.id, "data-contact": e.contactId || "" },
      el("span", { class: "stars", text: stars(e.rating), "aria-label": t("ratingOf", { rating: e.rating }) }),
      el("span", { class: "who customer", text: this.nameOf(e) }),
      el("span", { class: "muted", text: [this.agentName(e), e.queueId, this.time(e.ratedAt)].filter(Boolean).join(" · ") }),
      e.ratingComment ? el("q", { text: e.ratingComment }) : null)));
  }

  // ---- watching one conversation ----

  async watch(id) {
    if (this.monitor && this.monitor.id === id) return this.monitor.focus();
    const prev = this.monitor;
    this.monitor = null;
    if (prev) await prev.stop();
    const e = (this.live || []).find((x) => x.id === id);
    if (!e) return;
    const m = new Monitor(this, e);
    this.monitor = m;
    this.side.replaceChildren(m.pane);
    this.markWatched();
    await m.start();
  }

  /** Called by the monitor when the supervisor stops watching. */
  closed(m) {
    if (this.monitor !== m) return;
    this.monitor = null;
    this.showIdle();
    this.markWatched();
  }

  markWatched() {
    const id = this.monitor && this.monitor.id;
    for (const tr of this.liveBody.querySelectorAll("tr[data-engagement]")) {
      const on = tr.dataset.engagement === id;
      const b = tr.querySelector("button");
      if (b.getAttribute("aria-pressed") === String(on)) continue;
      tr.classList.toggle("watched", on);
      b.textContent = on ? this.t("monitoring") : this.t("monitor");
      b.className = on ? "primary" : "";
      b.setAttribute("aria-pressed", String(on));
    }
  }
}

export function stars(n) {
  const r = Math.max(0, Math.min(5, Math.round(Number(n) || 0)));
  return "★".repeat(r) + "☆".repeat(5 - r);
}
