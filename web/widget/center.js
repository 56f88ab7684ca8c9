// The contact-center part of the widget (docs/contactcenter.md, "The
// waiting customer"): the visitor's place in the queue while they wait for
// an agent, "End chat", and the rating the widget asks for when the
// conversation with an agent ends. Built from the catalogue and numbers
// only: nothing the server sends becomes markup.
import { el } from "./render.js";

/** The longest comment a rating may carry (the server's limit). */
export const MAX_COMMENT = 2000;

/** The engagement states in which the customer may end the chat. */
export const LIVE_STATES = ["bot", "queued", "assigned"];

/**
 * "End chat": a button for the panel's header and the question it asks
 * before anything ends (Yes calls confirm(); No or Escape puts it away).
 * show(on) offers or withdraws it; a focus inside it then goes to
 * onGone(). busy(on) makes it inert while the request runs (not disabled:
 * a disabled button would drop the keyboard focus).
 * @param {(k: string, vars?: object) => string} t
 * @param {{confirm: () => void, onGone: () => void}} actions
 */
export function endChatControls(t, { confirm, onGone }) {
  let pending = false;
  const unlessBusy = (f) => () => pending || f();
  const button = el("button", { type: "button", class: "end", text: t("endChat"), hidden: true, "aria-expanded": "false",
    "aria-controls": "sb-end-confirm", onclick: unlessBusy(() => (box.hidden ? ask() : cancel())) });
  const yes = el("button", { type: "button", class: "danger", text: t("endChatYes"), onclick: unlessBusy(confirm) });
  const no = el("button", { type: "button", class: "skip", text: t("endChatNo"), onclick: unlessBusy(() => cancel()) });
  const box = el("div", { id: "sb-end-confirm", class: "end-confirm", role: "group", "aria-labelledby": "sb-end-question", hidden: true,
    onkeydown: (e) => {
      if (e.key !== "Escape" || pending) return;
      // Not the panel's Escape (which closes it): only the question goes.
      e.stopPropagation();
      cancel();
    } },
  el("p", { id: "sb-end-question", text: t("endChatQuestion") }), el("div", { class: "end-actions" }, yes, no));
  const setOpen = (open) => {
    box.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  const ask = () => {
    setOpen(true);
    yes.focus();
  };
  const cancel = () => {
    setOpen(false);
    button.focus();
  };
  return {
    button, confirm: box,
    show(on) {
      if (on === !button.hidden) return;
      const active = button.getRootNode().activeElement;
      const hadFocus = active === button || box.contains(active);
      button.hidden = !on;
      setOpen(false);
      if (!on && hadFocus) onGone();
    },
    busy(on) {
      pending = on;
      for (const b of [button, yes, no]) {
        if (on) b.setAttribute("aria-disabled", "true");
        else b.removeAttribute("aria-disabled");
      }
    },
  };
}

/**
 * The status line for a position (a GET /webchat/position answer or an
 * engagementQueuePosition notification), or "" when the customer is not
 * waiting in a queue.
 * @param {(k: string, vars?: object) => string} t
 * @param {{state?: string, position?: number, estimatedWaitMinutes?: number} | null} p
 */
export function queueText(t, p) {
  if (!p || p.state !== "queued") return "";
  const position = Math.floor(Number(p.position)) || 0;
  // Queued but between places (an offer is out to an agent right now).
  if (position < 1) return t("queueWaiting");
  const m = p.estimatedWaitMinutes;
  if (typeof m !== "number" || !Number.isFinite(m) || m < 0) return t("queuePosition", { position });
  const minutes = Math.ceil(m);
  if (minutes === 0) return t("queueWaitSoon", { position });
  if (minutes === 1) return t("queueWaitOne", { position });
  return t("queueWait", { position, minutes });
}

/**
 * The rating form: five star buttons, an optional comment, Send and Skip.
 * send(rating, comment) resolves once the rating is stored (or had been
 * already) and rejects when it could not be; the form then thanks the
 * customer, or says it failed and lets them try again. close() is called
 * when the customer skips.
 * @param {(k: string, vars?: object) => string} t
 * @param {{send: (rating: number, comment: string) => Promise<void>, close: () => void}} actions
 */
export function ratingForm(t, { send, close }) {
  let rating = 0;
  const title = el("p", { class: "rate-title", id: "sb-rate-title", text: t("rateTitle") });
  const stars = [];
  const row = el("div", { class: "stars", role: "group", "aria-labelledby": "sb-rate-title" });
  const submit = el("button", { type: "submit", class: "primary", text: t("send"), disabled: true });
  const pick = (n) => {
    rating = n;
    stars.forEach((b, i) => {
      b.classList.toggle("on", i < n);
      b.setAttribute("aria-pressed", String(i + 1 === n));
    });
    submit.disabled = false;
  };
  for (let n = 1; n <= 5; n++) {
    const b = el("button", {
      type: "button", class: "star", text: "★", "aria-label": t("rateStar", { n }), "aria-pressed": "false",
      onclick: () => pick(n),
      // Tab reaches every star; the arrows also move along the row.
      onkeydown: (e) => {
        const d = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
        if (!d) return;
        e.preventDefault();
        const m = Math.min(5, Math.max(1, n + d));
        pick(m);
        stars[m - 1].focus();
      },
    });
    stars.push(b);
    row.append(b);
  }
  const comment = el("textarea", { id: "sb-rate-comment", rows: "2", maxlength: String(MAX_COMMENT) });
  const error = el("p", { class: "error", role: "alert" });
  // Present from the start, so screen readers announce the thanks when it
  // is filled in.
  const thanks = el("p", { class: "rate-thanks", role: "status" });
  const form = el("form", { class: "rate", "aria-labelledby": "sb-rate-title", novalidate: true },
    title, row, el("label", { for: "sb-rate-comment", text: t("rateComment") }), comment, error,
    el("div", { class: "rate-actions" }, submit, el("button", { type: "button", class: "skip", text: t("rateSkip"), onclick: () => close() })),
    thanks);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!rating || submit.disabled) return;
    submit.disabled = true;
    error.textContent = "";
    try {
      await send(rating, comment.value.trim().slice(0, MAX_COMMENT));
    } catch {
      error.textContent = t("rateFailed");
      submit.disabled = false;
      return;
    }
    const hadFocus = form.contains(form.getRootNode().activeElement);
    for (const c of [...form.children]) if (c !== thanks) c.remove();
    form.classList.add("done");
    thanks.textContent = t("rateThanks");
    if (hadFocus) {
      // The button that had focus is gone: keep keyboard users in place.
      thanks.setAttribute("tabindex", "-1");
      thanks.focus();
    }
  });
  return form;
}
