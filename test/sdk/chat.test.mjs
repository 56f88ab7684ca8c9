// The official ACS Chat SDK (@azure/communication-chat 1.6.0) against a
// Switchboard node, over TLS with bearer user tokens. sdk_test.go starts the
// node and runs this file with CONNECTION_STRING, OTHER_CONNECTION_STRING (a
// second tenant) and NODE_EXTRA_CA_CERTS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { CommunicationIdentityClient } from "@azure/communication-identity";
import { AzureCommunicationTokenCredential, parseConnectionString } from "@azure/communication-common";
import { ChatClient } from "@azure/communication-chat";

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (sdk_test.go sets it)`);
  return v;
}

const connectionString = env("CONNECTION_STRING");
const endpoint = parseConnectionString(connectionString).endpoint;
const identities = new CommunicationIdentityClient(connectionString);

async function user(scopes = ["chat"]) {
  const { user, token } = await identities.createUserAndToken(scopes);
  return { user, token, chat: new ChatClient(endpoint, new AzureCommunicationTokenCredential(token)) };
}

async function all(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

async function rejects(promise, status, code) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.statusCode, status, `status ${err.statusCode}: ${err.message}`);
    if (code) assert.equal(err.code, code, `error code ${err.code}: ${err.message}`);
    return true;
  });
}

test("threads: create (idempotent), get, update, list, delete", async () => {
  const alice = await user();
  const bob = await user();
  const token = randomUUID();
  const created = await alice.chat.createChatThread(
    { topic: "Support #1" },
    { participants: [{ id: bob.user, displayName: "Bob" }], idempotencyToken: token, metadata: { channel: "web" } },
  );
  const thread = created.chatThread;
  assert.match(thread.id, /^19:[0-9a-f]+@thread\.v2$/);
  assert.equal(thread.topic, "Support #1");
  assert.equal(thread.createdBy.communicationUserId, alice.user.communicationUserId);
  assert.deepEqual(created.invalidParticipants ?? [], []);

  // The same repeatability id returns the same thread, not a second one.
  const again = await alice.chat.createChatThread(
    { topic: "Support #1" },
    { participants: [{ id: bob.user, displayName: "Bob" }], idempotencyToken: token, metadata: { channel: "web" } },
  );
  assert.equal(again.chatThread.id, thread.id);
  // Reusing it for a different request is refused.
  await rejects(alice.chat.createChatThread({ topic: "Other" }, { idempotencyToken: token }), 409);

  const tc = alice.chat.getChatThreadClient(thread.id);
  const props = await tc.getProperties();
  assert.equal(props.topic, "Support #1");
  assert.ok(props.createdOn instanceof Date);
  assert.deepEqual(props.metadata, { channel: "web" });

  await tc.updateTopic("Support #1 (billing)");
  await tc.updateProperties({ metadata: { channel: "web", tier: "gold" } });
  const updated = await bob.chat.getChatThreadClient(thread.id).getProperties();
  assert.equal(updated.topic, "Support #1 (billing)");
  assert.deepEqual(updated.metadata, { channel: "web", tier: "gold" });

  const bobThreads = await all(bob.chat.listChatThreads());
  assert.ok(bobThreads.some((t) => t.id === thread.id), "Bob lists the thread");

  // A topic change leaves a system message.
  const msgs = await all(tc.listMessages());
  assert.ok(msgs.some((m) => m.type === "topicUpdated" && m.content.topic === "Support #1 (billing)"), "topicUpdated message");

  await alice.chat.deleteChatThread(thread.id);
  await rejects(tc.getProperties(), 404);
  const after = await all(bob.chat.listChatThreads());
  const gone = after.find((t) => t.id === thread.id);
  assert.ok(gone && gone.deletedOn instanceof Date, "the deleted thread is listed with deletedOn");
});

test("messages: send, get, list with paging, edit, delete", async () => {
  const alice = await user();
  const bob = await user();
  const { chatThread } = await alice.chat.createChatThread({ topic: "Messages" }, { participants: [{ id: bob.user, displayName: "Bob" }] });
  const tc = alice.chat.getChatThreadClient(chatThread.id);
  const sent = await tc.sendMessage({ content: "hello from sdk" }, { senderDisplayName: "Alice", type: "text", metadata: { k: "v" } });
  assert.match(sent.id, /^\d+$/, "message ids are millisecond timestamps");
  const html = await tc.sendMessage({ content: '<p>bold <b>move</b><script>alert(1)</script><img src=x onerror="alert(2)"></p>' }, { type: "html" });

  const m = await tc.getMessage(sent.id);
  assert.equal(m.content.message, "hello from sdk");
  assert.equal(m.senderDisplayName, "Alice");
  assert.equal(m.type, "text");
  assert.deepEqual(m.metadata, { k: "v" });
  assert.equal(m.sender.communicationUserId, alice.user.communicationUserId);
  assert.equal(m.version, sent.id);

  const h = await tc.getMessage(html.id);
  assert.equal(h.type, "html");
  assert.ok(!h.content.message.includes("script") && !h.content.message.includes("onerror"), `sanitised: ${h.content.message}`);
  assert.ok(h.content.message.includes("<b>move</b>"), "formatting kept");

  for (let i = 0; i < 5; i++) await tc.sendMessage({ content: `n${i}` });
  const bobTc = bob.chat.getChatThreadClient(chatThread.id);
  const pages = [];
  for await (const page of bobTc.listMessages({ maxPageSize: 2 }).byPage()) pages.push(page);
  assert.ok(pages.length >= 4, `paged in ${pages.length} pages`);
  const listed = pages.flat();
  const texts = listed.filter((x) => x.type === "text").map((x) => x.content.message);
  assert.deepEqual(texts.slice(0, 6), ["n4", "n3", "n2", "n1", "n0", "hello from sdk"], "newest first");
  const seqs = listed.map((x) => Number(x.sequenceId));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), "sequenceIds descend");
  assert.equal(new Set(seqs).size, seqs.length, "sequenceIds are unique");
  assert.ok(listed.some((x) => x.type === "participantAdded"), "system message for the participants");

  const since = await all(bobTc.listMessages({ startTime: new Date(Date.now() + 60_000) }));
  assert.equal(since.length, 0, "startTime filters");

  await tc.updateMessage(sent.id, { content: "edited", metadata: { k: "v2" } });
  const edited = await bobTc.getMessage(sent.id);
  assert.equal(edited.content.message, "edited");
  assert.ok(edited.editedOn instanceof Date);
  assert.ok(Number(edited.version) > Number(sent.id), "version changes on edit");
  await rejects(bobTc.updateMessage(sent.id, { content: "not mine" }), 403);

  await tc.deleteMessage(sent.id);
  const deleted = await bobTc.getMessage(sent.id);
  assert.ok(deleted.deletedOn instanceof Date);
  await rejects(tc.getMessage("1"), 404);
});

test("participants: add with history, list with paging, remove loses access at once", async () => {
  const alice = await user();
  const bob = await user();
  const carol = await user();
  const { chatThread } = await alice.chat.createChatThread({ topic: "Participants" }, { participants: [{ id: bob.user, displayName: "Bob" }] });
  const tc = alice.chat.getChatThreadClient(chatThread.id);
  const early = await tc.sendMessage({ content: "before carol" });
  const cutoff = new Date(Date.now() + 5);
  await new Promise((r) => setTimeout(r, 10)); // distinct millisecond after the cut-off
  const later = await tc.sendMessage({ content: "after carol's history time" });
  const added = await tc.addParticipants({ participants: [{ id: carol.user, displayName: "Carol", shareHistoryTime: cutoff }] });
  assert.deepEqual(added.invalidParticipants ?? [], []);

  const carolTc = carol.chat.getChatThreadClient(chatThread.id);
  const seen = (await all(carolTc.listMessages())).map((m) => m.id);
  assert.ok(seen.includes(later.id), "carol sees messages after shareHistoryTime");
  assert.ok(!seen.includes(early.id), "carol does not see messages before shareHistoryTime");
  await rejects(carolTc.getMessage(early.id), 404);

  const ps = [];
  for await (const page of tc.listParticipants({ maxPageSize: 1 }).byPage()) ps.push(...page);
  assert.equal(ps.length, 3);
  assert.equal(new Set(ps.map((p) => p.id.communicationUserId)).size, 3, "pages do not repeat participants");
  assert.ok(ps.some((p) => p.id.communicationUserId === carol.user.communicationUserId && p.displayName === "Carol"));

  await tc.removeParticipant(carol.user);
  await rejects(carolTc.listMessages().next(), 403);
  await rejects(carolTc.sendMessage({ content: "still here?" }), 403);
  const left = await all(tc.listParticipants());
  assert.equal(left.length, 2);
  const sys = await all(tc.listMessages());
  assert.ok(sys.some((m) => m.type === "participantRemoved"), "participantRemoved system message");

  // Unknown and foreign identities come back as invalid participants.
  const res = await tc.addParticipants({ participants: [{ id: { communicationUserId: "8:acs:nobody_" + randomUUID() } }] });
  assert.equal(res.invalidParticipants?.length, 1);
});

test("read receipts and typing notifications", async () => {
  const alice = await user();
  const bob = await user();
  const { chatThread } = await alice.chat.createChatThread({ topic: "Receipts" }, { participants: [{ id: bob.user }] });
  const tc = alice.chat.getChatThreadClient(chatThread.id);
  const { id } = await tc.sendMessage({ content: "read me" });
  const bobTc = bob.chat.getChatThreadClient(chatThread.id);
  await bobTc.sendReadReceipt({ chatMessageId: id });
  const receipts = await all(tc.listReadReceipts());
  assert.equal(receipts.length, 1);
  assert.equal(receipts[0].chatMessageId, id);
  assert.equal(receipts[0].sender.communicationUserId, bob.user.communicationUserId);
  assert.ok(receipts[0].readOn instanceof Date);
  assert.equal(await bobTc.sendTypingNotification({ senderDisplayName: "Bob" }), true);
  await rejects(bobTc.sendReadReceipt({ chatMessageId: "12345" }), 404);
});

test("errors: non-participant 403, unknown thread 404, limits 400/413, scopes, other tenant", async () => {
  const alice = await user();
  const mallory = await user();
  const { chatThread } = await alice.chat.createChatThread({ topic: "Private" });
  await rejects(mallory.chat.getChatThreadClient(chatThread.id).getProperties(), 403);
  await rejects(mallory.chat.getChatThreadClient(chatThread.id).sendMessage({ content: "hi" }), 403);
  await rejects(alice.chat.getChatThreadClient("19:" + "0".repeat(32) + "@thread.v2").getProperties(), 404);
  await rejects(alice.chat.createChatThread({ topic: "" }), 400);
  const tc = alice.chat.getChatThreadClient(chatThread.id);
  await rejects(tc.sendMessage({ content: "x".repeat(28 * 1024 + 1) }), 413, "MessageTooLarge");
  const many = [];
  for (let i = 0; i < 251; i++) many.push({ id: { communicationUserId: "8:acs:x_" + i } });
  await rejects(alice.chat.createChatThread({ topic: "Too many" }, { participants: many }), 400, "TooManyParticipants");
  const before = await all(tc.listMessages());
  assert.equal(before.filter((m) => m.type === "text").length, 0, "nothing stored on failure");

  // chat.join may not create threads.
  const joiner = await user(["chat.join"]);
  await rejects(joiner.chat.createChatThread({ topic: "nope" }), 403);

  // Another tenant's user cannot see the thread: it does not exist there.
  const other = new CommunicationIdentityClient(env("OTHER_CONNECTION_STRING"));
  const { token } = await other.createUserAndToken(["chat"]);
  const outsider = new ChatClient(endpoint, new AzureCommunicationTokenCredential(token));
  await rejects(outsider.getChatThreadClient(chatThread.id).getProperties(), 404);
  const res = await outsider.createChatThread({ topic: "Cross" }, { participants: [{ id: alice.user }] });
  assert.equal(res.invalidParticipants?.length, 1, "another tenant's user is an invalid participant");
});
