// One conversation the agent holds: its pane (history, live messages,
// typing, read receipts, reply box, transfer, end and wrap-up) and its side
// panel (the customer's contact card, what the bot collected, the job's
// labels, private notes and supervisors' whispers, past conversations).
// Server data never goes through innerHTML: text is textContent and html
// messages go through the widget's allow-list.
import { isAfter } from "../client/index.js";
import { bytes, el, format, icon, safeHTML, safeURL } from "../widget/render.js";

const HISTORY_PAGE = 100;
const HISTORY_PAGES = 20; // 2,000 messages: a whole web chat history
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 6000;
const CLIP_ICON = "M8 12.5V7a4 4 0 0 1 8 0v9a6 6 0 0 1-12 0V8";

export const DISPOSITIONS = ["resolved", "followUp", "escalated", "noResponse", "spam"];
// Colleagues to hand a conversation to: who can take it now comes first.
const PRESENCE_ORDER = ["available", "busy", "away", "break", "offline"];
const presenceRank = (p) => (PRESENCE_ORDER.includes(p) ? PRESENCE_ORDER.indexOf(p) : PRESENCE_ORDER.length);

/** The customer's name and e-mail among a job's labels or collected fields. */
export function customerOf(labels = {}) {
  const pick = (...keys) => keys.map((k) => labels[k]).find((v) => typeof v === "string" && v.trim()) || "";
  return {
    name: pick("name", "customerName", "contact_name", "contactName", "displayName", "fullName"),
    email: pick("email", "customerEmail", "contact_email", "contactEmail", "e-mail"),
  };
}

export class Conversation {
  /**
   * @param {import("./desk.js").Desk} desk
   * @param {object} engagement as the API returns it
   * @param {Record<string,string>} [labels] the job's labels, from the offer
   */
  constructor(desk, engagement, labels) {
    this.desk = desk;
    this.t = desk.t;
    this.e = engagement;
    this.id = engagement.id;
    this.threadId = engagement.threadId;
    this.labels = labels || {};
    this.thread = desk.conn.thread(this.threadId);
    this.rendered = new Map(); // message id → element
    this.bots = new Set(engagement.botIdentity ? [engagement.botIdentity] : []);
    this.unread = 0;
    this.lastTypingSent = 0;
    this.lastRead = "";
    this.historyLoaded = false;
    this.contact = null;
    const c = customerOf({ ...(engagement.fields || {}), ...this.labels });
    this.customerName = c.name;
    this.customerEmail = c.email;
    this.build();
  }

  get name() {
    return this.customerName || (this.contact && this.contact.displayName) || this.t("customer");
  }

  // ---- building ----

  build() {
    const t = this.t;
    this.title = el("h2", { id: `title-${this.id}`, text: this.name });
    this.stateBadge = el("span", { class: "state" });
    this.endButton = el("button", { type: "button", class: "danger", text: t("end"), onclick: () => this.askEnd() });
    this.confirmBox = el("div", { class: "confirm", hidden: true, role: "group", "aria-label": t("endConfirm") },
      el("span", { text: t("endConfirm") }),
      el("button", { type: "button", class: "danger", text: t("endConfirmYes"), onclick: () => this.end() }),
      el("button", { type: "button", text: t("endConfirmNo"), onclick: () => this.cancelEnd() }));
    this.transferButton = el("button", { type: "button", text: t("transfer"), onclick: () => this.askTransfer() });
    // One target: a queue or a colleague; choosing one clears the other.
    this.transferQueue = el("select", { id: `transfer-queue-${this.id}`, onchange: () => this.pickTarget(this.transferQueue, this.transferAgent) });
    this.transferAgent = el("select", { id: `transfer-agent-${this.id}`, onchange: () => this.pickTarget(this.transferAgent, this.transferQueue) });
    this.transferHint = el("p", { class: "hint muted", "aria-live": "polite" });
    this.transferError = el("p", { class: "error", role: "alert" });
    this.transferSubmit = el("button", { type: "submit", class: "primary", text: t("transfer") });
    this.colleagues = [];
    this.transferBox = el("form", { class: "confirm transfer", hidden: true, "aria-label": t("transfer"), onsubmit: (e) => this.transfer(e) },
      el("span", { class: "pick" }, el("label", { for: this.transferQueue.id, text: t("transferToQueue") }), this.transferQueue),
      el("span", { class: "pick" }, el("label", { for: this.transferAgent.id, text: t("transferToColleague") }), this.transferAgent),
      this.transferSubmit,
      el("button", { type: "button", text: t("cancel"), onclick: () => {
        this.transferBox.hidden = true;
        this.transferButton.focus();
      } }), this.transferHint, this.transferError);
    this.queueTag = el("span", { class: "queue", title: t("queue") });
    this.head = el("header", { class: "chat-head" },
      el("button", { type: "button", class: "back", text: t("back"), "aria-label": t("backToList"), onclick: () => this.desk.showView("list") }),
      el("div", { class: "who" }, this.title, this.queueTag, this.stateBadge),
      el("button", { type: "button", class: "info-toggle", text: t("details"), "aria-label": t("details"), onclick: () => this.desk.toggleInfo() }),
      this.transferButton, this.endButton);
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-labelledby": this.title.id, tabindex: "0" });
    this.typing = el("div", { class: "typing", "aria-live": "polite" });
    this.alert = el("p", { class: "error", role: "alert" });
    this.composer = this.buildComposer();
    this.wrapForm = null;
    this.pane = el("section", { class: "conversation", "aria-labelledby": this.title.id, "data-engagement": this.id },
      this.head, this.confirmBox, this.transferBox, this.log, this.typing, this.alert, this.composer);
    this.info = el("div", { class: "info-body" });
    this.item = el("button", { type: "button", class: "conv", "data-engagement": this.id, onclick: () => this.desk.activate(this) });
    this.buildNotes();
    this.renderInfo();
    this.renderState();
  }

  buildComposer() {
    const t = this.t;
    const ta = el("textarea", { class: "reply", rows: "2", placeholder: t("replyPlaceholder"), "aria-label": t("reply"),
      "aria-autocomplete": "list", "aria-controls": `canned-${this.id}`, "aria-expanded": "false" });
    ta.addEventListener("keydown", (e) => this.onReplyKey(e));
    ta.addEventListener("input", () => {
      this.updateCanned();
      this.typed();
    });
    ta.addEventListener("blur", () => setTimeout(() => this.closeCanned(), 150));
    this.textarea = ta;
    this.canned = el("ul", { id: `canned-${this.id}`, class: "canned", role: "listbox", "aria-label": t("cannedResponses"), hidden: true });
    this.fileInput = el("input", { type: "file", class: "sr", tabindex: "-1", "aria-hidden": "true", onchange: () => this.upload() });
    return el("div", { class: "composer" },
      this.canned,
      el("button", { type: "button", class: "icon", title: t("attach"), "aria-label": t("attach"), onclick: () => this.fileInput.click() }, icon(CLIP_ICON, true)),
      ta, this.fileInput,
      el("button", { type: "button", class: "primary", text: t("send"), onclick: () => this.send() }));
  }

  renderState() {
    const st = this.e.state;
    this.stateBadge.textContent = st === "wrapUp" ? this.t("stateWrapUp") : "";
    this.stateBadge.hidden = st !== "wrapUp";
    this.endButton.hidden = st !== "assigned";
    this.transferButton.hidden = st !== "assigned";
    if (st !== "assigned") {
      this.confirmBox.hidden = true;
      this.transferBox.hidden = true;
    }
    this.title.textContent = this.name;
    this.queueTag.textContent = this.desk.queueName(this.e.queueId);
    this.queueTag.hidden = !this.e.queueId;
    this.renderItem();
    if (st === "wrapUp") this.showWrapUp();
  }

  /** Draws the queue's name again (the desk learnt the names). */
  renderQueue() {
    this.queueTag.textContent = this.desk.queueName(this.e.queueId);
    this.renderInfo();
  }

  renderItem() {
    const badge = el("span", { class: "badge", text: this.unread > 9 ? "9+" : String(this.unread), hidden: this.unread === 0,
      "aria-label": format(this.t("unread"), { count: this.unread }) });
    const preview = el("span", { class: "preview", text: this.preview || "" });
    const sub = this.e.state === "wrapUp" ? el("span", { class: "tag", text: this.t("stateWrapUp") }) : null;
    this.item.replaceChildren(...[el("span", { class: "name", text: this.name }), sub, preview, badge].filter(Boolean));
  }

  renderInfo() {
    const t = this.t;
    const e = this.e;
    const dl = (pairs) => {
      const list = el("dl");
      for (const [k, v] of pairs) if (v !== undefined && v !== null && String(v) !== "") list.append(el("dt", { text: k }), el("dd", { text: String(v) }));
      return list;
    };
    const parts = [];
    // The customer: the contact card when the agent may read it, else what
    // the engagement and the job carry.
    const card = el("section", { class: "card contact", "aria-label": t("customerCard") }, el("h3", { text: t("customerCard") }));
    const c = this.contact;
    if (c) {
      const pairs = [[t("name"), c.displayName || this.customerName]];
      const shown = new Set([c.displayName]);
      for (const [k, v] of Object.entries(c.fields || {})) {
        if (k === "name" && v === c.displayName) continue;
        pairs.push([k === "email" ? t("email") : k === "phone" ? t("phone") : k, v]);
        shown.add(v);
      }
      // E-mail addresses and phone numbers the customer is known by (the
      // chat identity is not for people to read).
      for (const h of c.handles || []) {
        if (!["email", "phone"].includes(h.kind) || shown.has(h.value)) continue;
        pairs.push([t(h.kind), h.value]);
        shown.add(h.value);
      }
      card.append(dl(pairs));
    } else {
      card.append(dl([[t("name"), this.customerName], [t("email"), this.customerEmail]]));
      if (this.contactError) card.append(el("p", { class: "muted", text: this.contactError }));
    }
    parts.push(card);
    const fields = Object.entries(e.fields || {});
    parts.push(el("section", { class: "card fields", "aria-label": t("collected") }, el("h3", { text: t("collected") }),
      fields.length ? dl(fields) : el("p", { class: "muted", text: t("nothingCollected") })));
    parts.push(el("section", { class: "card details", "aria-label": t("conversationDetails") }, el("h3", { text: t("conversationDetails") }),
      dl([[t("queue"), this.desk.queueName(e.queueId)], [t("channel"), e.channel], [t("language"), e.locale],
        [t("handoffReason"), e.handoffReason ? this.desk.reasonText(e.handoffReason) : ""],
        [t("started"), e.createdAt ? this.desk.dateTime(e.createdAt) : ""]])));
    const labels = Object.entries(this.labels).filter(([k]) => !["engagementId", "threadId", "contactId", "channel", "locale", "handoffReason"].includes(k));
    if (labels.length) {
      parts.push(el("section", { class: "card labels", "aria-label": t("jobLabels") }, el("h3", { text: t("jobLabels") }), dl(labels)));
    }
    parts.push(this.notesSection);
    const past = el("section", { class: "card past", "aria-label": t("pastConversations") }, el("h3", { text: t("pastConversations") }));
    if (this.past === undefined) {
      past.append(el("p", { class: "muted", text: t("loading") }));
    } else if (this.past === null) {
      past.append(el("p", { class: "muted", text: t("pastFailed") }));
    } else if (!this.past.length) {
      past.append(el("p", { class: "muted", text: t("noPast") }));
    } else {
      const ul = el("ul");
      for (const x of this.past) {
        const outcome = x.dispositionCode ? this.desk.dispositionLabel(x.dispositionCode) : this.desk.stateText(x.state);
        const bits = [outcome];
        if (x.agentName) bits.push(format(t("withAgent"), { name: x.agentName }));
        if (x.rating) bits.push(format(t("rated"), { rating: x.rating }));
        ul.append(el("li", { "data-engagement": x.id },
          el("time", { datetime: x.createdAt, text: this.desk.dateTime(x.createdAt) }), el("span", { text: " · " + bits.join(" · ") })));
      }
      past.append(ul);
    }
    past.append(el("p", { class: "muted", text: t("sameThreadNote") }));
    parts.push(past);
    this.info.replaceChildren(...parts);
  }

  // ---- loading ----

  /** Loads the history, receipts, contact card and past conversations. */
  async load() {
    const history = this.loadHistory().catch(() => {
      if (!this.rendered.size) this.alert.textContent = this.t("historyFailed");
    });
    await Promise.all([history, this.loadContact(), this.loadPast(), this.loadNotes()]);
  }

  async loadHistory() {
    let msgs;
    try {
      msgs = await this.thread.listMessages({ maxPageSize: HISTORY_PAGE, maxPages: HISTORY_PAGES });
    } catch (err) {
      if (err.status !== 403 && err.status !== 404) throw err;
      // After the end the agent has left the thread: the transcript (the
      // conversation as the customer saw it) is still the agent's to read.
      msgs = await this.desk.api.transcript(this.id);
      for (const m of msgs.reverse()) this.addFromREST(m);
      this.sortLog();
      this.renderItem();
      return;
    }
    for (const m of msgs.reverse()) this.addFromREST(m);
    this.sortLog();
    this.renderItem();
    this.historyLoaded = true;
    const receipts = await this.thread.listReadReceipts().catch(() => []);
    for (const r of receipts) this.showSeen({ sender: r.senderCommunicationIdentifier, chatMessageId: r.chatMessageId });
    this.markRead();
  }

  addFromREST(m) {
    const type = String(m.type).toLowerCase();
    const content = m.content || {};
    if (type === "text" || type === "html") {
      this.addMessage({ id: m.id, type, message: content.message, attachments: content.attachments, metadata: m.metadata,
        sender: m.senderCommunicationIdentifier, senderDisplayName: m.senderDisplayName, createdOn: m.createdOn, deletedOn: m.deletedOn },
      { replace: true });
    } else if (type === "participantadded" || type === "participantremoved") {
      for (const p of content.participants || []) {
        this.noteParticipant(p);
        this.sys(type === "participantadded" ? "joined" : "left", { id: p.communicationIdentifier, displayName: p.displayName }, m.id);
      }
    } else if (type === "topicupdated" && content.topic) {
      this.sysText(format(this.t("topic"), { topic: content.topic }), `topic|${m.id}`, m.id);
    }
  }

  async loadContact() {
    if (!this.e.contactId) return;
    try {
      this.contact = await this.desk.api.contact(this.e.contactId);
      if (!this.customerName && this.contact.displayName) this.customerName = this.contact.displayName;
      if (!this.customerEmail && this.contact.fields) this.customerEmail = customerOf(this.contact.fields).email;
    } catch (err) {
      this.contactError = err.status === 403 ? this.t("contactForbidden") : this.t("contactFailed");
    }
    this.renderInfo();
    this.renderState();
  }

  // Past conversations: the customer's other engagements (GET
  // /engagements/{id}/history), newest first.
  async loadPast() {
    try {
      this.past = await this.desk.api.history(this.id);
    } catch {
      this.past = null;
    }
    this.renderInfo();
  }

  // ---- private notes (staff only: the engagement's side thread) ----

  buildNotes() {
    const t = this.t;
    this.notesList = el("ol", { class: "notes-list", "aria-live": "polite" });
    this.noteNone = el("p", { class: "muted", text: t("noNotes") });
    const input = el("textarea", { rows: "2", maxlength: "4000", "aria-label": t("newNote"), placeholder: t("newNote") });
    const error = el("p", { class: "error", role: "alert" });
    const form = el("form", { class: "note-form" }, input, error, el("button", { type: "submit", text: t("addNote") }));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      error.textContent = "";
      try {
        const m = await this.desk.api.addNote(this.id, text);
        input.value = "";
        this.addNote(m);
      } catch {
        error.textContent = t("noteFailed");
      }
    });
    this.notesSection = el("section", { class: "card notes", "aria-label": t("privateNotes") },
      el("h3", { text: t("privateNotes") }), el("p", { class: "muted", text: t("notesHint") }), this.noteNone, this.notesList, form);
  }

  async loadNotes() {
    try {
      const notes = await this.desk.api.notes(this.id);
      for (const m of notes.reverse()) this.addNote(m);
    } catch {
      /* none shown */
    }
  }

  /** A note as the REST API or a chatMessageReceived event shapes it. */
  addNote(m, live = false) {
    if (!m || !m.id || this.notesList.querySelector(`[data-id="${CSS.escape(m.id)}"]`)) return;
    const meta = m.metadata || {};
    const whisper = meta.kind === "whisper";
    const sender = m.senderCommunicationIdentifier || m.sender;
    const mine = sender && sender.rawId === this.desk.me;
    const text = (m.content && m.content.message) || m.message || "";
    const who = mine ? this.t("you") : m.senderDisplayName || this.t("supervisor");
    const li = el("li", { class: whisper ? "note whisper" : "note", "data-id": m.id },
      el("span", { class: "meta" }, el("span", { class: "who", text: who }),
        whisper ? el("span", { class: "tag", text: this.t("whisper") }) : null,
        m.createdOn ? el("time", { datetime: m.createdOn, text: this.desk.time(m.createdOn) }) : null),
      el("span", { class: "text", text }));
    this.notesList.append(li);
    this.noteNone.hidden = true;
    if (live && !mine) this.desk.toast(format(this.t(whisper ? "whisperFrom" : "noteFrom"), { name: who, text: text.slice(0, 80) }));
  }

  // ---- transfer ----

  async askTransfer() {
    if (this.e.state !== "assigned") return;
    this.transferError.textContent = "";
    this.transferHint.textContent = "";
    this.transferSubmit.disabled = false;
    this.fillTransfer(true);
    this.transferBox.hidden = false;
    this.transferQueue.focus();
    // Presence changes by the minute: the colleagues are asked for each
    // time; a queue may be new since the desk loaded.
    const [colleagues] = await Promise.all([this.desk.api.colleagues().catch(() => null), this.desk.loadQueues({ force: true }).catch(() => {})]);
    if (colleagues) this.colleagues = colleagues;
    else this.transferError.textContent = this.t("colleaguesFailed");
    if (!this.transferBox.hidden) this.fillTransfer(false);
  }

  /**
   * The pickers: the tenant's queues by name, and the colleagues (not the
   * agent), available ones first, each with its presence. What is chosen
   * stays chosen when the lists come again.
   */
  fillTransfer(reset) {
    const t = this.t;
    const desk = this.desk;
    const keep = (sel) => (reset ? "" : sel.value);
    const queue = keep(this.transferQueue);
    const agent = keep(this.transferAgent);
    const byName = (a, b) => a.localeCompare(b, desk.locale, { sensitivity: "base" });
    const queues = [...desk.queueNames.keys()];
    if (this.e.queueId && !desk.queueNames.has(this.e.queueId)) queues.push(this.e.queueId);
    queues.sort((a, b) => byName(desk.queueName(a), desk.queueName(b)));
    this.transferQueue.replaceChildren(el("option", { value: "", text: t("chooseQueue") }),
      ...queues.map((id) => el("option", { value: id, text: desk.queueName(id) })));
    const me = desk.user && desk.user.id;
    const people = this.colleagues.filter((c) => c && c.id && c.id !== me)
      .sort((a, b) => presenceRank(a.presence) - presenceRank(b.presence) || byName(a.displayName || a.id, b.displayName || b.id));
    this.transferAgent.replaceChildren(el("option", { value: "", text: t("chooseColleague") }),
      ...people.map((c) => el("option", { value: c.id, "data-presence": c.presence || "offline",
        text: format(t("colleagueOption"), { name: c.displayName || c.id, status: desk.statusText(c.presence) }) })));
    // A choice no longer listed is dropped.
    const restore = (sel, v) => (sel.value = [...sel.options].some((o) => o.value === v) ? v : "");
    restore(this.transferQueue, queue);
    restore(this.transferAgent, agent);
    this.hintTarget();
  }

  pickTarget(chosen, other) {
    if (chosen.value) other.value = "";
    this.transferError.textContent = "";
    this.hintTarget();
  }

  colleague(id) {
    return this.colleagues.find((c) => c.id === id);
  }

  // A colleague who is not available gets the conversation once they are:
  // the customer waits until then.
  hintTarget() {
    const c = this.colleague(this.transferAgent.value);
    this.transferHint.textContent = c && c.presence !== "available"
      ? format(this.t("colleagueNotAvailable"), { name: c.displayName || c.id, status: this.desk.statusText(c.presence) }) : "";
  }

  async transfer(ev) {
    ev.preventDefault();
    const queueId = this.transferQueue.value;
    const agentId = this.transferAgent.value;
    if (!queueId && !agentId) {
      this.transferError.textContent = this.t("transferTargetRequired");
      return this.transferQueue.focus();
    }
    const c = agentId && this.colleague(agentId);
    const to = agentId ? (c && c.displayName) || agentId : this.desk.queueName(queueId);
    this.transferError.textContent = "";
    this.transferSubmit.disabled = true;
    try {
      await this.desk.api.transfer(this.id, agentId ? { agentId } : { queueId });
      this.transferBox.hidden = true;
      this.desk.toast(agentId ? format(this.t("transferredToColleague"), { name: this.name, agent: to })
        : format(this.t("transferred"), { name: this.name, queue: to }));
      this.gone = true;
      this.desk.removeConversation(this);
    } catch (err) {
      this.transferSubmit.disabled = false;
      this.transferError.textContent = err.status === 404 && !agentId ? format(this.t("noSuchQueue"), { queue: to }) : this.t("transferFailed");
      // Perhaps no longer this agent's to move (ended or moved elsewhere).
      if (err.status === 409) this.refresh();
    }
  }

  // ---- messages ----

  noteParticipant(p) {
    const raw = p && p.communicationIdentifier && p.communicationIdentifier.rawId;
    if (raw && p.metadata && p.metadata.role === "bot") this.bots.add(raw);
  }

  kindOf(m) {
    const raw = m.sender && m.sender.rawId;
    if (raw && raw === this.desk.me) return "mine";
    if ((m.metadata && m.metadata.role === "bot") || (raw && this.bots.has(raw))) return "bot";
    if (raw && raw === this.e.customer) return "customer";
    if (m.metadata && m.metadata.role === "agent") return "agent";
    return raw ? "other" : "system";
  }

  addMessage(m, { replace = false, live = false } = {}) {
    const existing = this.rendered.get(m.id);
    if (existing && !replace) return;
    const kind = this.kindOf(m);
    const box = el("div", { class: `msg ${kind}`, "data-id": m.id, "data-order": m.id });
    const who = kind === "mine" ? this.t("you") : m.senderDisplayName || (kind === "customer" ? this.name : kind === "bot" ? this.t("bot") : this.t("agent"));
    const meta = el("span", { class: "meta" }, el("span", { class: "who", text: who }));
    if (kind === "bot") meta.append(el("span", { class: "tag bot-tag", text: this.t("bot") }));
    if (m.createdOn) meta.append(el("time", { datetime: m.createdOn, text: this.desk.time(m.createdOn) }));
    box.append(meta);
    if (m.deletedOn) {
      box.append(el("em", { text: this.t("deleted") }));
    } else {
      const body = el("div", { class: "text" });
      if (String(m.type).toLowerCase() === "html") body.append(safeHTML(m.message || ""));
      else body.textContent = m.message || "";
      if (body.textContent || body.childNodes.length) box.append(body);
      for (const a of m.attachments || []) box.append(this.attachment(a));
    }
    if (existing) existing.replaceWith(box);
    else this.log.append(box);
    this.rendered.set(m.id, box);
    if (!m.deletedOn && kind !== "mine") {
      this.preview = (m.message && String(m.type).toLowerCase() !== "html" ? m.message : box.querySelector(".text")?.textContent || "").slice(0, 80);
    }
    if (kind === "customer" && m.senderDisplayName && !this.customerName) {
      this.customerName = m.senderDisplayName;
      this.title.textContent = this.name;
    }
    this.scrollDown();
    if (kind === "mine") return;
    if (!existing) this.typing.textContent = "";
    if (live && !existing) {
      if (!this.isVisible()) this.unread++;
      this.renderItem();
      this.desk.messageArrived(this, m);
    }
    this.markRead();
  }

  attachment(a) {
    const url = safeURL(a.url);
    if (!url) return el("span", { class: "file", text: a.name || "" });
    if (a.attachmentType === "image") {
      const img = el("img", { src: safeURL(a.previewUrl) || url, alt: format(this.t("image"), { name: a.name || "" }), onload: () => this.scrollDown() });
      return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, img);
    }
    return el("a", { class: "file", href: url, target: "_blank", rel: "noopener noreferrer", text: format(this.t("download"), { name: a.name || "" }) });
  }

  sys(key, p, order) {
    const raw = p && p.id && p.id.rawId;
    const mine = raw && raw === this.desk.me;
    const text = mine ? this.t(key === "joined" ? "youJoined" : "youLeft")
      : format(this.t(key), { name: (p && p.displayName) || (raw === this.e.customer ? this.name : this.t("agent")) });
    this.sysText(text, `${key}|${raw}`, order);
  }

  // A live notice and the same change's system message in the history are
  // one line: both are stamped with the change's time in milliseconds.
  sysText(text, tag, order) {
    const near = [...this.log.querySelectorAll(".sys")].some((e) => e.dataset.tag === tag && Math.abs(Number(e.dataset.order) - Number(order)) < 5000);
    if (near) return;
    this.log.append(el("p", { class: "sys", text, "data-tag": tag, "data-order": String(order || Date.now()) }));
    this.scrollDown();
  }

  sortLog() {
    const items = [...this.log.querySelectorAll("[data-order]")];
    items.sort((a, b) => (isAfter(a.dataset.order, b.dataset.order) ? 1 : isAfter(b.dataset.order, a.dataset.order) ? -1 : 0));
    const seen = this.log.querySelector(".seen");
    for (const e of items) this.log.append(e);
    if (seen) seen.remove();
    this.scrollDown();
  }

  scrollDown() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  // ---- live events (the desk routes them by thread) ----

  onMessage(m) {
    this.addMessage(m, { live: true });
  }

  onEdited(m) {
    this.addMessage(m, { replace: true });
  }

  onTyping(ev) {
    if (ev.sender && ev.sender.rawId === this.desk.me) return;
    this.typing.textContent = format(this.t("typing"), { name: ev.senderDisplayName || this.name });
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => (this.typing.textContent = ""), TYPING_SHOWN_MS);
  }

  onReceipt(r) {
    this.showSeen(r);
  }

  onParticipants(key, ev) {
    const list = key === "joined" ? ev.participantsAdded : ev.participantsRemoved;
    for (const p of list || []) {
      this.noteParticipant({ communicationIdentifier: p.id, metadata: p.metadata });
      this.sys(key, p, ev.version);
      // Taken out of the thread (ended in another window): catch up.
      if (key === "left" && p.id && p.id.rawId === this.desk.me && this.e.state === "assigned") this.refresh();
    }
  }

  async refresh() {
    try {
      this.update(await this.desk.api.engagement(this.id));
    } catch (err) {
      if (err.status === 404) this.moved();
    }
  }

  update(e) {
    this.e = { ...this.e, ...e };
    if (this.e.state === "ended") return this.desk.removeConversation(this);
    // Moved to another queue or agent (a supervisor's reassignment).
    if (!["assigned", "wrapUp"].includes(this.e.state) || (this.e.agentId && this.desk.user && this.e.agentId !== this.desk.user.id)) return this.moved();
    this.renderState();
    this.renderInfo();
  }

  /**
   * The customer ended the chat: the engagement is in wrap-up and the
   * agent is no longer in the thread, so nothing here writes to it again;
   * the wrap-up form takes the composer's place.
   */
  customerLeft() {
    if (!["assigned", "wrapUp"].includes(this.e.state)) return;
    clearTimeout(this.typingTimer);
    this.typing.textContent = "";
    const text = this.t("customerLeft");
    this.sysText(text, `customerLeft|${this.id}`, Date.now());
    this.preview = text;
    if (!this.isVisible()) this.unread++;
    this.update({ state: "wrapUp" });
    // Then as the server has it (a supervisor may have moved it since).
    this.refresh();
  }

  moved() {
    if (this.gone) return;
    this.gone = true;
    this.desk.toast(format(this.t("conversationMoved"), { name: this.name }));
    this.desk.removeConversation(this);
  }

  showSeen(r) {
    if (!r.chatMessageId || !r.sender || r.sender.rawId === this.desk.me) return;
    const reached = [...this.log.querySelectorAll(".msg.mine[data-id]")].filter((e) => !isAfter(e.dataset.id, r.chatMessageId));
    const last = reached[reached.length - 1];
    if (!last) return;
    const old = this.log.querySelector(".seen");
    if (old) old.remove();
    last.after(el("p", { class: "seen", text: this.t("seen") }));
  }

  isVisible() {
    return this.desk.active === this && !document.hidden;
  }

  markRead() {
    if (!this.isVisible() || !this.historyLoaded || this.e.state !== "assigned") return;
    const others = this.log.querySelectorAll(".msg[data-id]:not(.mine)");
    const last = others[others.length - 1];
    if (!last || last.dataset.id === this.lastRead) return;
    this.lastRead = last.dataset.id;
    this.thread.sendReadReceipt(last.dataset.id).catch(() => (this.lastRead = ""));
  }

  /** Called by the desk when this conversation comes to the front. */
  shown() {
    this.unread = 0;
    this.renderItem();
    this.markRead();
    this.scrollDown();
  }

  // ---- replying ----

  onReplyKey(e) {
    if (!this.canned.hidden) {
      const opts = [...this.canned.children];
      const at = opts.findIndex((o) => o.getAttribute("aria-selected") === "true");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        this.selectCanned(opts, (at + (e.key === "ArrowDown" ? 1 : -1) + opts.length) % opts.length);
        return;
      }
      if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && at >= 0) {
        e.preventDefault();
        this.useCanned(opts[at]);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.closeCanned();
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.send();
    } else if (e.key === "Escape") {
      // Leaves the box so single-key shortcuts work.
      this.textarea.blur();
    }
  }

  // updateCanned offers the canned responses while the reply is "/" and a
  // filter (a shortcut or words of the text).
  updateCanned() {
    const v = this.textarea.value;
    if (!v.startsWith("/") || v.includes("\n")) return this.closeCanned();
    const q = v.slice(1).trim().toLowerCase();
    const vars = { customer: this.name, agent: this.desk.myName };
    const matches = this.desk.canned
      .map((c) => ({ ...c, text: format(c.text, vars) }))
      .filter((c) => !q || c.shortcut.toLowerCase().includes(q) || c.text.toLowerCase().includes(q) || c.title.toLowerCase().includes(q));
    if (!matches.length) {
      this.canned.replaceChildren(el("li", { class: "none", role: "option", "aria-disabled": "true", text: this.t("noCanned") }));
    } else {
      this.canned.replaceChildren(...matches.map((c, i) => el("li", { id: `canned-${this.id}-${i}`, role: "option", "data-text": c.text,
        onmousedown: (ev) => {
          ev.preventDefault();
          this.useCanned(ev.currentTarget);
        } }, c.shortcut ? el("kbd", { text: "/" + c.shortcut }) : null, el("span", { class: "canned-text" },
        c.title ? el("strong", { text: c.title }) : null, el("span", { text: c.text })))));
    }
    this.canned.hidden = false;
    this.textarea.setAttribute("aria-expanded", "true");
    this.selectCanned([...this.canned.children], matches.length ? 0 : -1);
  }

  selectCanned(opts, i) {
    opts.forEach((o, j) => o.setAttribute("aria-selected", String(i === j)));
    if (i >= 0 && opts[i] && opts[i].id) this.textarea.setAttribute("aria-activedescendant", opts[i].id);
    else this.textarea.removeAttribute("aria-activedescendant");
  }

  useCanned(li) {
    if (!li || !li.dataset.text) return;
    this.textarea.value = li.dataset.text;
    this.closeCanned();
    this.textarea.focus();
    this.textarea.setSelectionRange(this.textarea.value.length, this.textarea.value.length);
  }

  closeCanned() {
    if (this.canned.hidden) return;
    this.canned.hidden = true;
    this.textarea.setAttribute("aria-expanded", "false");
    this.textarea.removeAttribute("aria-activedescendant");
  }

  typed() {
    const now = Date.now();
    if (this.e.state !== "assigned" || now - this.lastTypingSent < TYPING_EVERY_MS || !this.textarea.value.trim() || this.textarea.value.startsWith("/")) return;
    this.lastTypingSent = now;
    this.thread.sendTypingNotification({ senderDisplayName: this.desk.myName || undefined }).catch(() => {});
  }

  async send(attachment) {
    if (this.e.state !== "assigned") return;
    const content = attachment ? "" : this.textarea.value.trim();
    if (!content && !attachment) return;
    if (!attachment) this.textarea.value = "";
    this.closeCanned();
    this.alert.textContent = "";
    this.lastTypingSent = 0;
    try {
      const { id } = await this.thread.sendMessage({ content, senderDisplayName: this.desk.myName || undefined, attachments: attachment ? [attachment] : undefined });
      this.addMessage({ id, type: "text", message: content, attachments: attachment ? [attachment] : [], sender: { rawId: this.desk.me }, createdOn: new Date().toISOString() });
    } catch {
      if (!attachment && !this.textarea.value) this.textarea.value = content;
      this.alert.textContent = this.t("sendFailed");
    }
  }

  async upload() {
    const file = this.fileInput.files[0];
    this.fileInput.value = "";
    this.alert.textContent = "";
    if (!file || this.e.state !== "assigned") return;
    try {
      const a = await this.thread.uploadAttachment(file);
      // Signed links may come relative to the server.
      for (const k of ["url", "previewUrl"]) if (a[k]) a[k] = new URL(a[k], this.desk.conn.endpoint + "/").href;
      await this.send(a);
    } catch (err) {
      this.alert.textContent = err.status === 413 ? format(this.t("fileTooLarge"), { name: file.name, size: bytes(file.size) })
        : err.status === 415 ? format(this.t("fileType"), { name: file.name }) : format(this.t("uploadFailed"), { name: file.name });
    }
  }

  focusReply() {
    if (this.e.state === "assigned") this.textarea.focus();
    else if (this.wrapForm) this.wrapForm.querySelector("select").focus();
  }

  // ---- ending and wrap-up ----

  askEnd() {
    if (this.e.state !== "assigned") return;
    this.confirmBox.hidden = false;
    this.confirmBox.querySelector("button").focus();
  }

  cancelEnd() {
    this.confirmBox.hidden = true;
    this.endButton.focus();
  }

  async end() {
    this.confirmBox.hidden = true;
    this.alert.textContent = "";
    try {
      this.update(await this.desk.api.end(this.id));
    } catch (err) {
      if (err.status === 409) return this.refresh();
      this.alert.textContent = this.t("endFailed");
    }
  }

  showWrapUp() {
    if (this.wrapForm) return;
    const t = this.t;
    const id = (n) => `${n}-${this.id}`;
    // The tenant's codes; a tenant without any takes whatever the agent
    // types, with a few common ones offered.
    const codes = this.desk.dispositions || DISPOSITIONS.map((d) => ({ code: d, label: t("disp_" + d) }));
    const select = el("select", { id: id("disposition"), name: "disposition", required: true },
      el("option", { value: "", text: t("chooseDisposition") }),
      ...codes.map((d) => el("option", { value: d.code, text: d.label })),
      this.desk.dispositions ? null : el("option", { value: "__other", text: t("dispOther") }));
    const other = el("input", { id: id("disposition-other"), type: "text", maxlength: "64", hidden: true, "aria-label": t("dispOtherLabel"), placeholder: t("dispOtherLabel") });
    select.addEventListener("change", () => {
      other.hidden = select.value !== "__other";
      if (!other.hidden) other.focus();
    });
    const notes = el("textarea", { id: id("notes"), name: "notes", rows: "4", maxlength: "4000" });
    const error = el("p", { class: "error", role: "alert" });
    const submit = el("button", { type: "submit", class: "primary", text: t("finishWrapUp") });
    const form = el("form", { class: "wrapup", "aria-label": t("wrapUp"), novalidate: true },
      el("h3", { text: t("wrapUp") }),
      el("p", { class: "muted", text: t("wrapUpHint") }),
      el("label", { for: select.id, text: t("disposition") }), select, other,
      el("label", { for: notes.id, text: t("notes") }), notes, error, submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const code = select.value === "__other" ? other.value.trim() : select.value;
      if (!code) {
        error.textContent = t("dispositionRequired");
        (select.value === "__other" ? other : select).focus();
        return;
      }
      submit.disabled = true;
      try {
        const e = await this.desk.api.wrapUp(this.id, code, notes.value.trim());
        this.desk.toast(format(t("wrappedUp"), { name: this.name }));
        this.update(e);
      } catch (err) {
        submit.disabled = false;
        error.textContent = err.status === 400 ? err.message : t("wrapUpFailed");
      }
    });
    this.wrapForm = form;
    this.composer.replaceWith(form);
    this.typing.textContent = "";
    this.scrollDown();
    if (this.desk.active === this) select.focus();
  }

  /** Stops timers; the desk drops the elements. */
  dispose() {
    clearTimeout(this.typingTimer);
  }
}
