// Bot connections: each bot's name, on/off, language, handoff queue and,
// for a webhook bot, its endpoint (PATCH /bots/{id}); a flow bot's flow
// in the editor (flow.js).
import { el } from "../console/common.js";
import { FlowEditor } from "./flow.js";
import { errorText, field, input, select, status } from "./form.js";

export async function botsSection(a) {
  const t = a.t;
  const [bots, queues] = await Promise.all([a.api.bots(), a.queues()]);
  const list = el("ul", { class: "bot-list" });
  const detail = el("div", { class: "bot-detail" });
  const section = el("section", { class: "card", "aria-labelledby": "bots-title" },
    el("h2", { id: "bots-title", text: t("section_bots") }),
    el("p", { class: "muted", text: t("botsHint") }),
    el("div", { class: "bots" }, list, detail));

  const summary = (b) => [b.id, t("kind_" + b.kind), b.locale || t("anyLanguage"), b.enabled ? t("enabled") : t("disabled")].join(" · ");
  const items = new Map();
  const open = (b) => {
    for (const [id, it] of items) it.button.setAttribute("aria-current", String(id === b.id));
    detail.replaceChildren(botForm(a, b, queues, (nb) => {
      Object.assign(b, nb);
      items.get(b.id).sub.textContent = summary(b);
      items.get(b.id).name.textContent = b.name || b.id;
    }));
  };
  const add = (b) => {
    const name = el("strong", { text: b.name || b.id });
    const sub = el("span", { class: "muted", text: summary(b) });
    const button = el("button", { type: "button", class: "bot-item", "data-bot": b.id, onclick: () => open(b) }, name, sub);
    items.set(b.id, { button, sub, name });
    list.append(el("li", {}, button));
  };
  for (const b of bots) add(b);
  if (bots.length) open(bots[0]);
  else detail.replaceChildren(el("p", { class: "muted", text: t("noBots") }));
  section.append(newBotForm(a, (b) => {
    bots.push(b);
    add(b);
    open(b);
  }, (id) => items.has(id)));
  return section;
}

// newBotForm connects a bot, switched off until it is ready: a flow bot
// has no flow yet, a webhook bot is tried first.
function newBotForm(a, created, taken) {
  const t = a.t;
  const st = status();
  const id = input({ autocomplete: "off", pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" });
  const name = input({ autocomplete: "off" });
  const kind = select([["flow", t("kind_flow")], ["webhook", t("kind_webhook")]], "flow");
  const url = input({ type: "url", placeholder: "https://" });
  const urlField = field(t("webhookUrl"), url);
  urlField.hidden = true;
  kind.addEventListener("change", () => (urlField.hidden = kind.value !== "webhook"));
  const form = el("form", { class: "card create", "aria-labelledby": "new-bot-title" },
    el("h3", { id: "new-bot-title", text: t("newBot") }),
    el("div", { class: "fields" }, field(t("botId"), id, t("botIdHint")), field(t("botName"), name), field(t("botKind"), kind), urlField),
    el("div", { class: "bar" }, el("button", { type: "submit", class: "primary", text: t("connectBot") }), ...st.nodes));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const bid = id.value.trim();
    if (!bid || !name.value.trim()) return st.fail(t("botMissing"));
    if (taken(bid)) return st.fail(t("botTaken", { id: bid }));
    const body = { name: name.value.trim(), kind: kind.value, channels: ["webchat"], enabled: false };
    if (kind.value === "webhook") body.webhook = { url: url.value.trim() };
    try {
      const b = await a.api.patchBot(bid, body);
      st.ok(t("botConnected", { id: b.id }));
      form.reset();
      urlField.hidden = true;
      created(b);
    } catch (err) {
      st.fail(errorText(t, err));
    }
  });
  return form;
}

function botForm(a, b, queues, changed) {
  const t = a.t;
  const st = status();
  const name = input({ value: b.name || "" });
  const enabled = el("input", { type: "checkbox", id: `bot-enabled-${b.id}`, checked: !!b.enabled });
  const locale = select([["", t("anyLanguage")], ["en", "English"], ["id", "Bahasa Indonesia"]], b.locale || "");
  const qs = queues.map((q) => [q.id, q.name === q.id ? q.id : `${q.name} (${q.id})`]);
  if (b.handoffQueueId && !queues.some((q) => q.id === b.handoffQueueId)) qs.push([b.handoffQueueId, b.handoffQueueId]);
  const queue = select([["", t("noQueue")], ...qs], b.handoffQueueId || "");
  const hook = (w) => [input({ type: "url", value: (w && w.url) || "", placeholder: "https://" }),
    input({ type: "number", min: "0", max: "30", step: "0.5", value: w && w.timeoutSeconds ? String(w.timeoutSeconds) : "" })];
  const [hookURL, hookTimeout] = hook(b.webhook);
  const [lookupURL, lookupTimeout] = hook(b.lookup);
  let etag = b.etag;
  const save = el("button", { type: "submit", class: "primary", text: t("saveBot") });
  const form = el("form", { class: "bot-form", "aria-labelledby": `bot-title-${b.id}` },
    el("h3", { id: `bot-title-${b.id}` }, el("span", { text: b.name || b.id }), el("span", { class: "muted mono", text: b.id })),
    el("div", { class: "fields" },
      field(t("botName"), name),
      el("div", { class: "field check" }, enabled, el("label", { for: enabled.id, text: t("botEnabled") })),
      field(t("botLocale"), locale, t("botLocaleHint")),
      field(t("handoffQueue"), queue)),
    b.kind === "webhook"
      ? el("fieldset", {}, el("legend", { text: t("webhook") }), el("div", { class: "fields" },
        field(t("webhookUrl"), hookURL), field(t("timeoutSeconds"), hookTimeout, t("timeoutHint"))))
      : el("fieldset", {}, el("legend", { text: t("lookup") }), el("div", { class: "fields" },
        field(t("lookupUrl"), lookupURL, t("lookupHint")), field(t("timeoutSeconds"), lookupTimeout, t("timeoutHint")))),
    el("div", { class: "bar" }, save, ...st.nodes));
  const endpoint = (url, timeout) => {
    const u = url.value.trim();
    if (!u) return undefined;
    const w = { url: u };
    if (timeout.value) w.timeoutSeconds = Number(timeout.value);
    return w;
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const patch = { name: name.value.trim(), enabled: enabled.checked, locale: locale.value, handoffQueueId: queue.value };
    const w = b.kind === "webhook" ? endpoint(hookURL, hookTimeout) : endpoint(lookupURL, lookupTimeout);
    if (w) patch[b.kind === "webhook" ? "webhook" : "lookup"] = w;
    save.disabled = true;
    try {
      const nb = await a.api.patchBot(b.id, patch, etag);
      etag = nb.etag;
      changed(nb);
      st.ok(t("botSaved"));
    } catch (err) {
      st.fail(errorText(t, err));
    } finally {
      save.disabled = false;
    }
  });
  const box = el("div", {}, form);
  if (b.kind === "flow") {
    const editor = new FlowEditor(a, b);
    editor.onSaved = (nb) => {
      etag = nb.etag;
      changed(nb);
    };
    box.append(editor.node);
    editor.load();
  }
  return box;
}
