// Shared by the agent desktop's browser tests (desk.test.mjs,
// desk-screens.test.mjs): customers played over the API (web chat session,
// ACS chat REST), a desk page whose beeps and notifications are recorded,
// staff sessions to check what the server holds or to play a colleague,
// and screenshots saved to DESK_ARTIFACTS (desk_test.go sets it).
import assert from "node:assert/strict";
import { join } from "node:path";
import { CHAT, NATIVE, SB, newPage, rest } from "./helpers.mjs";

export const ARTIFACTS = process.env.DESK_ARTIFACTS || "";
export const shot = (page, name) => (ARTIFACTS ? page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false }) : undefined);

/** On failure: a screenshot and what the page said, for the log. */
export async function explain(page, name, err) {
  await shot(page, `failed-${name}`).catch(() => {});
  const text = await page.evaluate(() => document.body.innerText).catch(() => "");
  console.log(`--- ${name}: the page when it failed ---\n${text}\n---`);
  throw err;
}

/** A demo staff member's cookie session, for checking what the server holds. */
export async function staff(username, password) {
  const res = await fetch(`${SB}/auth/login?${NATIVE}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tenant: "demo", username, password }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `login ${username}: ${JSON.stringify(body)}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  return async (method, path, payload) => {
    const r = await fetch(`${SB}${path}${path.includes("?") ? "&" : "?"}${NATIVE}`, {
      method, headers: { Cookie: cookie, "X-CSRF-Token": body.csrfToken, "Content-Type": "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/**
 * Asks f again until it answers something (a server-side change the test
 * cannot wait on directly), at most timeout ms; answers that.
 */
export async function until(f, what, timeout = 30000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await f();
    if (v) return v;
    assert.ok(Date.now() < end, `${what}: not within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A web chat customer: a visitor session and its chat calls. */
export async function customer(name, email, locale = "en") {
  const res = await fetch(`${SB}/webchat/demo/sessions?${NATIVE}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ displayName: name, fields: { name, email }, locale }),
  });
  const s = await res.json();
  assert.equal(res.status, 201, `web chat session: ${JSON.stringify(s)}`);
  const thread = `/chat/threads/${encodeURIComponent(s.threadId)}`;
  return {
    ...s, name, email,
    say: (content) => rest(s.token, "POST", `${thread}/messages?${CHAT}`, { content, type: "text", senderDisplayName: name }),
    typing: () => rest(s.token, "POST", `${thread}/typing?${CHAT}`, { senderDisplayName: name }),
    read: (id) => rest(s.token, "POST", `${thread}/readReceipts?${CHAT}`, { chatMessageId: id }),
    messages: async () => (await rest(s.token, "GET", `${thread}/messages?${CHAT}&maxPageSize=200`)).value,
    receipts: async () => (await rest(s.token, "GET", `${thread}/readReceipts?${CHAT}`)).value,
    /** The widget's "End chat": {engagementId, state, rate}. */
    leave: (engagementId) => rest(s.token, "POST", `/engagements/${encodeURIComponent(engagementId)}:leave?${NATIVE}`),
  };
}

/** The customer talks to the bot, then asks for a person. */
export async function asksForPerson(c) {
  await c.say("Hello");
  await c.say("I want to talk to a person");
}

/**
 * A desk page whose beeps and notifications are recorded: the browser
 * grants notifications and the test counts oscillators started.
 */
export async function deskPage(opts = {}) {
  const { ctx, page } = await newPage(opts);
  await ctx.addInitScript(() => {
    window.__alerts = { tones: 0, notifications: [] };
    const AC = window.AudioContext;
    if (AC) {
      const create = AC.prototype.createOscillator;
      AC.prototype.createOscillator = function () {
        window.__alerts.tones++;
        return create.call(this);
      };
    }
    class RecordedNotification {
      static permission = "granted";
      static requestPermission() {
        return Promise.resolve("granted");
      }
      constructor(title, options) {
        window.__alerts.notifications.push({ title, body: options && options.body, tag: options && options.tag });
      }
      close() {}
    }
    window.Notification = RecordedNotification;
  });
  return { ctx, page };
}

export async function login(page, username = "agent1", password = "demo-agent-1", text = { org: "Organisation", user: "Username", pass: "Password", go: "Sign in" }) {
  await page.goto(`${SB}/desk`);
  await page.getByLabel(text.org).fill("demo");
  await page.getByLabel(text.user).fill(username);
  await page.getByLabel(text.pass).fill(password);
  await page.getByRole("button", { name: text.go }).click();
  // Loaded: offers and conversations are on screen (aria-busy goes).
  await page.locator(".app:not([aria-busy])").waitFor();
}

export async function available(page) {
  await page.locator("#presence").selectOption("available");
  // Drawn from the server's answer (the words are hidden on phones).
  await page.locator('.app[data-presence="available"]').waitFor({ state: "attached" });
}

// How the desk words the handoff reasons a customer's request may give.
export const HANDOFF = /^(Asked for a person|The bot handed over)$/;
// The demo tenant's English closing line (its default desk settings).
export const CHECKING = "Is there anything else I can help you with?";

export const offerCard = (page, name) => page.locator("article.offer", { hasText: name });
export const pane = (page) => page.locator("section.conversation");
export const paneLog = (page) => pane(page).getByRole("log");
export const reply = (page) => pane(page).getByLabel("Reply", { exact: true });

/**
 * The desk's notice (a whisper, say) is on screen and leaves the open
 * conversation's header alone: it does not overlap it, and clicks go
 * through it anyway.
 */
export async function toastClearsHeader(page) {
  const toast = page.locator(".toast");
  assert.equal(await toast.getAttribute("role"), "status", "the notice is announced");
  const [t, head] = await Promise.all([toast.boundingBox(), pane(page).locator(".chat-head").boundingBox()]);
  assert.ok(t && head, `the notice ${JSON.stringify(t)} and the header ${JSON.stringify(head)} are on screen`);
  const overlap = t.x < head.x + head.width && head.x < t.x + t.width && t.y < head.y + head.height && head.y < t.y + t.height;
  assert.ok(!overlap, `the notice ${JSON.stringify(t)} covers the conversation's header ${JSON.stringify(head)}`);
  assert.equal(await toast.evaluate((el) => getComputedStyle(el).pointerEvents), "none", "clicks go through the notice");
}

export async function logout(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
}
