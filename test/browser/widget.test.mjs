// The web chat widget in headless Chromium, on a host page of another
// origin, against a live Switchboard node. browser_test.go starts the node
// and the host page and runs this file with:
//   SB_URL       the node's HTTP base (the widget's origin)
//   HOST_URL     the host page server (/ English, /id Indonesian)
//   AGENT_ID, AGENT_TOKEN  a communication identity acting as the agent
//   CHROMIUM     the browser binary
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (browser_test.go sets it)`);
  return v;
};
const SB = env("SB_URL");
const HOST = env("HOST_URL");
const agent = { id: env("AGENT_ID"), token: env("AGENT_TOKEN") };
const CHAT = "api-version=2025-03-15";

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: env("CHROMIUM"), headless: true, chromiumSandbox: false,
    args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => browser && browser.close());

async function rest(token, method, path, body) {
  const res = await fetch(SB + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// The visitor's session as the widget stored it, and a token for it.
async function visitorSession(page) {
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem("switchboard:demo")));
  assert.ok(saved && saved.resumeKey, "the widget keeps a resume key");
  const res = await fetch(`${SB}/webchat/demo/sessions?api-version=2026-11-01`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ resumeKey: saved.resumeKey }),
  });
  assert.equal(res.status, 201);
  return res.json();
}

// Puts the agent in the visitor's thread and returns helpers to act as it.
async function agentJoins(page) {
  const v = await visitorSession(page);
  const thread = `/chat/threads/${encodeURIComponent(v.threadId)}`;
  await rest(v.token, "POST", `${thread}/participants/:add?${CHAT}`, {
    participants: [{ communicationIdentifier: { rawId: agent.id, communicationUser: { id: agent.id } }, displayName: "Ayu" }],
  });
  return {
    thread: v.threadId,
    say: (content, type = "text") => rest(agent.token, "POST", `${thread}/messages?${CHAT}`, { content, type, senderDisplayName: "Ayu" }),
    typing: () => rest(agent.token, "POST", `${thread}/typing?${CHAT}`, { senderDisplayName: "Ayu" }),
    read: (id) => rest(agent.token, "POST", `${thread}/readReceipts?${CHAT}`, { chatMessageId: id }),
    messages: async () => (await rest(agent.token, "GET", `${thread}/messages?${CHAT}&maxPageSize=200`)).value,
    receipts: async () => (await rest(agent.token, "GET", `${thread}/readReceipts?${CHAT}`)).value,
  };
}

async function openChat(page, name = "Budi") {
  await page.getByRole("button", { name: "Open chat" }).click();
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Start chat" }).click();
  await page.getByLabel("Message", { exact: true }).waitFor();
}

async function say(page, text) {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
  await page.locator(".msg.mine", { hasText: text }).waitFor();
}

const log = (page) => page.getByRole("log");

test("a visitor chats with an agent: messages, typing, read receipts, history after reload", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(HOST + "/");
  // Required pre-chat field: nothing starts without it.
  await page.getByRole("button", { name: "Open chat" }).click();
  await page.getByRole("button", { name: "Start chat" }).click();
  await page.getByRole("alert").filter({ hasText: "Your name is required." }).waitFor();
  await page.getByLabel("Your name").fill("Budi");
  await page.getByRole("button", { name: "Start chat" }).click();
  await say(page, "Hello from the browser");

  const a = await agentJoins(page);
  await log(page).getByText("Ayu joined the chat.").waitFor();
  await a.typing();
  await page.getByText("Ayu is typing…").waitFor();
  const reply = await a.say("Hi Budi, I am Ayu. How can I help?");
  await log(page).getByText("Hi Budi, I am Ayu. How can I help?").waitFor();
  assert.ok((await a.messages()).some((m) => m.content && m.content.message === "Hello from the browser"), "the agent sees the visitor's message");

  // The open widget reads the agent's message and says so.
  for (let i = 0; ; i++) {
    const rs = await a.receipts();
    if (rs.some((r) => r.chatMessageId === reply.id)) break;
    assert.ok(i < 100, "the widget never sent a read receipt");
    await page.waitForTimeout(100); // polling the server, not synchronising the page
  }
  const mine = (await a.messages()).find((m) => m.content && m.content.message === "Hello from the browser");
  await a.read(mine.id);
  await log(page).getByText("Seen").waitFor();

  // History survives a reload, without the pre-chat form.
  await page.reload();
  await page.getByRole("button", { name: "Open chat" }).click();
  await log(page).getByText("Hello from the browser").waitFor();
  await log(page).getByText("Hi Budi, I am Ayu. How can I help?").waitFor();
  assert.equal(await page.getByRole("button", { name: "Start chat" }).count(), 0);
  await ctx.close();
});

test("losing the connection loses nothing and repeats nothing", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  let cut = false;
  const sockets = [];
  // Every real-time socket goes through here, so the test can cut it the
  // way a dropped network does and refuse reconnects while it is "down".
  await page.routeWebSocket(/\/realtime$/, (ws) => {
    if (cut) {
      ws.close({ code: 1011, reason: "network down" });
      return;
    }
    const server = ws.connectToServer();
    sockets.push({ ws, server });
  });
  await page.goto(HOST + "/");
  await openChat(page, "Sari");
  await say(page, "before the drop");
  const a = await agentJoins(page);
  await a.say("first");
  await log(page).getByText("first").waitFor();

  cut = true;
  for (const s of sockets) {
    s.server.close();
    s.ws.close({ code: 1011, reason: "network down" });
  }
  await page.getByText("Reconnecting…").waitFor();
  await a.say("while away 1");
  await a.say("while away 2");
  await a.say("while away 3");
  cut = false;
  for (const t of ["while away 1", "while away 2", "while away 3"]) await log(page).getByText(t, { exact: true }).waitFor();
  await a.say("after");
  await log(page).getByText("after", { exact: true }).waitFor();
  for (const t of ["first", "while away 1", "while away 2", "while away 3", "after"]) {
    assert.equal(await log(page).getByText(t, { exact: true }).count(), 1, `"${t}" shown once`);
  }
  assert.ok(await page.getByText("Reconnecting…").isHidden());
  await ctx.close();
});

test("images and files: upload, show, and clear errors for wrong type and size", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(HOST + "/");
  await openChat(page, "Wati");
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAEUlEQVR4nGP4z8DwH4QZYAwAR8oH+WdZbrcAAAAASUVORK5CYII=", "base64");
  const input = page.locator('input[type="file"]');
  await input.setInputFiles({ name: "cat.png", mimeType: "image/png", buffer: png });
  const img = log(page).getByRole("img", { name: "Image: cat.png" });
  await img.waitFor();
  // The image really loads through its signed link: decode() rejects if not.
  const size = await img.evaluate(async (el) => {
    await el.decode();
    return el.naturalWidth;
  });
  assert.equal(size, 2);
  await input.setInputFiles({ name: "huge.png", mimeType: "image/png", buffer: Buffer.alloc(300 * 1024, 1) });
  await page.getByRole("alert").filter({ hasText: "huge.png is larger than" }).waitFor();
  await input.setInputFiles({ name: "page.html", mimeType: "text/html", buffer: Buffer.from("<script>alert(1)</script>") });
  await page.getByRole("alert").filter({ hasText: "page.html cannot be sent" }).waitFor();
  const a = await agentJoins(page);
  const files = (await a.messages()).filter((m) => m.content && m.content.attachments);
  assert.equal(files.length, 1, "only the accepted image reached the thread");
  await ctx.close();
});

test("nothing an agent sends can script the widget", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(HOST + "/");
  await openChat(page, "Eve");
  const a = await agentJoins(page);
  await a.say('<p>safe <b>bold</b></p><img src=x onerror="window.__xss=1"><script>window.__xss=2</script><a href="javascript:window.__xss=3">click</a><svg onload="window.__xss=5"></svg>', "html");
  await a.say('<img src=x onerror="window.__xss=4"> plain text');
  await log(page).getByText("plain text").waitFor();
  await log(page).locator("b", { hasText: "bold" }).waitFor();
  const link = log(page).getByText("click");
  assert.equal(await link.getAttribute("href"), null, "javascript: links lose their href");
  await link.click();
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.ok(await log(page).getByText('<img src=x onerror="window.__xss=4"> plain text').isVisible(), "text messages are shown as text");
  await ctx.close();
});

test("Indonesian, keyboard only, small screens", async () => {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 700 } });
  const page = await ctx.newPage();
  await page.goto(HOST + "/id");
  const launcher = page.getByRole("button", { name: "Buka obrolan" });
  await launcher.waitFor();
  await page.keyboard.press("Tab");
  assert.ok(await launcher.evaluate((el) => el.getRootNode().activeElement === el), "Tab reaches the launcher");
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Obrolan dengan demo" });
  await dialog.waitFor();
  assert.equal((await dialog.boundingBox()).width, 375, "full width on a phone");
  await page.getByRole("button", { name: "Mulai obrolan" }).waitFor();
  await page.keyboard.type("Dewi"); // focus starts in the first field
  await page.keyboard.press("Enter");
  const box = page.getByLabel("Pesan", { exact: true });
  await box.waitFor();
  await box.focus();
  await page.keyboard.type("Halo, saya perlu bantuan");
  await page.keyboard.press("Enter");
  await page.locator(".msg.mine", { hasText: "Halo, saya perlu bantuan" }).waitFor();
  await page.getByText("Anda", { exact: true }).first().waitFor();
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.ok(await launcher.evaluate((el) => el.getRootNode().activeElement === el), "focus returns to the launcher");
  await ctx.close();
});

test("a known customer (visitor token) skips the form and keeps one conversation across devices", async () => {
  const token = env("VISITOR_TOKEN");
  const contact = env("VISITOR_CONTACT");
  const threads = [];
  for (const device of ["laptop", "phone"]) {
    const ctx = await browser.newContext(); // a separate browser profile: nothing shared but the token
    const page = await ctx.newPage();
    await page.goto(`${HOST}/known?token=${encodeURIComponent(token)}`);
    await page.getByRole("button", { name: "Open chat" }).click();
    const box = page.getByLabel("Message", { exact: true });
    await box.waitFor();
    assert.equal(await page.getByRole("button", { name: "Start chat" }).count(), 0, "no pre-chat form for a known customer");
    if (device === "laptop") {
      await say(page, "hello from my laptop");
    } else {
      await log(page).getByText("hello from my laptop").waitFor();
    }
    const v = await visitorSession(page);
    assert.equal(v.contactId, contact, "the session belongs to the business's contact");
    threads.push(v.threadId);
    await ctx.close();
  }
  assert.equal(threads[0], threads[1], "both devices are in the same conversation");
});
