// Unit tests of ChatConnection's protocol handling against a scripted
// fake socket, with mocked time: close codes, back-off, resume and dedupe,
// resync, heartbeats, token renewal, REST errors and paging. The same
// client against a real server is covered by test/browser.
// Run: node --test web/client/ (internal/web's Go tests do).
import { test, mock, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { ChatConnection, SwitchboardError, isAfter } from "./index.js";

class FakeSocket {
  static all = [];
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.all.push(this);
  }
  send(s) {
    this.sent.push(JSON.parse(s));
  }
  close(code) {
    this.readyState = 3;
    this.closedWith = code;
  }
  // Test side: the server's actions.
  accept() {
    this.readyState = 1;
    this.onopen && this.onopen();
  }
  frame(f) {
    this.onmessage && this.onmessage({ data: JSON.stringify(f) });
  }
  shut(code) {
    this.readyState = 3;
    this.onclose && this.onclose({ code });
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1];
const flush = () => new Promise((r) => setImmediate(r));
const ready = (position = "10", heartbeatSeconds = 25) => ({ type: "ready", position, heartbeatSeconds, identity: { rawId: "8:acs:me" } });
const msg = (position, id) => ({ type: "event", name: "chatMessageReceived", position, data: { threadId: "t", id, message: id } });

function jwt(expSeconds) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "RS256" })}.${b64({ exp: expSeconds, skypeid: "me" })}.sig`;
}

function newConn(opts = {}) {
  return new ChatConnection({ endpoint: "https://sb.example/", token: "t1", WebSocket: FakeSocket, ...opts });
}

// Accepts the newest socket and answers its hello with ready.
async function up(conn, frames = [], position = "10", hb = 25) {
  const ws = last();
  ws.accept();
  for (const f of frames) ws.frame(f);
  ws.frame(ready(position, hb));
  await flush();
  return ws;
}

beforeEach(() => {
  FakeSocket.all = [];
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_000_000 });
});
afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

test("hello first, with the subprotocol; connect resolves at ready", async () => {
  const conn = newConn();
  const states = [];
  conn.on("connectionStateChanged", (s) => states.push(s));
  const p = conn.connect();
  const ws = last();
  assert.equal(ws.url, "wss://sb.example/realtime");
  assert.equal(ws.protocol, "switchboard.v1");
  ws.accept();
  assert.deepEqual(ws.sent, [{ type: "hello", token: "t1" }], "no resume on a first connection");
  ws.frame(ready("42"));
  await p;
  assert.deepEqual(states, ["connecting", "connected"]);
  assert.equal(conn.position, "42");
  assert.equal(conn.identity.rawId, "8:acs:me");
  conn.close();
  assert.equal(ws.closedWith, 1000);
  assert.equal(conn.state, "disconnected");
});

test("resumes from the last processed position and processes nothing twice", async () => {
  const conn = newConn({ resumeFrom: "7" });
  const seen = [];
  const positions = [];
  conn.on("chatMessageReceived", (e) => seen.push(e.id));
  conn.on("position", (p) => positions.push(p));
  conn.connect();
  let ws = last();
  ws.accept();
  assert.equal(ws.sent[0].resume, "7");
  ws.frame(msg("8", "a"));
  ws.frame(msg("9", "b"));
  ws.frame(ready("12"));
  ws.frame(msg("13", "c"));
  ws.frame(msg("13", "c")); // a duplicate
  ws.frame(msg("11", "old")); // behind the stream
  ws.frame({ type: "event", name: "typingIndicatorReceived", data: { threadId: "t" } });
  await flush();

  ws.shut(1006);
  assert.equal(conn.state, "reconnecting");
  mock.timers.tick(BACKOFF_CAP(0));
  ws = last();
  assert.equal(FakeSocket.all.length, 2);
  ws.accept();
  assert.deepEqual(ws.sent[0], { type: "hello", token: "t1", resume: "13" });
  ws.frame(msg("13", "c"));
  ws.frame(msg("100", "d"));
  ws.frame(ready("100"));
  await flush();
  assert.deepEqual(seen, ["a", "b", "c", "d"]);
  assert.equal(conn.position, "100");
  assert.equal(positions.at(-1), "100");
  conn.close();
});

// The longest first wait: the back-off's cap for an attempt.
function BACKOFF_CAP(attempt) {
  return Math.min(30000, 500 * 2 ** attempt);
}

test("reconnects with jittered exponential back-off, reset by a stable connection", async () => {
  const conn = newConn();
  conn.connect();
  // Random at 0: every wait is the lower half's edge, cap/2.
  mock.method(Math, "random", () => 0);
  for (let attempt = 0; attempt < 8; attempt++) {
    const n = FakeSocket.all.length;
    last().shut(1006);
    const wait = BACKOFF_CAP(attempt) / 2;
    mock.timers.tick(wait - 1);
    assert.equal(FakeSocket.all.length, n, `attempt ${attempt}: not before ${wait} ms`);
    mock.timers.tick(1);
    assert.equal(FakeSocket.all.length, n + 1, `attempt ${attempt}: at ${wait} ms`);
  }
  // Random near 1: the wait reaches the cap (30 s at most).
  Math.random.mock.mockImplementation(() => 0.999999);
  let n = FakeSocket.all.length;
  last().shut(1006);
  mock.timers.tick(29990);
  assert.equal(FakeSocket.all.length, n);
  mock.timers.tick(10);
  assert.equal(FakeSocket.all.length, n + 1);

  // A connection that stayed up resets the back-off.
  await up(conn);
  mock.timers.tick(6000);
  Math.random.mock.mockImplementation(() => 0);
  n = FakeSocket.all.length;
  last().shut(4500);
  mock.timers.tick(250);
  assert.equal(FakeSocket.all.length, n + 1);
  conn.close();
});

test("resyncRequired: continue from the ready position and emit resync after ready", async () => {
  const conn = newConn({ resumeFrom: "999999" });
  const order = [];
  conn.on("ready", () => order.push("ready"));
  conn.on("resync", () => order.push("resync"));
  conn.connect();
  await up(conn, [{ type: "resyncRequired" }], "50");
  assert.deepEqual(order, ["ready", "resync"]);
  assert.equal(conn.position, "50", "the old position is dropped, even though it was higher");
  const seen = [];
  conn.on("chatMessageReceived", (e) => seen.push(e.id));
  last().frame(msg("51", "x"));
  assert.deepEqual(seen, ["x"]);
  conn.close();
});

test("4400 and 1009: no retry, connect rejects", async () => {
  for (const code of [4400, 1009]) {
    FakeSocket.all = [];
    const conn = newConn();
    const p = conn.connect();
    last().accept();
    last().frame({ type: "error", code: "MalformedFrame", message: "resume must be a position" });
    last().shut(code);
    await assert.rejects(p, (e) => e instanceof SwitchboardError && e.status === 400 && /resume must be a position/.test(e.message));
    assert.equal(conn.state, "disconnected");
    mock.timers.tick(120000);
    assert.equal(FakeSocket.all.length, 1, `${code}: never retried`);
  }
});

test("4401: asks for a new token, then reconnects with it and resumes", async () => {
  let calls = 0;
  const conn = newConn({ onTokenExpiring: async () => `t${++calls + 1}` });
  conn.connect();
  await up(conn, [msg("11", "a")], "11");
  last().shut(4401);
  await flush();
  assert.equal(calls, 1);
  mock.timers.tick(BACKOFF_CAP(0));
  last().accept();
  assert.deepEqual(last().sent[0], { type: "hello", token: "t2", resume: "11" });
  assert.equal(conn.token, "t2", "REST calls use it too");
  conn.close();
});

test("4401 without a way to renew, or when the token source refuses: give up", async () => {
  const a = newConn();
  const pa = a.connect();
  last().accept();
  last().shut(4401);
  await assert.rejects(pa, (e) => e.status === 401);
  assert.equal(a.state, "disconnected");

  FakeSocket.all = [];
  const b = newConn({ onTokenExpiring: async () => { throw new SwitchboardError(401, { error: { code: "InvalidResumeKey", message: "unknown" } }); } });
  const pb = b.connect();
  last().accept();
  last().shut(4401);
  await assert.rejects(pb, (e) => e.code === "InvalidResumeKey");
  mock.timers.tick(120000);
  assert.equal(FakeSocket.all.length, 1);

  // A token source that cannot be reached is retried, not given up on.
  FakeSocket.all = [];
  let fail = true;
  const c = newConn({ onTokenExpiring: async () => { if (fail) throw new TypeError("Failed to fetch"); return "t9"; } });
  c.connect();
  last().accept();
  last().shut(4401);
  await flush();
  mock.timers.tick(BACKOFF_CAP(0));
  assert.equal(FakeSocket.all.length, 2);
  fail = false;
  last().accept();
  last().shut(4401);
  await flush();
  mock.timers.tick(BACKOFF_CAP(1));
  last().accept();
  assert.equal(last().sent[0].token, "t9");
  c.close();
});

test("other codes reconnect: 1001, 4408, 4429, 4500, 1006", async () => {
  const conn = newConn();
  conn.connect();
  mock.method(Math, "random", () => 0);
  for (const code of [1001, 4408, 4429, 4500, 1006]) {
    await up(conn);
    mock.timers.tick(STABLE);
    const n = FakeSocket.all.length;
    last().shut(code);
    assert.equal(conn.state, "reconnecting", `${code}`);
    mock.timers.tick(BACKOFF_CAP(0));
    assert.equal(FakeSocket.all.length, n + 1, `${code}: reconnected`);
  }
  conn.close();
});
const STABLE = 5000;

test("heartbeat: ping after 2 × heartbeatSeconds of silence, reconnect when no pong", async () => {
  const conn = newConn();
  conn.connect();
  const ws = await up(conn, [], "10", 1);
  ws.frame({ type: "ping" });
  assert.deepEqual(ws.sent.map((f) => f.type), ["hello"], "the server's ping needs no answer");
  mock.timers.tick(1900);
  assert.equal(ws.sent.length, 1, "not silent long enough yet");
  mock.timers.tick(200);
  assert.deepEqual(ws.sent.at(-1), { type: "ping" });
  ws.frame({ type: "pong" });
  mock.timers.tick(1500);
  assert.equal(FakeSocket.all.length, 1, "the pong kept the connection");

  // Silence again, and this time no answer.
  mock.timers.tick(1000);
  assert.equal(ws.sent.filter((f) => f.type === "ping").length, 2);
  assert.equal(FakeSocket.all.length, 1);
  mock.timers.tick(1100);
  assert.ok(ws.closedWith, "the dead socket is abandoned");
  assert.equal(conn.state, "reconnecting");
  mock.timers.tick(BACKOFF_CAP(0));
  assert.equal(FakeSocket.all.length, 2);
  conn.close();
});

test("the token is renewed before it expires and handed over in a token frame", async () => {
  const now = Date.now() / 1000;
  const t1 = jwt(now + 20 * 60);
  const t2 = jwt(now + 60 * 60);
  const asked = [];
  const conn = newConn({ token: t1, onTokenExpiring: async () => { asked.push(Date.now()); return t2; } });
  conn.connect();
  const ws = await up(conn);
  mock.timers.tick(15 * 60 * 1000 - 10);
  await flush();
  assert.equal(asked.length, 0, "not before five minutes ahead of expiry");
  mock.timers.tick(10);
  await flush();
  assert.equal(asked.length, 1);
  assert.deepEqual(ws.sent.at(-1), { type: "token", token: t2 });
  assert.equal(conn.token, t2);
  // The next renewal follows the new token's expiry.
  mock.timers.tick(40 * 60 * 1000);
  await flush();
  assert.equal(asked.length, 2);
  conn.close();
});

test("attachment links in events are made absolute", async () => {
  const conn = newConn();
  conn.connect();
  const ws = await up(conn);
  let got;
  conn.on("chatMessageReceived", (e) => (got = e));
  ws.frame({ type: "event", name: "chatMessageReceived", position: "11", data: { attachments: [{ url: "/files/a?sig=1", previewUrl: "https://cdn.example/p" }] } });
  assert.equal(got.attachments[0].url, "https://sb.example/files/a?sig=1");
  assert.equal(got.attachments[0].previewUrl, "https://cdn.example/p");
  conn.close();
});

test("REST: bearer token, api-version, ACS errors, one retry after 401, paging", async () => {
  const calls = [];
  const responses = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const [status, body] = responses.shift();
    return new Response(body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body), { status });
  };
  const conn = newConn({ fetch, onTokenExpiring: async () => "fresh" });
  const th = conn.thread("19:abc@thread.v2");

  responses.push([201, { id: "m1" }]);
  assert.deepEqual(await th.sendMessage({ content: "hi", senderDisplayName: "Budi" }), { id: "m1" });
  assert.equal(calls[0].url, "https://sb.example/chat/threads/19%3Aabc%40thread.v2/messages?api-version=2025-03-15");
  assert.equal(calls[0].init.headers.Authorization, "Bearer t1");
  assert.deepEqual(JSON.parse(calls[0].init.body), { content: "hi", type: "text", senderDisplayName: "Budi" });

  responses.push([404, { error: { code: "NotFound", message: "no such message" } }]);
  await assert.rejects(th.getMessage("9"), (e) => e instanceof SwitchboardError && e.status === 404 && e.error.code === "NotFound" && e.message === "no such message");
  responses.push([502, "<html>bad gateway</html>"]);
  await assert.rejects(th.getProperties(), (e) => e.status === 502 && e.error.code === "502");

  responses.push([401, { error: { code: "InvalidToken" } }], [200, { value: [{ id: "3" }], nextLink: "https://sb.example/chat/threads/x/messages?api-version=2025-03-15&continuationToken=2" }], [200, { value: [{ id: "2" }, { id: "1" }] }]);
  const all = await th.listMessages({ maxPageSize: 1, startTime: "2026-01-02T03:04:05Z" });
  assert.deepEqual(all.map((m) => m.id), ["3", "2", "1"]);
  const n = calls.length;
  assert.match(calls[n - 3].url, /maxPageSize=1&startTime=2026-01-02T03%3A04%3A05.000Z$/);
  assert.equal(calls[n - 2].init.headers.Authorization, "Bearer fresh", "retried with the new token");
  assert.equal(calls[n - 1].url, "https://sb.example/chat/threads/x/messages?api-version=2025-03-15&continuationToken=2");

  responses.push([201, { id: "f1", attachmentType: "image", url: "https://sb.example/files/f1" }]);
  await th.uploadAttachment(new Blob([new Uint8Array([1, 2, 3])], { type: "image/png" }), "cat 1.png");
  assert.equal(calls.at(-1).url, "https://sb.example/chat/threads/19%3Aabc%40thread.v2/attachments?api-version=2026-11-01&name=cat%201.png");
  assert.equal(calls.at(-1).init.headers["Content-Type"], "image/png");

  responses.push([201, { id: "m2" }]);
  await th.sendMessage({ attachments: [{ id: "f1", url: "ignored" }] });
  assert.deepEqual(JSON.parse(calls.at(-1).init.body), { content: "", type: "text", metadata: {}, attachments: [{ id: "f1" }] });

  responses.push([204, undefined]);
  assert.equal(await th.sendTypingNotification(), undefined);
});

test("positions compare as numbers of any size", () => {
  assert.ok(isAfter("10", "9"));
  assert.ok(isAfter("18446744073709551615", "18446744073709551614"));
  assert.ok(!isAfter("9", "10"));
  assert.ok(!isAfter("7", "7"));
  assert.ok(isAfter("10", "09"));
});
