// The agent desktop's settings (GET/PUT /desk/settings): canned
// responses, disposition codes, break reasons and the service-level
// target the wallboard counts against.
import { el } from "../console/common.js";
import { errorText, field, input, select, slugId, status } from "./form.js";

export async function deskSection(a) {
  const t = a.t;
  const s = await a.api.deskSettings();
  const st = status();

  // Canned responses: one row each.
  const cannedBody = el("tbody");
  const cannedRow = (c = {}) => {
    const n = cannedBody.childElementCount + 1;
    const shortcut = input({ value: c.shortcut || "", "aria-label": t("cannedShortcutN", { n }), class: "short" });
    const title = input({ value: c.title || "", "aria-label": t("cannedTitleN", { n }) });
    const locale = select([["", t("anyLanguage")], ["en", t("labelEn")], ["id", t("labelId")]], c.locale || "", { "aria-label": t("cannedLocaleN", { n }) });
    const text = el("textarea", { rows: "2", "aria-label": t("cannedTextN", { n }) });
    text.value = c.text || "";
    const tr = el("tr", { "data-id": c.id || "" }, el("td", {}, shortcut), el("td", {}, title), el("td", {}, locale), el("td", { class: "wide" }, text),
      el("td", {}, el("button", { type: "button", class: "danger", text: t("remove"), "aria-label": t("removeN", { n }), onclick: () => tr.remove() })));
    tr.read = () => ({ id: tr.dataset.id, shortcut: shortcut.value.trim(), title: title.value.trim(), locale: locale.value, text: text.value.trim() });
    cannedBody.append(tr);
    return tr;
  };
  for (const c of s.cannedResponses || []) cannedRow(c);

  // Disposition codes and break reasons: a code and its label per language.
  const codes = (key, list) => {
    const body = el("tbody");
    const row = (d = {}) => {
      const n = body.childElementCount + 1;
      const code = input({ value: d.code || "", "aria-label": t(key + "CodeN", { n }), class: "short" });
      const en = input({ value: (d.label || {}).en || "", "aria-label": t(key + "EnN", { n }) });
      const id = input({ value: (d.label || {}).id || "", "aria-label": t(key + "IdN", { n }) });
      const tr = el("tr", {}, el("td", {}, code), el("td", {}, en), el("td", {}, id),
        el("td", {}, el("button", { type: "button", class: "danger", text: t("remove"), onclick: () => tr.remove() })));
      tr.read = () => {
        const label = {};
        if (en.value.trim()) label.en = en.value.trim();
        if (id.value.trim()) label.id = id.value.trim();
        return { code: code.value.trim(), label };
      };
      body.append(tr);
      return tr;
    };
    for (const d of list || []) row(d);
    const table = el("fieldset", {}, el("legend", { text: t(key) }),
      el("table", { class: "grid edit" },
        el("thead", {}, el("tr", {}, ...["code", "labelEn", "labelId"].map((k) => el("th", { scope: "col", text: t(k) })), el("th", {}))), body),
      el("button", { type: "button", text: t(key + "Add"), onclick: () => row().querySelector("input").focus() }));
    return { table, read: () => [...body.children].map((tr) => tr.read()).filter((d) => d.code) };
  };
  const dispositions = codes("dispositionCodes", s.dispositionCodes);
  const breaks = codes("breakReasons", s.breakReasons);
  const sl = input({ type: "number", min: "1", max: "3600", value: String(s.serviceLevelSeconds || 20) });

  const form = el("form", { class: "card settings", "aria-labelledby": "desk-title" },
    el("h2", { id: "desk-title", text: t("section_desk") }),
    el("fieldset", {}, el("legend", { text: t("cannedResponses") }),
      el("p", { class: "muted", text: t("cannedHint") }),
      el("table", { class: "grid edit canned" },
        el("thead", {}, el("tr", {}, ...["shortcut", "cannedTitle", "language", "cannedText"].map((k) => el("th", { scope: "col", text: t(k) })), el("th", {}))),
        cannedBody),
      el("button", { type: "button", text: t("cannedAdd"), onclick: () => cannedRow().querySelector("input").focus() })),
    dispositions.table,
    breaks.table,
    el("fieldset", {}, el("legend", { text: t("serviceLevel") }), el("div", { class: "fields" }, field(t("serviceLevelSeconds"), sl, t("serviceLevelHint")))),
    el("div", { class: "bar" }, el("button", { type: "submit", class: "primary", text: t("saveDesk") }), ...st.nodes));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const rows = [...cannedBody.children];
    const taken = new Set(rows.map((tr) => tr.dataset.id).filter(Boolean));
    const canned = [];
    for (const tr of rows) {
      const c = tr.read();
      if (!c.text && !c.title) continue;
      if (!c.id) {
        c.id = slugId(c.shortcut || c.title, taken);
        tr.dataset.id = c.id;
      }
      if (!c.title) c.title = c.shortcut || c.text.slice(0, 40);
      if (!c.locale) delete c.locale;
      if (!c.shortcut) delete c.shortcut;
      canned.push(c);
    }
    const next = { cannedResponses: canned, dispositionCodes: dispositions.read(), breakReasons: breaks.read(), serviceLevelSeconds: Number(sl.value) };
    try {
      await a.api.putDeskSettings(next);
      st.ok(t("deskSaved"));
    } catch (err) {
      st.fail(errorText(t, err));
    }
  });
  return form;
}
