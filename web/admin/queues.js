// Queues and agents: the Job Router's queues and the agents' workers
// (which queues they serve, their skills as labels, their capacity and
// what a chat costs of it), through /routing/queues and /routing/workers,
// which an admin's session may change.
import { el } from "../console/common.js";
import { errorText, field, input, select, status } from "./form.js";

// Labels the platform and the router set on a worker; not skills.
const RESERVED = new Set(["agentId", "name", "Id"]);

export async function queuesSection(a) {
  const [users, queues, workers, policies] = await Promise.all([a.api.users(), ...["queues", "workers", "distributionPolicies"].map((k) => a.api.router(k))]);
  return editable(a, users, { queues, workers, policies });
}

/** Skills as the admin types them: "english, indonesian, tier=2". */
export function parseSkills(text) {
  const out = {};
  for (const part of String(text).split(",").map((x) => x.trim()).filter(Boolean)) {
    const [k, ...rest] = part.split("=");
    const key = k.trim();
    if (!key) continue;
    if (!rest.length) {
      out[key] = true;
      continue;
    }
    const v = rest.join("=").trim();
    out[key] = v === "true" ? true : v === "false" ? false : v !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

function skillsText(labels) {
  return Object.entries(labels || {}).filter(([k]) => !RESERVED.has(k)).map(([k, v]) => (v === true ? k : `${k}=${v}`)).join(", ");
}

function editable(a, users, router) {
  const t = a.t;
  const st = status();
  const policies = router.policies.map((p) => [p.id, p.name ? `${p.name} (${p.id})` : p.id]);
  const queueIds = router.queues.map((q) => q.id);

  // Queues: a name and a distribution policy each; new ones below.
  const qBody = el("tbody");
  const queueRow = (q) => {
    const name = input({ value: q.name || "", "aria-label": t("queueNameOf", { queue: q.id }) });
    const policy = select(policies, q.distributionPolicyId || "", { "aria-label": t("queuePolicyOf", { queue: q.id }) });
    const rowStatus = el("span", { class: "row-status", role: "status" });
    const save = el("button", { type: "button", text: t("save"), "aria-label": t("saveQueue", { queue: q.id }) });
    save.addEventListener("click", async () => {
      save.disabled = true;
      rowStatus.textContent = "";
      try {
        Object.assign(q, await a.api.patchRouter("queues", q.id, { name: name.value.trim(), distributionPolicyId: policy.value }));
        rowStatus.textContent = t("saved");
        st.clear();
      } catch (err) {
        st.fail(errorText(t, err));
      } finally {
        save.disabled = false;
      }
    });
    return el("tr", { "data-queue": q.id }, el("td", { class: "mono", text: q.id }), el("td", {}, name), el("td", {}, policy), el("td", {}, save, rowStatus));
  };
  qBody.append(...router.queues.map(queueRow));
  const nqId = input({ autocomplete: "off" });
  const nqName = input({ autocomplete: "off" });
  const nqPolicy = select(policies, policies.length ? policies[0][0] : "");
  const newQueue = el("form", { class: "card create", "aria-labelledby": "new-queue-title" },
    el("h3", { id: "new-queue-title", text: t("newQueue") }),
    el("div", { class: "fields" }, field(t("queueId"), nqId), field(t("queueName"), nqName), field(t("distributionPolicy"), nqPolicy)),
    el("button", { type: "submit", class: "primary", text: t("createQueue") }));
  newQueue.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = nqId.value.trim();
    if (!id || queueIds.includes(id)) return st.fail(id ? t("queueTaken", { queue: id }) : t("queueMissing"));
    try {
      const q = await a.api.patchRouter("queues", id, { name: nqName.value.trim() || id, distributionPolicyId: nqPolicy.value });
      queueIds.push(id);
      router.queues.push(q);
      qBody.append(queueRow(q));
      renderWorkers();
      st.ok(t("queueCreated", { queue: id }));
      newQueue.reset();
    } catch (err) {
      st.fail(errorText(t, err));
    }
  });

  // Workers: every worker, and every agent who has none yet.
  const wBody = el("tbody");
  const byId = new Map(router.workers.map((w) => [w.id, w]));
  const people = new Map(users.map((u) => [u.id, u]));
  const rows = [...router.workers.map((w) => ({ id: w.id, doc: w })),
    ...users.filter((u) => u.role === "agent" && !byId.has(u.id)).map((u) => ({ id: u.id, doc: null }))];
  const workerRow = (r) => {
    const doc = r.doc || {};
    const u = people.get(r.id);
    const who = (u && (u.displayName || u.username)) || (doc.labels && doc.labels.name) || r.id;
    const chat = (doc.channels || []).find((c) => c.channelId === "chat") || {};
    const queues = new Set(doc.queues || []);
    const boxes = queueIds.map((q) => {
      const box = el("input", { type: "checkbox", id: `wq-${r.id}-${q}`, value: q, checked: queues.has(q) });
      return el("span", { class: "check" }, box, el("label", { for: box.id, text: q }));
    });
    const capacity = input({ type: "number", min: "0", step: "1", value: doc.capacity !== undefined ? String(doc.capacity) : "100", "aria-label": t("capacityOf", { agent: who }) });
    const cost = input({ type: "number", min: "0", step: "1", value: chat.capacityCostPerJob !== undefined ? String(chat.capacityCostPerJob) : "20", "aria-label": t("chatCostOf", { agent: who }) });
    const skills = input({ value: skillsText(doc.labels), placeholder: "english, tier=2", "aria-label": t("skillsOf", { agent: who }) });
    const rowStatus = el("span", { class: "row-status", role: "status" });
    const save = el("button", { type: "button", text: r.doc ? t("save") : t("createWorker"), "aria-label": t("saveWorker", { agent: who }) });
    save.addEventListener("click", async () => {
      const cur = r.doc || {};
      const chosen = boxes.map((b) => b.querySelector("input")).filter((b) => b.checked).map((b) => b.value);
      const next = parseSkills(skills.value);
      const labels = { ...next };
      // A skill taken away is removed (null in a merge patch).
      for (const k of Object.keys(cur.labels || {})) if (!RESERVED.has(k) && !(k in next)) labels[k] = null;
      // Other channels stay as they are; the chat channel gets the new cost.
      const channels = (cur.channels || []).filter((c) => c.channelId !== "chat");
      const curChat = (cur.channels || []).find((c) => c.channelId === "chat") || {};
      channels.push({ ...curChat, channelId: "chat", capacityCostPerJob: Number(cost.value) });
      const patch = { queues: chosen, capacity: Number(capacity.value), channels, labels };
      if (!r.doc) {
        // A new agent's worker, as the desktop would make it.
        Object.assign(patch, { availableForOffers: false, presence: { status: "offline" } });
        patch.labels = { ...next, agentId: r.id, name: who };
      }
      save.disabled = true;
      rowStatus.textContent = "";
      try {
        r.doc = await a.api.patchRouter("workers", r.id, patch);
        rowStatus.textContent = t("saved");
        save.textContent = t("save");
        st.clear();
      } catch (err) {
        st.fail(errorText(t, err));
      } finally {
        save.disabled = false;
      }
    });
    return el("tr", { "data-worker": r.id, "data-user": u ? u.username : "" },
      el("th", { scope: "row", text: who }),
      el("td", {}, el("div", { class: "checks", role: "group", "aria-label": t("queuesOf", { agent: who }) }, ...boxes)),
      el("td", {}, skills), el("td", { class: "num" }, capacity), el("td", { class: "num" }, cost), el("td", {}, save, rowStatus));
  };
  const renderWorkers = () => wBody.replaceChildren(...rows.map(workerRow));
  renderWorkers();

  return el("section", { class: "card", "aria-labelledby": "queues-title" },
    el("h2", { id: "queues-title", text: t("section_queues") }),
    ...st.nodes,
    el("h3", { text: t("queues") }),
    el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ...["queueId", "queueName", "distributionPolicy"].map((k) => el("th", { scope: "col", text: t(k) })), el("th", { scope: "col" }, el("span", { class: "sr", text: t("actions") })))),
      qBody),
    newQueue,
    el("h3", { text: t("agentsRouting") }),
    el("p", { class: "muted", text: t("agentsRoutingHint") }),
    el("table", { class: "grid workers" },
      el("thead", {}, el("tr", {}, ...["agent", "queues", "skills", "capacity", "chatCost"].map((k) => el("th", { scope: "col", text: t(k) })), el("th", { scope: "col" }, el("span", { class: "sr", text: t("actions") })))),
      wBody));
}
