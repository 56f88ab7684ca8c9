// The web chat widget: its name, colours, greeting, business hours and
// the queue chats wait in when no bot names one (GET/PUT
// /webchat/settings). What this page does not edit (pre-chat fields,
// uploads, other languages' texts) is sent back as it came.
import { el } from "../console/common.js";
import { errorText, field, input, select, status } from "./form.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const SPAN = /^([01]\d|2[0-3]):[0-5]\d\s*[-–]\s*([01]\d|2[0-3]):[0-5]\d$/;
const LOCALES = [["en", "English"], ["id", "Bahasa Indonesia"]];

export async function widgetSection(a) {
  const t = a.t;
  const [s, queues] = await Promise.all([a.api.webchatSettings(), a.queues()]);
  const st = status();
  const name = input({ value: s.name || "", maxlength: "80" });
  const colors = s.colors || {};
  const color = (v) => el("input", { type: "color", value: /^#[0-9a-f]{6}$/i.test(v || "") ? v : "#000000" });
  const primary = color(colors.primary);
  const background = color(colors.background);
  const text = color(colors.text);
  const texts = (map, key) => LOCALES.map(([l, label]) => {
    const ta = el("textarea", { rows: "2", lang: l, maxlength: "500" });
    ta.value = (map || {})[l] || "";
    return [l, field(t(key, { language: label }), ta), ta];
  });
  const greeting = texts(s.greeting, "greetingIn");
  const hours = s.businessHours || {};
  const zone = input({ value: hours.timezone || "UTC", list: "zones" });
  const zones = el("datalist", { id: "zones" }, ...["UTC", "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Singapore", "Europe/London", "America/New_York"]
    .map((z) => el("option", { value: z })));
  const weekly = hours.weekly || {};
  const days = DAYS.map((d) => [d, input({ value: (weekly[d] || []).map((sp) => `${sp[0]}-${sp[1]}`).join(", "), placeholder: t("closedDay"), "data-day": d })]);
  const closed = texts(hours.closedMessage, "closedMessageIn");
  const qs = queues.map((q) => [q.id, q.name === q.id ? q.id : `${q.name} (${q.id})`]);
  if (s.queueId && !queues.some((q) => q.id === s.queueId)) qs.push([s.queueId, s.queueId]);
  const queue = select([["", t("noQueue")], ...qs], s.queueId || "");

  const form = el("form", { class: "card settings", "aria-labelledby": "widget-title" },
    el("h2", { id: "widget-title", text: t("section_widget") }),
    el("p", { class: "muted", text: t("widgetHint") }),
    el("div", { class: "fields" }, field(t("widgetName"), name), field(t("widgetQueue"), queue, t("widgetQueueHint"))),
    el("fieldset", {}, el("legend", { text: t("colours") }),
      el("div", { class: "fields" }, field(t("colourPrimary"), primary), field(t("colourBackground"), background), field(t("colourText"), text))),
    el("fieldset", {}, el("legend", { text: t("greeting") }), el("div", { class: "fields" }, ...greeting.map((g) => g[1]))),
    el("fieldset", {}, el("legend", { text: t("businessHours") }),
      el("p", { class: "muted", text: t("hoursHint") }),
      el("div", { class: "fields" }, field(t("timezone"), zone), zones),
      el("div", { class: "fields days" }, ...days.map(([d, i]) => field(t("day_" + d), i))),
      el("div", { class: "fields" }, ...closed.map((c) => c[1]))),
    el("div", { class: "bar" }, el("button", { type: "submit", class: "primary", text: t("saveWidget") }), ...st.nodes));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const week = {};
    for (const [d, i] of days) {
      const spans = i.value.split(",").map((x) => x.trim()).filter(Boolean);
      for (const sp of spans) {
        if (!SPAN.test(sp)) {
          i.focus();
          return st.fail(t("badHours", { day: t("day_" + d), value: sp }));
        }
      }
      if (spans.length) week[d] = spans.map((sp) => sp.split(/\s*[-–]\s*/));
    }
    const merge = (old, list) => {
      const out = { ...(old || {}) };
      for (const [l, , ta] of list) {
        if (ta.value.trim()) out[l] = ta.value.trim();
        else delete out[l];
      }
      return out;
    };
    const next = {
      ...s,
      name: name.value.trim(),
      colors: { primary: primary.value, background: background.value, text: text.value },
      greeting: merge(s.greeting, greeting),
      businessHours: { ...hours, timezone: zone.value.trim(), weekly: week, closedMessage: merge(hours.closedMessage, closed) },
      queueId: queue.value,
    };
    try {
      Object.assign(s, await a.api.putWebchatSettings(next));
      st.ok(t("widgetSaved"));
    } catch (err) {
      st.fail(errorText(t, err));
    }
  });
  return form;
}
