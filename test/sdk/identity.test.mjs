// The official ACS Identity SDK (@azure/communication-identity) against a
// Switchboard node. sdk_test.go starts the node and runs this file with:
//
//   CONNECTION_STRING        endpoint=https://localhost:PORT/;accesskey=<demo key>
//   WRONG_CONNECTION_STRING  the same endpoint with a random access key
//   SWITCHBOARD_HTTP         the node's plain HTTP base (http://127.0.0.1:PORT), for GET /me
//   NODE_EXTRA_CA_CERTS      the node's generated CA, so the SDK talks TLS without
//                            NODE_TLS_REJECT_UNAUTHORIZED
//
// Run by hand: node --test identity.test.mjs (with the variables above).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { CommunicationIdentityClient } from "@azure/communication-identity";

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (sdk_test.go sets it; see the header of this file)`);
  return v;
}

const connectionString = env("CONNECTION_STRING");
const wrongConnectionString = env("WRONG_CONNECTION_STRING");
const httpBase = env("SWITCHBOARD_HTTP").replace(/\/+$/, "");

// No allowInsecureConnection: the endpoint is https and must stay so.
const client = new CommunicationIdentityClient(connectionString);

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
// Allowed gap between the expected and the reported expiry: the server
// truncates to the second and the two clocks are the same machine's.
const SLACK = 2 * MINUTE;

function decodeJwt(token) {
  assert.equal(typeof token, "string", "token is a string");
  const parts = token.split(".");
  assert.equal(parts.length, 3, `token is a JWT (header.payload.signature), got ${parts.length} part(s)`);
  const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
  const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  return { header, payload };
}

// checkToken asserts what AzureCommunicationTokenCredential and the calling
// and chat SDKs rely on: a JWT whose exp is in seconds and matches expiresOn.
function checkToken(at, lifetimeMs) {
  assert.ok(at.expiresOn instanceof Date, `expiresOn is a Date, got ${Object.prototype.toString.call(at.expiresOn)}`);
  assert.ok(!Number.isNaN(at.expiresOn.getTime()), "expiresOn is a valid date");
  const { payload } = decodeJwt(at.token);
  assert.ok(Number.isInteger(payload.exp), `exp is an integer, got ${JSON.stringify(payload.exp)}`);
  // Seconds, not milliseconds: a millisecond exp would be ~1000x larger.
  assert.ok(payload.exp < 1e11, `exp ${payload.exp} looks like milliseconds, not seconds`);
  assert.equal(payload.exp * 1000, at.expiresOn.getTime(), "exp (seconds) equals expiresOn");
  const want = Date.now() + lifetimeMs;
  const got = at.expiresOn.getTime();
  assert.ok(Math.abs(got - want) <= SLACK,
    `expiresOn ${at.expiresOn.toISOString()} should be about ${new Date(want).toISOString()} (±${SLACK / MINUTE} min)`);
  return payload;
}

// me calls the native GET /me with a user token and returns the status.
async function me(token) {
  const res = await fetch(`${httpBase}/me?api-version=2026-11-01`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = await res.text();
  return { status: res.status, body };
}

// rejects asserts that fn throws a RestError with the given status.
async function rejectsWithStatus(fn, status) {
  await assert.rejects(fn, (err) => {
    assert.equal(err?.name, "RestError", `want RestError, got ${err?.name}: ${err?.message}`);
    assert.equal(err.statusCode, status, `want statusCode ${status}, got ${err.statusCode}: ${err.message}`);
    return true;
  });
}

test("createUser returns an 8:acs: id", async () => {
  const user = await client.createUser();
  assert.match(user.communicationUserId, /^8:acs:/);
});

test("createUserAndToken with chat and voip: JWT, expiresOn about 24h ahead", async () => {
  const res = await client.createUserAndToken(["chat", "voip"]);
  assert.match(res.user.communicationUserId, /^8:acs:/);
  checkToken(res, 24 * HOUR);
  const r = await me(res.token);
  assert.equal(r.status, 200, `GET /me with a fresh token: ${r.status} ${r.body}`);
});

test("createUserAndToken with tokenExpiresInMinutes 60: expiresOn about 1h ahead", async () => {
  const res = await client.createUserAndToken(["chat"], { tokenExpiresInMinutes: 60 });
  assert.match(res.user.communicationUserId, /^8:acs:/);
  checkToken(res, HOUR);
});

test("createUserAndToken with tokenExpiresInMinutes 1440: expiresOn about 24h ahead", async () => {
  const res = await client.createUserAndToken(["voip"], { tokenExpiresInMinutes: 1440 });
  checkToken(res, 24 * HOUR);
});

for (const minutes of [59, 1441]) {
  test(`createUserAndToken with tokenExpiresInMinutes ${minutes}: RestError 400`, async () => {
    await rejectsWithStatus(() => client.createUserAndToken(["chat"], { tokenExpiresInMinutes: minutes }), 400);
  });
}

test("getToken with chat.join and voip.join", async () => {
  const user = await client.createUser();
  for (const scope of ["chat.join", "voip.join"]) {
    const at = await client.getToken(user, [scope]);
    checkToken(at, 24 * HOUR);
    const r = await me(at.token);
    assert.equal(r.status, 200, `GET /me with a ${scope} token: ${r.status} ${r.body}`);
    const body = JSON.parse(r.body);
    assert.deepEqual(body.scopes, [scope], `GET /me scopes for a ${scope} token`);
    assert.equal(body.identity?.communicationUser?.id, user.communicationUserId);
  }
  const short = await client.getToken(user, ["chat.join"], { tokenExpiresInMinutes: 60 });
  checkToken(short, HOUR);
  await rejectsWithStatus(() => client.getToken(user, ["chat"], { tokenExpiresInMinutes: 59 }), 400);
});

test("revokeTokens: the old token gets 401 from GET /me, a new one works", async () => {
  const { user, token } = await client.createUserAndToken(["chat"]);
  assert.equal((await me(token)).status, 200, "token works before revocation");
  await client.revokeTokens(user);
  const after = await me(token);
  assert.equal(after.status, 401, `revoked token: ${after.status} ${after.body}`);
  const fresh = await client.getToken(user, ["chat"]);
  const r = await me(fresh.token);
  assert.equal(r.status, 200, `token issued after revocation: ${r.status} ${r.body}`);
});

test("deleteUser: getToken then fails with RestError 404 and the old token gets 401", async () => {
  const { user, token } = await client.createUserAndToken(["voip"]);
  await client.deleteUser(user);
  await rejectsWithStatus(() => client.getToken(user, ["chat"]), 404);
  const r = await me(token);
  assert.equal(r.status, 401, `token of a deleted identity: ${r.status} ${r.body}`);
});

test("a wrong access key: RestError 401", async () => {
  const wrong = new CommunicationIdentityClient(wrongConnectionString);
  await rejectsWithStatus(() => wrong.createUser(), 401);
});

test("x-ms-client-request-id round trip", async () => {
  const id = randomUUID();
  let raw;
  await client.createUser({
    requestOptions: { customHeaders: { "x-ms-client-request-id": id } },
    onResponse: (r) => { raw = r; },
  });
  assert.ok(raw, "onResponse was called");
  assert.equal(raw.status, 201);
  assert.equal(raw.request.headers.get("x-ms-client-request-id"), id, "the SDK sent our request id");
  assert.equal(raw.headers.get("x-ms-client-request-id"), id, "the server echoed it");
  assert.ok(raw.headers.get("x-ms-request-id"), "the server set x-ms-request-id");

  // Without our own id the SDK makes one up; it must still come back.
  let raw2;
  await client.createUser({ onResponse: (r) => { raw2 = r; } });
  const sent = raw2.request.headers.get("x-ms-client-request-id");
  assert.ok(sent, "the SDK sends x-ms-client-request-id by default");
  assert.equal(raw2.headers.get("x-ms-client-request-id"), sent);
});
