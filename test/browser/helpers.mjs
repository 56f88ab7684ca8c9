// Shared by the browser test files. browser_test.go starts a node and a
// host site and sets:
//   SB_URL    the node's HTTP base (the widget's origin)
//   HOST_URL  the business's site: / (English), /id (Indonesian), /known?token=,
//             /agent (a blank page), /backend/… (signed calls with the access key)
//   CHROMIUM  the browser binary
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (browser_test.go sets it)`);
  return v;
};
export const SB = env("SB_URL");
export const HOST = env("HOST_URL");
export const CHAT = "api-version=2025-03-15";
export const NATIVE = "api-version=2026-11-01";
const IDENTITY = "api-version=2023-10-01";

/** The browser, launched once per file. */
export const browser = {};
before(async () => {
  browser.it = await chromium.launch({
    executablePath: env("CHROMIUM"), headless: true, chromiumSandbox: false,
    args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => browser.it && browser.it.close());

export async function newPage(opts) {
  const ctx = await browser.it.newContext(opts);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.log("page error:", e.message));
  return { ctx, page };
}

async function call(url, method, headers, body) {
  const res = await fetch(url, {
    method, headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A call as a communication identity (bearer token). */
export const rest = (token, method, path, body) => call(SB + path, method, { Authorization: `Bearer ${token}` }, body);

/** A call from the business's backend (access key, signed by the Go side). */
export const backend = (method, path, body) => call(`${HOST}/backend${path}`, method, {}, body);

/** A new communication identity with a chat token: an agent. */
export async function newAgent(displayName = "Ayu") {
  const r = await backend("POST", `/identities?${IDENTITY}`, { createTokenWithScopes: ["chat"] });
  return { id: r.identity.id, token: r.accessToken.token, displayName };
}

export const issueToken = async (id) => (await backend("POST", `/identities/${encodeURIComponent(id)}/:issueAccessToken?${IDENTITY}`, { scopes: ["chat"] })).token;
export const revokeTokens = (id) => backend("POST", `/identities/${encodeURIComponent(id)}/:revokeAccessTokens?${IDENTITY}`);

/** Changes the tenant's web chat settings; returns the previous ones. */
export async function updateSettings(patch) {
  const prev = await backend("GET", `/webchat/settings?${NATIVE}`);
  await backend("PUT", `/webchat/settings?${NATIVE}`, { ...prev, ...patch });
  return prev;
}

/** The visitor's session as the widget stored it, and a fresh token for it. */
export async function visitorSession(page) {
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem("switchboard:demo")));
  assert.ok(saved && saved.resumeKey, "the widget keeps a resume key");
  assert.ok(saved.token, "the widget keeps the current token");
  return call(`${SB}/webchat/demo/sessions?${NATIVE}`, "POST", {}, { resumeKey: saved.resumeKey });
}

/** Acts in a thread as agent: adds it with the visitor's token first. */
export async function agentIn(visitor, agent) {
  const thread = `/chat/threads/${encodeURIComponent(visitor.threadId)}`;
  await rest(visitor.token, "POST", `${thread}/participants/:add?${CHAT}`, {
    participants: [{ communicationIdentifier: { rawId: agent.id, communicationUser: { id: agent.id } }, displayName: agent.displayName }],
  });
  return {
    thread: visitor.threadId,
    say: (content, type = "text", senderDisplayName = agent.displayName) =>
      rest(agent.token, "POST", `${thread}/messages?${CHAT}`, { content, type, senderDisplayName }),
    typing: () => rest(agent.token, "POST", `${thread}/typing?${CHAT}`, { senderDisplayName: agent.displayName }),
    read: (id) => rest(agent.token, "POST", `${thread}/readReceipts?${CHAT}`, { chatMessageId: id }),
    messages: async () => (await rest(agent.token, "GET", `${thread}/messages?${CHAT}&maxPageSize=200`)).value,
    receipts: async () => (await rest(agent.token, "GET", `${thread}/readReceipts?${CHAT}`)).value,
  };
}

/** Puts a fresh agent into the widget's conversation. */
export async function agentJoins(page, displayName = "Ayu") {
  return agentIn(await visitorSession(page), await newAgent(displayName));
}

export async function openChat(page, name = "Budi") {
  await page.getByRole("button", { name: "Open chat" }).click();
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Start chat" }).click();
  await page.getByLabel("Message", { exact: true }).waitFor();
}

export async function say(page, text) {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
  await page.locator(".msg.mine", { hasText: text }).waitFor();
}

export const log = (page) => page.getByRole("log");

/**
 * The agent desktop's way in: /web/switchboard-client.js imported by a page
 * of the business's origin, connected as agent. Events and connection
 * states are recorded in the page.
 */
export async function agentDesktop(agent) {
  const { ctx, page } = await newPage();
  await page.goto(`${HOST}/agent`);
  await page.evaluate(async ({ SB, agent }) => {
    const { ChatConnection } = await import(`${SB}/web/switchboard-client.js`);
    window.events = [];
    window.states = [];
    window.tokenCalls = 0;
    const conn = new ChatConnection({
      endpoint: SB, token: agent.token,
      onTokenExpiring: async () => {
        window.tokenCalls++;
        const res = await fetch(`/backend/identities/${encodeURIComponent(agent.id)}/:issueAccessToken?api-version=2023-10-01`, {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ scopes: ["chat"] }),
        });
        return (await res.json()).token;
      },
    });
    for (const name of ["chatMessageReceived", "typingIndicatorReceived", "readReceiptReceived", "participantsAdded"]) {
      conn.on(name, (data) => window.events.push({ name, data }));
    }
    conn.on("connectionStateChanged", (s) => window.states.push(s));
    window.conn = conn;
    await conn.connect();
  }, { SB, agent });
  const events = (name) => page.evaluate((n) => window.events.filter((e) => e.name === n).map((e) => e.data), name);
  return {
    ctx, page, events,
    /** Waits until an event of that name matches (data fields equal). */
    waitFor: (name, match = {}) => page.waitForFunction(([n, m]) =>
      window.events.some((e) => e.name === n && Object.entries(m).every(([k, v]) => e.data[k] === v)), [name, match]),
    received: async (text) => (await events("chatMessageReceived")).filter((m) => m.message === text).length,
  };
}
