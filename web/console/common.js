// What the supervisor console (/console) and the admin pages (/admin)
// share: the language, the sign-in form, the page header and small
// formatting helpers. Server data never goes through innerHTML.
import { el, format } from "../widget/render.js";

export { el, format };

/** Both pages remember the same language and organisation. */
export const LOCALE_KEY = "switchboard:console:locale";
const TENANT_KEY = "switchboard:console:tenant";
const LANGUAGES = { en: "English", id: "Bahasa Indonesia" };

function stored(key) {
  try {
    return localStorage.getItem(key) || "";
  } catch {
    return "";
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode: remembered for this page only */
  }
}

/** The language chosen last, else the browser's, else English. */
export function pickLocale(catalogues) {
  for (const l of [stored(LOCALE_KEY), ...(navigator.languages || []), navigator.language]) {
    const tag = String(l || "").toLowerCase().replace(/_/g, "-");
    if (catalogues[tag]) return tag;
    if (catalogues[tag.split("-")[0]]) return tag.split("-")[0];
  }
  return "en";
}

/** t(key, vars): the locale's text, else English's, else the key. */
export function translator(catalogues, locale) {
  const cat = catalogues[locale] || {};
  const en = catalogues.en || {};
  return (k, vars) => format(cat[k] || en[k] || k, vars);
}

/** A language picker; a change reloads the page in the new language. */
export function langSwitch(t, catalogues, locale) {
  const sel = el("select", { class: "lang", "aria-label": t("languageSwitch") },
    ...Object.entries(LANGUAGES).filter(([l]) => catalogues[l]).map(([l, name]) => el("option", { value: l, lang: l, text: name, selected: l === locale })));
  sel.addEventListener("change", () => {
    store(LOCALE_KEY, sel.value);
    // The session is a cookie: the person stays signed in.
    location.reload();
  });
  return sel;
}

/**
 * The sign-in form. onEnter(session) runs after a successful login; it
 * may throw a SwitchboardError, shown like a failed login.
 */
export function loginPage({ t, api, title, message, lang, onEnter }) {
  const q = new URLSearchParams(location.search);
  const field = (name, label, attrs) => {
    const input = el("input", { id: `login-${name}`, name, required: true, ...attrs });
    return [el("label", { for: input.id, text: label }), input];
  };
  const [tl, tenant] = field("tenant", t("tenant"), { autocomplete: "organization", value: q.get("tenant") || stored(TENANT_KEY) });
  const [ul, user] = field("username", t("username"), { autocomplete: "username", autocapitalize: "none" });
  const [pl, pass] = field("password", t("password"), { type: "password", autocomplete: "current-password" });
  const error = el("p", { class: "error", role: "alert", text: message || "" });
  const submit = el("button", { type: "submit", class: "primary", text: t("login") });
  const form = el("form", { class: "login", novalidate: true, "aria-labelledby": "login-title" },
    el("h1", { id: "login-title", text: title }), tl, tenant, ul, user, pl, pass, error, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const missing = [tenant, user, pass].find((i) => !i.value.trim());
    if (missing) {
      error.textContent = t("loginMissing");
      missing.focus();
      return;
    }
    submit.disabled = true;
    try {
      const s = await api.login(tenant.value.trim(), user.value.trim(), pass.value);
      store(TENANT_KEY, tenant.value.trim());
      await onEnter(s);
    } catch (err) {
      submit.disabled = false;
      error.textContent = err.status === 401 || err.status === 404 ? t("loginFailed") : err.status === 403 ? t("forbidden")
        : err.status === 429 ? t("tooManyAttempts") : t("serverUnreachable");
      pass.select();
    }
  });
  const page = el("main", { class: "login-page" }, el("div", { class: "login-top" }, lang), form);
  queueMicrotask(() => (tenant.value ? user : tenant).focus());
  return page;
}

/**
 * The page header: brand, title, links to the other staff pages, the
 * language, who is signed in and a sign-out button.
 */
export function topBar({ t, title, links, lang, name, onLogout }) {
  const nav = el("nav", { class: "pages", "aria-label": t("otherPages") },
    ...links.map(([href, text]) => el("a", { href, text })));
  return el("header", { class: "top" },
    el("span", { class: "brand", text: "Switchboard" }),
    el("h1", { class: "title", text: title }),
    nav,
    el("span", { class: "spacer" }),
    lang,
    el("span", { class: "me", text: name }),
    el("button", { type: "button", class: "ghost", text: t("logout"), onclick: onLogout }));
}

/** Seconds as m:ss, or h:mm:ss from an hour on. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The customer's name among what the bot collected, or "". */
export function customerName(e) {
  const f = (e && e.fields) || {};
  for (const k of ["name", "customerName", "contactName", "displayName", "fullName"]) {
    if (typeof f[k] === "string" && f[k].trim()) return f[k].trim();
  }
  return "";
}

/** A message from the REST API or a real-time event, in one shape. */
export function normalizeMessage(m) {
  const content = m.content || {};
  const sender = m.sender && typeof m.sender === "object" ? m.sender.rawId : m.sender || (m.senderCommunicationIdentifier && m.senderCommunicationIdentifier.rawId) || "";
  return {
    id: m.id || m.messageId,
    type: String(m.type || "text"),
    message: m.message !== undefined ? m.message : content.message || "",
    sender,
    senderDisplayName: m.senderDisplayName || "",
    createdOn: m.createdOn || new Date().toISOString(),
    deletedOn: m.deletedOn,
    metadata: m.metadata || {},
    participants: content.participants || [],
    sequenceId: Number(m.sequenceId) || 0,
  };
}
