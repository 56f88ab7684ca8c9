// Queues and agents. The queues and the agents' workers (their queues,
// skills and capacity) live in the Job Router, whose API takes only the
// tenant's access key (HMAC), never a login session: this page shows
// what a session may read (the wallboard's queues, the agents) and says
// how to change the rest.
import { el } from "../console/common.js";

const AGENT_STATES = ["available", "busy", "away", "break", "offline"];

export async function queuesSection(a) {
  const t = a.t;
  const [wb, users] = await Promise.all([a.api.wallboard().catch(() => ({ queues: [] })), a.api.users()]);
  const queues = el("tbody", {}, ...(wb.queues || []).map((q) => el("tr", { "data-queue": q.queueId },
    el("td", { class: "mono", text: q.queueId }), el("td", { text: q.name || "" }), el("td", { text: String(q.waiting) }),
    el("td", { text: AGENT_STATES.map((s) => `${(q.agents || {})[s] || 0} ${t("agents_" + s)}`).join(", ") }))));
  const agents = el("tbody", {}, ...users.filter((u) => u.role === "agent").map((u) => el("tr", { "data-user": u.username },
    el("td", { class: "mono", text: u.username }), el("td", { text: u.displayName || "" }), el("td", { class: "mono", text: u.id }))));
  return el("section", { class: "card", "aria-labelledby": "queues-title" },
    el("h2", { id: "queues-title", text: t("section_queues") }),
    el("p", { class: "notice", role: "note", text: t("routerKeyOnly") }),
    el("h3", { text: t("queues") }),
    el("table", { class: "grid" }, el("thead", {}, el("tr", {}, ...["queueId", "queueName", "waitingNow", "agentsNow"].map((k) => el("th", { scope: "col", text: t(k) })))), queues),
    el("h3", { text: t("agents") }),
    el("table", { class: "grid" }, el("thead", {}, el("tr", {}, ...["username", "displayName", "workerId"].map((k) => el("th", { scope: "col", text: t(k) })))), agents),
    el("p", { class: "muted", text: t("routerHowTo") }),
    el("pre", { class: "mono example" }, "PATCH /routing/workers/{workerId}?api-version=2023-11-01\nContent-Type: application/merge-patch+json\n\n" +
      '{"queues": ["support"], "capacity": 100,\n "labels": {"english": true, "indonesian": true},\n "channels": [{"channelId": "chat", "capacityCostPerJob": 20}]}'));
}
