// The browser client (/web/switchboard-client.js) against a live node, as
// the agent desktop will use it: imported by a page of the business's
// origin, next to a visitor using the widget. Close codes, heartbeats and
// back-off in isolation are covered by web/client/client.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHAT, HOST, NATIVE, SB, agentDesktop, agentIn, log, newAgent, newPage, openChat, rest, revokeTokens, visitorSession } from "./helpers.mjs";

// A visitor with a conversation, made over REST (no browser needed).
async function restVisitor(name) {
  const res = await fetch(`${SB}/webchat/demo/sessions?${NATIVE}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ displayName: name, fields: { name } }),
  });
  assert.equal(res.status, 201);
  const v = await res.json();
  const thread = `/chat/threads/${encodeURIComponent(v.threadId)}`;
  return { ...v, say: (content) => rest(v.token, "POST", `${thread}/messages?${CHAT}`, { content, senderDisplayName: name }) };
}

test("the agent's client sees the visitor: messages, debounced typing, read receipts; its REST calls reach the widget", async () => {
  const { ctx, page } = await newPage();
  await page.goto(HOST + "/");
  await openChat(page, "Budi");
  const agent = await newAgent("Ayu");
  const desk = await agentDesktop(agent);
  const visitor = await visitorSession(page);
  await agentIn(visitor, agent);
  await desk.waitFor("participantsAdded");

  // Typing a whole sentence sends one or two notifications, not one per key.
  const text = "Hello, I need help with my order number 12345";
  const box = page.getByLabel("Message", { exact: true });
  await box.focus();
  await page.keyboard.type(text);
  await desk.waitFor("typingIndicatorReceived", { threadId: visitor.threadId });
  await page.keyboard.press("Enter");
  await desk.waitFor("chatMessageReceived", { message: text });
  const typing = await desk.events("typingIndicatorReceived");
  assert.ok(typing.length >= 1 && typing.length <= 2, `${typing.length} typing notifications for ${text.length} keys`);
  assert.equal(typing[0].sender.rawId, visitor.identity.rawId);
  assert.equal(typing[0].senderDisplayName, "Budi");

  // The agent answers through the client's REST helpers.
  const sent = await desk.page.evaluate(async (id) => {
    const th = window.conn.thread(id);
    const r = await th.sendMessage({ content: "Let me check that for you.", senderDisplayName: "Ayu" });
    await th.sendTypingNotification({ senderDisplayName: "Ayu" });
    const [messages, participants, props] = await Promise.all([th.listMessages({ maxPageSize: 2 }), th.listParticipants(), th.getProperties()]);
    return { id: r.id, texts: messages.map((m) => m.content && m.content.message), participants: participants.length, topic: props.topic };
  }, visitor.threadId);
  assert.ok(sent.texts.includes(text), "listMessages follows nextLink to older pages");
  assert.equal(sent.participants, 2);
  assert.equal(sent.topic, "Web chat");
  await log(page).getByText("Let me check that for you.").waitFor();
  await desk.waitFor("readReceiptReceived", { chatMessageId: sent.id });

  // ACS errors come back as SwitchboardError with status and error body.
  const err = await desk.page.evaluate(async () => {
    try {
      await window.conn.thread("19:nothing@thread.v2").getMessage("1");
    } catch (e) {
      return { name: e.name, status: e.status, code: e.error && e.error.code, message: e.message };
    }
  });
  assert.equal(err.name, "SwitchboardError");
  assert.ok([403, 404].includes(err.status), JSON.stringify(err));
  assert.ok(err.code && err.message, JSON.stringify(err));
  await desk.ctx.close();
  await ctx.close();
});

test("revoked tokens: closed with 4401, a new token from onTokenExpiring, resumed with nothing lost or repeated", async () => {
  const agent = await newAgent("Rudi");
  const visitor = await restVisitor("Lina");
  await agentIn(visitor, agent);
  const desk = await agentDesktop(agent);
  await visitor.say("before");
  await desk.waitFor("chatMessageReceived", { message: "before" });

  await revokeTokens(agent.id);
  await desk.page.waitForFunction(() => window.states.includes("reconnecting"));
  for (const t of ["during 1", "during 2", "during 3"]) await visitor.say(t);
  await desk.waitFor("chatMessageReceived", { message: "during 3" });
  await visitor.say("after");
  await desk.waitFor("chatMessageReceived", { message: "after" });
  for (const t of ["before", "during 1", "during 2", "during 3", "after"]) assert.equal(await desk.received(t), 1, `"${t}" once`);
  const { tokenCalls, state, restOK } = await desk.page.evaluate(async (id) => ({
    tokenCalls: window.tokenCalls, state: window.conn.state,
    restOK: (await window.conn.thread(id).listMessages({ maxPageSize: 5, maxPages: 1 })).length > 0,
  }), visitor.threadId);
  assert.equal(tokenCalls, 1, "one new token for the socket and REST alike");
  assert.equal(state, "connected");
  assert.ok(restOK, "REST calls use the new token");
  await desk.ctx.close();
});

test("a malformed resume is refused for good (4400) and reported", async () => {
  const agent = await newAgent();
  const { ctx, page } = await newPage();
  await page.goto(`${HOST}/agent`);
  const got = await page.evaluate(async ({ SB, token }) => {
    const { ChatConnection } = await import(`${SB}/web/switchboard-client.js`);
    const conn = new ChatConnection({ endpoint: SB, token, resumeFrom: "not-a-position" });
    try {
      await conn.connect();
      return { resolved: true };
    } catch (e) {
      return { status: e.status, state: conn.state };
    }
  }, { SB, token: agent.token });
  assert.deepEqual(got, { status: 400, state: "disconnected" });
  await ctx.close();
});

test("a silent connection is pinged, and abandoned when no pong comes; the resume fills the gap", async () => {
  const agent = await newAgent("Dewi");
  const visitor = await restVisitor("Tono");
  await agentIn(visitor, agent);
  const { ctx, page } = await newPage();
  const sockets = [];
  // The first socket turns into a black hole on request: nothing passes
  // either way, but it stays open, like a connection whose network
  // vanished. ready's heartbeat is cut to 1 s so the client notices soon.
  await page.routeWebSocket(/\/realtime$/, (ws) => {
    const s = { dead: false, pings: 0 };
    sockets.push(s);
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (JSON.parse(m).type === "ping") s.pings++;
      if (!s.dead) server.send(m);
    });
    server.onMessage((m) => {
      if (s.dead) return;
      const f = JSON.parse(m);
      if (f.type === "ready") f.heartbeatSeconds = 1;
      ws.send(JSON.stringify(f));
    });
  });
  await page.goto(`${HOST}/agent`);
  await page.evaluate(async ({ SB, token }) => {
    const { ChatConnection } = await import(`${SB}/web/switchboard-client.js`);
    window.seen = [];
    window.conn = new ChatConnection({ endpoint: SB, token });
    window.conn.on("chatMessageReceived", (m) => window.seen.push(m.message));
    await window.conn.connect();
  }, { SB, token: agent.token });
  await visitor.say("one");
  await page.waitForFunction(() => window.seen.includes("one"));

  sockets[0].dead = true;
  await visitor.say("two");
  await visitor.say("three");
  await page.waitForFunction(() => window.seen.includes("three"));
  assert.ok(sockets[0].pings >= 1, "the client pinged the silent socket");
  assert.equal(sockets.length, 2, "then gave up on it and reconnected");
  assert.deepEqual(await page.evaluate(() => window.seen), ["one", "two", "three"]);
  await ctx.close();
});
