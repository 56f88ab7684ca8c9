// The admin pages, served at /admin: users, bots and their flows, the web
// chat widget, the desk's settings (canned responses, disposition codes,
// break reasons, service level), queues and agents. One section shows at
// a time, chosen by the address's #fragment.
import { ConsoleApi } from "../console/api.js";
import { el, langSwitch, loginPage, topBar } from "../console/common.js";
import { botsSection } from "./bots.js";
import { deskSection } from "./desk.js";
import { queuesSection } from "./queues.js";
import { usersSection } from "./users.js";
import { widgetSection } from "./widget.js";

const SECTIONS = [
  ["users", usersSection],
  ["bots", botsSection],
  ["widget", widgetSection],
  ["desk", deskSection],
  ["queues", queuesSection],
];

export class Admin {
  constructor(root, { locale, catalogues, t }) {
    this.root = root;
    this.locale = locale;
    this.catalogues = catalogues;
    this.t = t;
    this.api = new ConsoleApi(location.origin);
    this.api.onUnauthenticated = () => this.sessionLost();
    document.documentElement.lang = locale;
    addEventListener("hashchange", () => this.app && this.show());
  }

  async start() {
    this.root.replaceChildren(el("p", { class: "loading", text: this.t("loading") }));
    let s = null;
    try {
      s = await this.api.session();
    } catch {
      /* the login form says what goes wrong */
    }
    if (!s) return this.showLogin();
    try {
      await this.enter(s);
    } catch (err) {
      this.showLogin(err.status === 403 ? this.t("forbidden") : this.t("serverUnreachable"));
    }
  }

  lang() {
    return langSwitch(this.t, this.catalogues, this.locale);
  }

  showLogin(message) {
    this.app = null;
    this.root.replaceChildren(loginPage({ t: this.t, api: this.api, title: this.t("loginTitle"), message, lang: this.lang(), onEnter: (s) => this.enter(s) }));
  }

  sessionLost() {
    if (this.app) this.showLogin(this.t("sessionExpired"));
  }

  async enter(session) {
    const user = session.user || {};
    if (user.role !== "admin") {
      this.api.csrf = "";
      throw Object.assign(new Error("not an admin"), { status: 403 });
    }
    this.user = user;
    const t = this.t;
    this.tabs = el("nav", { class: "tabs", "aria-label": t("sections") },
      ...SECTIONS.map(([name]) => el("a", { href: `#${name}`, "data-section": name, text: t("section_" + name) })));
    this.main = el("main", { class: "admin-main" });
    this.app = el("div", { class: "app admin" },
      topBar({ t, title: t("adminTitle"), links: [["/console", t("consoleLink")], ["/desk", t("deskLink")]], lang: this.lang(),
        name: user.displayName || user.username, onLogout: () => this.logout() }),
      this.tabs, this.main);
    this.root.replaceChildren(this.app);
    await this.show();
  }

  async logout() {
    try {
      await this.api.logout();
    } catch {
      /* the cookie may be gone already */
    }
    this.showLogin();
  }

  /** The queues the wallboard knows, for choosing one: [{id, name}]. */
  async queues() {
    try {
      const wb = await this.api.wallboard();
      return (wb.queues || []).map((q) => ({ id: q.queueId, name: q.name || q.queueId }));
    } catch {
      return [];
    }
  }

  async show() {
    const name = (location.hash || "").slice(1);
    const entry = SECTIONS.find(([n]) => n === name) || SECTIONS[0];
    for (const a of this.tabs.querySelectorAll("a")) {
      if (a.dataset.section === entry[0]) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    const shown = (this.shown = {});
    this.main.replaceChildren(el("p", { class: "loading", text: this.t("loading") }));
    let section;
    try {
      section = await entry[1](this);
    } catch {
      section = el("p", { class: "error", role: "alert", text: this.t("loadFailed") });
    }
    if (shown !== this.shown) return; // another section was chosen meanwhile
    this.main.replaceChildren(section);
    this.main.dataset.section = entry[0];
  }
}
