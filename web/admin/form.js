// Small form helpers for the admin pages.
import { el } from "../console/common.js";

let seq = 0;

/** A labelled control: [label, control] wrapped in a div.field. */
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++seq}`;
  const parts = [el("label", { for: control.id, text: label }), control];
  if (hint) {
    const h = el("small", { class: "muted", id: `${control.id}-hint`, text: hint });
    control.setAttribute("aria-describedby", h.id);
    parts.push(h);
  }
  return el("div", { class: "field" }, ...parts);
}

export const input = (attrs = {}) => el("input", { type: "text", ...attrs });

export function select(options, value, attrs = {}) {
  const s = el("select", attrs, ...options.map(([v, text]) => el("option", { value: v, text })));
  s.value = value === undefined || value === null ? "" : value;
  return s;
}

/** What an API error says, with the field it names. */
export function errorText(t, err) {
  if (!err) return t("saveFailed");
  if (err.status === 403) return t("forbiddenAction");
  if (err.status === 412) return t("changedMeanwhile");
  const e = err.error || {};
  const msg = e.message || err.message || t("saveFailed");
  return e.target ? t("errorAt", { message: msg, target: e.target }) : msg;
}

/** A status line: ok(text) or fail(text); cleared by clear(). */
export function status() {
  const ok = el("p", { class: "ok", role: "status" });
  const bad = el("p", { class: "error", role: "alert" });
  return {
    nodes: [ok, bad],
    ok(text) {
      bad.textContent = "";
      ok.textContent = text;
    },
    fail(text) {
      ok.textContent = "";
      bad.textContent = text;
    },
    clear() {
      ok.textContent = bad.textContent = "";
    },
  };
}

/** A short id from words, unique among taken. */
export function slugId(words, taken) {
  const base = String(words || "item").toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "item";
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}
