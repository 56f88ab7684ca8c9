// One conversation a supervisor watches: the transcript and what is said
// live (engagementMessage notifications while watching silently, the
// thread's own chat events after barging in), the staff-only side thread
// with whispers to the agent, barge-in, and reassignment. Watching reads
// nothing on anyone's behalf: no read receipt and no typing indicator
// ever leave this pane.
import { safeHTML } from "../widget/render.js";
import { customerName, el, normalizeMessage } from "./common.js";

export class Monitor {
  /**
   * @param {import("./console.js").Console} owner
   * @param {object} e the engagement as GET /engagements lists it
   */
  constructor(owner, e) {
    this.c = owner;
    this.t = owner.t;
    this.e = e;
    this.id = e.id;
    this.rendered = new Map(); // message id → element
    this.noteIds = new Set();
    this.active = false;
    this.barged = (e.barged || []).includes(owner.me);
    this.build();
  }

  build() {
    const t = this.t;
    this.title = el("h2", { id: `watch-${this.id}` });
    this.sub = el("p", { class: "sub muted" });
    this.status = el("p", { class: "watch-status", role: "status" });
    this.bargeBtn = el("button", { type: "button", text: t("barge"), onclick: () => this.barge() });
    this.leaveBtn = el("button", { type: "button", text: t("leave"), onclick: () => this.leave() });
    this.stopBtn = el("button", { type: "button", class: "stop", text: t("stopMonitoring"), onclick: () => this.stop() });
    this.alert = el("p", { class: "error", role: "alert" });
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("transcript"), tabindex: "0" });
    this.reply = el("textarea", { rows: "2", "aria-label": t("messageToCustomer"), placeholder: t("messageToCustomer") });
    this.reply.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.say();
      }
    });
    this.composer = el("div", { class: "composer", hidden: !this.barged }, this.reply,
      el("button", { type: "button", class: "primary", text: t("send"), onclick: () => this.say() }));

    this.notes = el("div", { class: "notes", role: "log", "aria-live": "polite", "aria-label": t("staffNotes") });
    this.notesEmpty = el("p", { class: "muted", text: t("noNotes") });
    this.whisperBox = el("textarea", { rows: "2", id: `whisper-${this.id}`, placeholder: t("whisperPlaceholder") });
    const whisper = el("section", { class: "whisper", "aria-labelledby": `wt-${this.id}` },
      el("h3", { id: `wt-${this.id}`, text: t("whisperTitle") }),
      el("p", { class: "muted hint", text: t("whisperHint") }),
      this.notesEmpty, this.notes,
      el("label", { for: this.whisperBox.id, class: "sr", text: t("whisper") }), this.whisperBox,
      el("button", { type: "button", class: "primary", text: t("sendWhisper"), onclick: () => this.whisper() }));

    this.queueSelect = el("select", { id: `rq-${this.id}` });
    this.agentSelect = el("select", { id: `ra-${this.id}` });
    this.queueBtn = el("button", { type: "button", text: t("moveToQueue"), onclick: () => this.transfer("queue") });
    this.agentBtn = el("button", { type: "button", text: t("giveToAgent"), onclick: () => this.transfer("agent") });
    this.moved = el("p", { class: "moved", role: "status" });
    const reassign = el("section", { class: "reassign", "aria-labelledby": `rt-${this.id}` },
      el("h3", { id: `rt-${this.id}`, text: t("reassign") }),
      el("div", { class: "row" }, el("label", { for: this.queueSelect.id, text: t("toQueue") }), this.queueSelect, this.queueBtn),
      el("div", { class: "row" }, el("label", { for: this.agentSelect.id, text: t("toAgent") }), this.agentSelect, this.agentBtn),
      this.moved);

    this.pane = el("section", { class: "monitor", "aria-labelledby": this.title.id, "data-engagement": this.id, "data-monitoring": "off" },
      el("header", { class: "watch-head" }, el("div", { class: "who" }, this.title, this.sub), el("div", { class: "actions" }, this.bargeBtn, this.leaveBtn, this.stopBtn)),
      this.status, this.alert, this.log, this.composer, whisper, reassign);
    this.renderHead();
    this.renderTargets();
  }

  renderHead() {
    const t = this.t;
    const e = this.e;
    const title = customerName(e) || this.c.names.get(e.contactId) || t("customerUnknown");
    const sub = [this.c.stateText(e.state), e.queueId, this.c.agentName(e)].filter(Boolean).join(" · ");
    if (this.title.textContent !== title) this.title.textContent = title;
    if (this.sub.textContent !== sub) this.sub.textContent = sub;
    const live = e.state !== "ended" && !this.gone;
    this.bargeBtn.hidden = this.barged || !live;
    this.leaveBtn.hidden = !this.barged;
    this.composer.hidden = !this.barged;
    const movable = live && (e.state === "assigned" || e.state === "queued");
    for (const x of [this.queueBtn, this.agentBtn, this.queueSelect, this.agentSelect]) x.disabled = !movable;
    // A supervisor who barged in stays in the conversation when the pane closes.
    this.stopBtn.textContent = this.active && !this.barged ? t("stopMonitoring") : t("close");
    // Set only on change: the line is a live region.
    const say = this.gone ? t("conversationOver") : this.barged ? t("youAreIn") : this.active ? t("monitoringSilently") : "";
    if (this.status.textContent !== say) this.status.textContent = say;
  }

  /** The queues (from the wallboard) and agents one may move it to. */
  renderTargets() {
    const t = this.t;
    const keepQ = this.queueSelect.value;
    const keepA = this.agentSelect.value;
    this.queueSelect.replaceChildren(el("option", { value: "", text: t("chooseQueue") }),
      ...this.c.queues.map((q) => el("option", { value: q.id, text: q.name === q.id ? q.id : `${q.name} (${q.id})` })));
    this.agentSelect.replaceChildren(el("option", { value: "", text: t("chooseAgent") }),
      ...this.c.agents.filter((a) => a.id !== this.e.agentId).map((a) => el("option", { value: a.id, text: a.displayName || a.username })));
    this.queueSelect.value = keepQ;
    this.agentSelect.value = keepA;
  }

  focus() {
    this.pane.scrollIntoView({ block: "nearest" });
    (this.barged ? this.reply : this.whisperBox).focus();
  }

  fail(key, err) {
    this.alert.textContent = this.t(key) + (err && err.message ? ` (${err.message})` : "");
  }

  async start() {
    if (this.barged) {
      // Barged in earlier; still in the thread unless the supervisor left.
      try {
        await this.c.conn.thread(this.e.threadId).listParticipants();
      } catch (err) {
        if (err.status === 403 || err.status === 404) this.barged = false;
      }
    }
    try {
      if (!this.barged) await this.c.api.monitor(this.id, true);
      this.active = true;
      this.pane.dataset.monitoring = "on";
    } catch (err) {
      this.fail("monitorFailed", err);
    }
    this.renderHead();
    await this.reload();
    this.pane.dataset.loaded = "true";
    this.focus();
  }

  /** Stops watching (the server stops relaying); closes the pane. */
  async stop({ keepalive = false } = {}) {
    const was = this.active && !this.barged;
    this.active = false;
    this.c.closed(this);
    if (!was) return;
    try {
      await this.c.api.monitor(this.id, false, keepalive);
    } catch {
      /* the engagement may have ended; nothing is relayed then either */
    }
  }

  /** A fresh engagement from the list (null: it is no longer live). */
  update(e) {
    if (!e) {
      if (!this.gone) {
        this.gone = true;
        this.e = { ...this.e, state: "ended" };
        this.renderHead();
      }
      return;
    }
    const agentChanged = e.agentId !== this.e.agentId;
    this.e = e;
    this.renderHead();
    if (agentChanged) this.renderTargets();
  }

  async reload() {
    const api = this.c.api;
    const [msgs, notes] = await Promise.all([api.transcript(this.id).catch(() => null), api.notes(this.id).catch(() => null)]);
    if (msgs) {
      const list = msgs.map(normalizeMessage).sort((a, b) => a.sequenceId - b.sequenceId);
      for (const m of list) this.addMessage(m);
    } else {
      this.fail("transcriptFailed");
    }
    if (notes) for (const m of notes.map(normalizeMessage).sort((a, b) => a.sequenceId - b.sequenceId)) this.addNote(m);
  }

  // ---- the customer's conversation ----

  kindOf(m) {
    const e = this.e;
    if (!m.sender) return "system";
    if (m.sender === this.c.me) return "mine";
    if (m.sender === e.customer) return "customer";
    if (m.sender === e.botIdentity || m.metadata.role === "bot") return "bot";
    if (m.sender === e.agentIdentity || m.metadata.role === "agent") return "agent";
    return "other";
  }

  addMessage(m) {
    if (!m.id || this.rendered.has(m.id)) return;
    const t = this.t;
    const type = m.type.toLowerCase();
    let box;
    if (type === "text" || type === "html" || type === "richtext/html") {
      const kind = this.kindOf(m);
      const who = kind === "mine" ? t("you") : m.senderDisplayName || t("kind_" + kind);
      const meta = el("span", { class: "meta" }, el("span", { class: "who", text: who }));
      if (kind === "bot" || kind === "agent") meta.append(el("span", { class: "tag", text: t("kind_" + kind) }));
      meta.append(el("time", { datetime: m.createdOn, text: this.c.time(m.createdOn) }));
      const body = el("div", { class: "text" });
      if (m.deletedOn) body.append(el("em", { text: t("deleted") }));
      else if (type === "text") body.textContent = m.message;
      else body.append(safeHTML(m.message));
      box = el("div", { class: `msg ${kind}`, "data-id": m.id }, meta, body);
    } else if (type === "participantadded" || type === "participantremoved") {
      const names = m.participants.map((p) => p.displayName).filter(Boolean).join(", ") || t("someone");
      box = el("div", { class: "msg system", "data-id": m.id, text: t(type === "participantadded" ? "joined" : "left", { names }) });
    } else {
      return;
    }
    this.rendered.set(m.id, box);
    this.log.append(box);
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** A message of the watched conversation relayed to its monitors. */
  onWatched(d) {
    if (d.engagementId === this.id) this.addMessage(normalizeMessage(d));
  }

  onChatMessage(d) {
    if (d.threadId === this.e.threadId) return this.addMessage(normalizeMessage(d));
    const md = d.metadata || {};
    if (d.threadId === this.e.sideThreadId || md.engagementId === this.id) this.addNote(normalizeMessage(d));
  }

  onParticipants(d) {
    if (d.threadId !== this.e.threadId) return;
    const names = (d.participantsAdded || []).map((p) => p.displayName).filter(Boolean).join(", ");
    if (names) this.log.append(el("div", { class: "msg system", text: this.t("joined", { names }) }));
  }

  async barge() {
    this.bargeBtn.disabled = true;
    this.alert.textContent = "";
    try {
      const e = await this.c.api.barge(this.id);
      this.barged = true;
      this.e = { ...this.e, ...e };
      this.renderHead();
      this.reply.focus();
    } catch (err) {
      this.fail("bargeFailed", err);
    } finally {
      this.bargeBtn.disabled = false;
    }
  }

  /** Leaves the customer's conversation and goes back to watching silently. */
  async leave() {
    const me = this.c.me;
    this.leaveBtn.disabled = true;
    this.alert.textContent = "";
    try {
      await this.c.conn.thread(this.e.threadId).removeParticipant({ rawId: me, communicationUser: { id: me } });
      this.barged = false;
      await this.c.api.monitor(this.id, true);
      this.active = true;
      this.renderHead();
    } catch (err) {
      this.fail("leaveFailed", err);
    } finally {
      this.leaveBtn.disabled = false;
    }
  }

  async say() {
    const text = this.reply.value.trim();
    if (!text || !this.c.conn) return;
    this.alert.textContent = "";
    try {
      const r = await this.c.conn.thread(this.e.threadId).sendMessage({ content: text, senderDisplayName: this.c.myName });
      this.reply.value = "";
      this.addMessage(normalizeMessage({ id: r.id, type: "text", message: text, sender: this.c.me, senderDisplayName: this.c.myName }));
    } catch (err) {
      this.fail("sendFailed", err);
    }
  }

  // ---- staff only ----

  addNote(m) {
    const type = m.type.toLowerCase();
    if (!m.id || this.noteIds.has(m.id) || (type !== "text" && type !== "html")) return;
    this.noteIds.add(m.id);
    const t = this.t;
    const whisper = m.metadata.kind === "whisper";
    const who = m.sender === this.c.me ? t("you") : m.senderDisplayName || t("kind_other");
    this.notes.append(el("div", { class: `note ${whisper ? "whisper" : "private"}`, "data-id": m.id },
      el("span", { class: "meta" }, el("span", { class: "who", text: who }), el("span", { class: "tag", text: t(whisper ? "whisperTag" : "noteTag") }),
        el("time", { datetime: m.createdOn, text: this.c.time(m.createdOn) })),
      el("div", { class: "text", text: m.message })));
    this.notesEmpty.hidden = true;
    this.notes.scrollTop = this.notes.scrollHeight;
  }

  async whisper() {
    const text = this.whisperBox.value.trim();
    if (!text) return;
    this.alert.textContent = "";
    try {
      const m = await this.c.api.addNote(this.id, text);
      this.whisperBox.value = "";
      if (m && m.threadId && !this.e.sideThreadId) this.e.sideThreadId = m.threadId;
      this.addNote(normalizeMessage(m));
    } catch (err) {
      this.fail("whisperFailed", err);
    }
  }

  async transfer(kind) {
    const t = this.t;
    const value = kind === "queue" ? this.queueSelect.value : this.agentSelect.value;
    if (!value) {
      (kind === "queue" ? this.queueSelect : this.agentSelect).focus();
      return;
    }
    this.alert.textContent = "";
    this.moved.textContent = "";
    try {
      const e = await this.c.api.transfer(this.id, kind === "queue" ? { queueId: value } : { agentId: value });
      this.e = { ...this.e, ...e };
      const a = this.c.agents.find((x) => x.id === value);
      this.moved.textContent = kind === "queue" ? t("movedToQueue", { queue: value }) : t("givenToAgent", { agent: a ? a.displayName || a.username : value });
      this.renderHead();
      this.renderTargets();
      this.c.refresh().catch(() => {});
    } catch (err) {
      this.fail("transferFailed", err);
    }
  }
}
