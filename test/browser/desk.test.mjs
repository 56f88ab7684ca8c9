// The agent desktop (/desk) in headless Chromium against a live node with
// the demo tenant (docs/contactcenter.md): the demo bots answer web chat
// and hand customers who ask for a person to the support queue, which the
// demo agents serve. Customers are played over the API and, where the test
// needs their live view, with the browser client in a page of their own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHAT, SB, agentDesktop, rest, revokeTokens } from "./helpers.mjs";
import { CHECKING, HANDOFF, asksForPerson, available, customer, deskPage, explain, login, logout, offerCard, pane, paneLog, reply, shot, staff, toastClearsHeader, until } from "./desk-helpers.mjs";

test("an agent takes two customers from the bot, talks, switches, ends and wraps up", async () => {
  const supervisor = await staff("supervisor", "demo-supervisor-1");
  const { ctx, page } = await deskPage({ viewport: { width: 1280, height: 820 } });
  try {
    // A wrong password says so and keeps the form.
    await page.goto(`${SB}/desk`);
    await shot(page, "01-login");
    await page.getByLabel("Organisation").fill("demo");
    await page.getByLabel("Username").fill("agent1");
    await page.getByLabel("Password").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "The organisation, username or password is not right." }).waitFor();
    await login(page);
    await page.getByText("You are Offline").waitFor();
    await page.getByText("No offers.", { exact: false }).waitFor();
    await available(page);

    // Presence: break with a reason, then back to available.
    await page.locator("#presence").selectOption("break");
    await page.getByLabel("Break reason").selectOption("meeting");
    await page.getByText("You are on Break: Meeting").waitFor();
    await available(page);
    await page.getByText("You are Available").waitFor();
    await shot(page, "02-available");

    // A customer asks the bot for a person: the offer arrives with a
    // countdown, a beep and a notification.
    const budi = await customer("Budi Santoso", "budi@example.com");
    await asksForPerson(budi);
    const card = offerCard(page, "Budi Santoso");
    await card.waitFor({ timeout: 30000 });
    await card.getByText("budi@example.com").waitFor();
    await card.locator(".reason").filter({ hasText: HANDOFF }).waitFor();
    await card.getByText(/^Expires in 0:\d\d$/).waitFor();
    const first = await card.locator(".left").textContent();
    await page.waitForFunction((t) => document.querySelector("article.offer .left")?.textContent !== t, first);
    // The queue by its name (GET /agent/queues), not its id.
    assert.equal(await card.locator(".queue").textContent(), "Support");
    const alerts = await page.evaluate(() => window.__alerts);
    assert.ok(alerts.tones > 0, "a beep was played");
    assert.equal(alerts.notifications.length, 1, JSON.stringify(alerts.notifications));
    assert.equal(alerts.notifications[0].title, "New conversation waiting");
    await shot(page, "03-offer");

    // Accept: the history is there, oldest first, the bot's lines marked.
    await card.getByRole("button", { name: "Accept" }).click();
    await card.waitFor({ state: "detached" });
    const log = paneLog(page);
    await log.getByText("I want to talk to a person").waitFor();
    await log.locator(".msg.bot").first().waitFor();
    await log.getByText("You joined the conversation.").waitFor();
    const order = await log.locator(".msg").evaluateAll((ms) => ms.map((m) => m.className + "|" + (m.querySelector(".text")?.textContent || "")));
    const hello = order.findIndex((x) => x.includes("customer|Hello"));
    const ask = order.findIndex((x) => x.includes("I want to talk to a person"));
    assert.ok(hello >= 0 && ask > hello, `customer's messages oldest first: ${order.join(" / ")}`);
    assert.ok(order.slice(hello + 1).some((x) => x.includes(" bot|")), `bot answers after the customer's first message: ${order.join(" / ")}`);
    assert.ok(await log.locator(".msg.bot .bot-tag").first().isVisible(), "bot messages carry a Bot tag");
    const engagementId = await pane(page).getAttribute("data-engagement");
    assert.ok(engagementId);
    // The side panel: contact card, what the bot collected, the job.
    const info = page.locator("aside.info");
    await info.getByText("budi@example.com").first().waitFor();
    await info.getByRole("heading", { name: "Collected by the bot" }).waitFor();
    await info.getByRole("heading", { name: "Past conversations" }).waitFor();
    await info.getByText(HANDOFF).waitFor();
    assert.equal((await supervisor("GET", `/engagements/${engagementId}`)).state, "assigned");

    // The customer's live view, to see the agent type.
    const budiLive = await agentDesktop({ id: budi.identity.rawId, token: budi.token, displayName: "Budi Santoso" });

    // Reply: Shift+Enter is a new line, Enter sends; typing reaches the customer.
    const box = reply(page);
    await box.click();
    await box.pressSequentially("Hi Budi, I'm Alex.");
    await budiLive.waitFor("typingIndicatorReceived", { senderDisplayName: "Alex Agent" });
    await box.press("Shift+Enter");
    await box.pressSequentially("How can I help?");
    assert.equal(await box.inputValue(), "Hi Budi, I'm Alex.\nHow can I help?");
    await box.press("Enter");
    await log.locator(".msg.mine", { hasText: "How can I help?" }).waitFor();
    assert.equal(await box.inputValue(), "");
    await budiLive.waitFor("chatMessageReceived", { message: "Hi Budi, I'm Alex.\nHow can I help?" });
    const seenByBudi = (await budi.messages()).find((m) => m.content?.message === "Hi Budi, I'm Alex.\nHow can I help?");
    assert.ok(seenByBudi, "the customer reads the reply over the API");
    assert.equal(seenByBudi.senderDisplayName, "Alex Agent");

    // The customer types, writes, and reads: typing, live message, "Seen".
    await budi.typing();
    await pane(page).getByText("Budi Santoso is typing…").waitFor();
    await budi.say("My parcel has not arrived");
    await log.getByText("My parcel has not arrived").waitFor();
    assert.ok(await pane(page).getByText("Budi Santoso is typing…").isHidden(), "the message replaces the typing indicator");
    await budi.read(seenByBudi.id);
    await log.getByText("Seen", { exact: true }).waitFor();
    // The desk, in front, reads the customer's message.
    const parcel = (await budi.messages()).find((m) => m.content?.message === "My parcel has not arrived");
    await budiLive.waitFor("readReceiptReceived", { chatMessageId: parcel.id });

    // What customers write is text, or html through the allow-list.
    await budi.say("<img src=x onerror=\"window.__xss=1\">plain <b>text</b>");
    await log.getByText("<img src=x onerror=\"window.__xss=1\">plain <b>text</b>").waitFor();
    await rest(budi.token, "POST", `/chat/threads/${encodeURIComponent(budi.threadId)}/messages?${CHAT}`,
      { type: "html", content: "<p>Order <b>#42</b></p><img src=x onerror=\"window.__xss=2\"><script>window.__xss=3</script>", senderDisplayName: "Budi Santoso" });
    await log.locator(".msg.customer b", { hasText: "#42" }).waitFor();
    assert.equal(await log.locator(".msg img, .msg script").count(), 0, "no markup beyond the allow-list");
    assert.equal(await page.evaluate(() => window.__xss), undefined);

    // Canned responses (the tenant's, GET /desk/settings, in the desk's
    // language): "/" lists them, typing filters, Enter picks.
    await box.pressSequentially("/");
    const list = pane(page).getByRole("listbox", { name: "Canned responses" });
    await list.waitFor();
    assert.deepEqual(await list.getByRole("option").locator("kbd").allTextContents(), ["/hi", "/bye"]);
    await box.pressSequentially("else");
    await list.getByRole("option").filter({ hasText: CHECKING }).waitFor();
    assert.equal(await list.getByRole("option").count(), 1);
    await shot(page, "04-canned");
    await box.press("Enter");
    await list.waitFor({ state: "hidden" });
    assert.equal(await box.inputValue(), CHECKING);
    await box.press("Enter");
    await budiLive.waitFor("chatMessageReceived", { message: CHECKING });
    await shot(page, "05-conversation");

    // A reload brings the conversation back (GET /agent/engagements) with
    // its whole history, and the job's labels for this tab.
    await page.reload();
    await page.locator("h2", { hasText: "Budi Santoso" }).waitFor();
    await paneLog(page).getByText(CHECKING).waitFor();
    await paneLog(page).locator(".msg.bot").first().waitFor();
    await paneLog(page).getByText("Hi Budi, I'm Alex.").waitFor();
    await page.locator("aside.info").getByText("shop-bot").waitFor();
    assert.equal(await page.locator("#presence").inputValue(), "available");

    // A second customer while the first is open: accepted from the keyboard.
    const sari = await customer("Sari Dewi", "sari@example.com");
    await asksForPerson(sari);
    await offerCard(page, "Sari Dewi").waitFor({ timeout: 30000 });
    await reply(page).press("Escape"); // out of the reply box: single keys are shortcuts
    await page.keyboard.press("a");
    await page.locator("h2", { hasText: "Sari Dewi" }).waitFor();
    await offerCard(page, "Sari Dewi").waitFor({ state: "detached" });
    await paneLog(page).getByText("I want to talk to a person").waitFor();
    await page.locator(".convs-section h2").getByText("(2 of 5)").waitFor();

    // Budi writes while Sari's conversation is in front: his item counts it.
    await budi.say("Any news?");
    const budiItem = page.locator("button.conv", { hasText: "Budi Santoso" });
    await budiItem.locator(".badge", { hasText: "1" }).waitFor();
    await page.keyboard.press("Alt+ArrowUp");
    await page.locator("h2", { hasText: "Budi Santoso" }).waitFor();
    await paneLog(page).getByText("Any news?").waitFor();
    await budiItem.locator(".badge").waitFor({ state: "hidden" });
    await page.keyboard.press("Escape");
    await page.keyboard.press("j");
    await page.locator("h2", { hasText: "Sari Dewi" }).waitFor();

    // The help overlay lists the shortcuts.
    await page.keyboard.press("Escape");
    await page.keyboard.press("?");
    const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await help.waitFor();
    await help.getByText("Accept the newest offer").waitFor();
    await help.getByText("Decline the newest offer").waitFor();
    await shot(page, "06-help");
    await page.keyboard.press("Escape");
    await help.waitFor({ state: "hidden" });
    await page.keyboard.press("r");
    assert.ok(await reply(page).evaluate((e) => e === document.activeElement), "R goes to the reply box");
    await reply(page).press("Escape");

    // Sari: ended from the keyboard, wrapped up with a code of the agent's own.
    const sariId = await pane(page).getAttribute("data-engagement");
    await page.keyboard.press("e");
    await pane(page).getByRole("button", { name: "End conversation" }).click();
    const wrap = pane(page).getByRole("form", { name: "Wrap-up" });
    await wrap.waitFor();
    assert.equal((await supervisor("GET", `/engagements/${sariId}`)).state, "wrapUp");
    await wrap.getByRole("button", { name: "Finish wrap-up" }).click();
    await wrap.getByRole("alert").filter({ hasText: "Choose a disposition." }).waitFor();
    // The tenant's codes, labelled in the desk's language, and only those.
    const codes = await wrap.getByLabel("Disposition", { exact: true }).locator("option").allTextContents();
    assert.deepEqual(codes, ["Choose…", "Resolved", "Needs follow-up", "Customer did not respond", "Transferred"]);
    await wrap.getByLabel("Disposition", { exact: true }).selectOption("followUp");
    await wrap.getByLabel("Notes").fill("Asked about an invoice.");
    await wrap.getByRole("button", { name: "Finish wrap-up" }).click();
    await page.getByText("Conversation with Sari Dewi wrapped up.").waitFor();
    await page.locator("button.conv", { hasText: "Sari Dewi" }).waitFor({ state: "detached" });
    const sariEnded = await supervisor("GET", `/engagements/${sariId}`);
    assert.equal(sariEnded.state, "ended");
    assert.equal(sariEnded.dispositionCode, "followUp");
    assert.equal(sariEnded.wrapUpNotes, "Asked about an invoice.");

    // Budi: End, the wrap-up form, a disposition from the list.
    await page.locator("h2", { hasText: "Budi Santoso" }).waitFor();
    await pane(page).getByRole("button", { name: "End", exact: true }).click();
    await pane(page).getByRole("button", { name: "End conversation" }).click();
    await wrap.waitFor();
    assert.ok(await reply(page).count() === 0, "no reply box after the end");
    await wrap.getByLabel("Disposition", { exact: true }).selectOption("resolved");
    await wrap.getByLabel("Notes").fill("Parcel delayed; new date given.");
    await shot(page, "07-wrapup");
    await wrap.getByRole("button", { name: "Finish wrap-up" }).click();
    await page.getByText("Conversation with Budi Santoso wrapped up.").waitFor();
    await page.getByText("No conversations yet.").waitFor();
    const ended = await supervisor("GET", `/engagements/${engagementId}`);
    assert.equal(ended.state, "ended");
    assert.equal(ended.dispositionCode, "resolved");
    assert.equal(ended.wrapUpNotes, "Parcel delayed; new date given.");

    // Sign out: offline, and the login form again.
    await logout(page);
    await budiLive.ctx.close();
  } catch (err) {
    await explain(page, "conversation", err);
  } finally {
    await ctx.close();
  }
});

// A 1×1 PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

test("a returning customer: a revoked token renewed, attachments, notes and a whisper, a transcript after the end, the earlier conversation, transfer to a queue", async () => {
  const supervisor = await staff("supervisor", "demo-supervisor-1");
  const { ctx, page } = await deskPage({ viewport: { width: 1280, height: 820 } });
  try {
    await login(page);
    await available(page);
    const maya = await customer("Maya Sari", "maya@example.com");
    await asksForPerson(maya);
    await offerCard(page, "Maya Sari").getByRole("button", { name: "Accept" }).click();
    await paneLog(page).getByText("I want to talk to a person").waitFor();
    const firstId = await pane(page).getAttribute("data-engagement");
    await reply(page).fill("Your order ships today.");
    await reply(page).press("Enter");
    await paneLog(page).locator(".msg.mine", { hasText: "Your order ships today." }).waitFor();

    // The agent's chat token is revoked: the desk gets a new one from
    // POST /agent/session, reconnects and resumes, and misses nothing.
    let sessions = 0;
    page.on("request", (r) => r.method() === "POST" && r.url().includes("/agent/session?") && sessions++);
    const { agentIdentity } = await supervisor("GET", `/engagements/${firstId}`);
    assert.ok(agentIdentity);
    await revokeTokens(agentIdentity);
    await maya.say("Are you still there?");
    await paneLog(page).getByText("Are you still there?").waitFor();
    assert.ok(sessions >= 1, "a new token came from /agent/session");

    // Attachments both ways: the agent uploads a picture as the widget
    // does; the customer's picture shows in the desk.
    await pane(page).locator("input[type=file]").setInputFiles({ name: "label.png", mimeType: "image/png", buffer: PNG });
    const sent = paneLog(page).locator(".msg.mine img[alt='Image: label.png']");
    await sent.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll(".msg.mine img")].some((i) => i.complete && i.naturalWidth > 0));
    const withFile = (await maya.messages()).find((m) => m.content?.attachments?.some((a) => a.name === "label.png"));
    assert.ok(withFile, "the customer receives the agent's attachment");
    const up = await fetch(`${SB}/chat/threads/${encodeURIComponent(maya.threadId)}/attachments?api-version=2026-11-01&name=parcel.png`, {
      method: "POST", headers: { Authorization: `Bearer ${maya.token}`, "Content-Type": "image/png" }, body: PNG,
    });
    assert.equal(up.status, 201);
    const att = await up.json();
    await rest(maya.token, "POST", `/chat/threads/${encodeURIComponent(maya.threadId)}/messages?${CHAT}`, { content: "", type: "text", attachments: [{ id: att.id }], metadata: {} });
    await paneLog(page).locator(".msg.customer img[alt='Image: parcel.png']").waitFor();

    // A private note and a supervisor's whisper: staff only, the whisper live.
    const notes = page.locator("section.notes");
    await notes.getByText("No notes yet.").waitFor();
    await notes.getByLabel("Write a note…").fill("Asked twice about shipping");
    await notes.getByRole("button", { name: "Add note" }).click();
    await notes.locator(".note", { hasText: "Asked twice about shipping" }).waitFor();
    await supervisor("POST", `/engagements/${firstId}/notes`, { content: "Offer free shipping" });
    await notes.locator(".note.whisper", { hasText: "Offer free shipping" }).getByText("Whisper").waitFor();
    await page.getByText("Sam Supervisor whispers: Offer free shipping").waitFor();
    const said = (await maya.messages()).map((m) => m.content?.message || "");
    assert.ok(!said.some((m) => m.includes("Asked twice") || m.includes("free shipping")), "the customer never sees notes");
    await shot(page, "08-notes");

    // Ended, then reloaded during wrap-up: the agent has left the thread,
    // and the transcript still shows the conversation; the notes stay.
    await pane(page).getByRole("button", { name: "End", exact: true }).click();
    await pane(page).getByRole("button", { name: "End conversation" }).click();
    await pane(page).getByRole("form", { name: "Wrap-up" }).waitFor();
    await page.reload();
    await page.locator("h2", { hasText: "Maya Sari" }).waitFor();
    await paneLog(page).getByText("Your order ships today.").waitFor();
    await paneLog(page).locator(".msg.bot").first().waitFor();
    await notes.locator(".note.whisper", { hasText: "Offer free shipping" }).waitFor();
    const wrap = pane(page).getByRole("form", { name: "Wrap-up" });
    await wrap.getByLabel("Disposition", { exact: true }).selectOption("resolved");
    await wrap.getByRole("button", { name: "Finish wrap-up" }).click();
    await page.getByText("Conversation with Maya Sari wrapped up.").waitFor();
    assert.equal((await supervisor("GET", `/engagements/${firstId}`)).state, "ended");

    // She comes back in the same chat: the bot greets again, she asks for
    // a person; the agent sees the whole thread and the earlier conversation.
    await maya.say("Hi again, it has not shipped");
    await maya.say("I want to talk to a person");
    const again = offerCard(page, "Maya Sari");
    await again.waitFor({ timeout: 30000 });
    await again.getByRole("button", { name: "Accept" }).click();
    await paneLog(page).getByText("Hi again, it has not shipped").waitFor();
    await paneLog(page).getByText("Your order ships today.").waitFor();
    const secondId = await pane(page).getAttribute("data-engagement");
    assert.notEqual(secondId, firstId);
    const past = page.locator("section.past");
    await past.locator(`li[data-engagement="${firstId}"]`).filter({ hasText: "Resolved · with Alex Agent" }).waitFor();
    assert.equal(await notes.locator(".note").count(), 0, "notes belong to their own conversation");

    // Transfer to a queue, picked by name: the conversation leaves this
    // desk and waits again.
    await pane(page).getByRole("button", { name: "Transfer" }).click();
    const form = pane(page).getByRole("form", { name: "Transfer" });
    await form.getByRole("button", { name: "Transfer" }).click();
    await form.getByText("Choose a queue or a colleague.").waitFor();
    await form.getByLabel("To a queue").selectOption({ label: "Support" });
    await shot(page, "09-transfer");
    await form.getByRole("button", { name: "Transfer" }).click();
    await page.getByText("Conversation with Maya Sari transferred to Support.").waitFor();
    await page.locator("button.conv", { hasText: "Maya Sari" }).waitFor({ state: "detached" });
    const moved = await supervisor("GET", `/engagements/${secondId}`);
    assert.equal(moved.state, "queued");
    assert.equal(moved.handoffReason, "transfer");
    // The queue offers it again (here to the same agent, the only one
    // available), marked as transferred; declined, it waits for another.
    const back = offerCard(page, "Maya Sari");
    await back.getByText("Transferred").waitFor({ timeout: 30000 });
    await back.getByRole("button", { name: "Decline" }).click();
    await back.waitFor({ state: "detached" });
    await logout(page);
  } catch (err) {
    await explain(page, "returning", err);
  } finally {
    await ctx.close();
  }
});

test("declining an offer removes its card, by button or by key; a lost login session asks to sign in again", async () => {
  const { ctx, page } = await deskPage({ viewport: { width: 1280, height: 820 } });
  try {
    await login(page);
    await available(page);
    const dewi = await customer("Dewi Lestari", "dewi@example.com");
    await asksForPerson(dewi);
    const card = offerCard(page, "Dewi Lestari");
    await card.waitFor({ timeout: 30000 });
    const offerId = await card.getAttribute("data-offer");
    // The offers held come back with the page (GET /agent/offers).
    await page.reload();
    await card.getByText(/^Expires in 0:\d\d$/).waitFor();
    await card.getByRole("button", { name: "Decline" }).click();
    await card.waitFor({ state: "detached" });
    const held = await page.evaluate(() => fetch("/agent/offers?api-version=2026-11-01").then((r) => r.json()));
    assert.ok(!held.value.some((o) => o.offerId === offerId), "the declined offer is gone on the server");

    const eko = await customer("Eko Prasetyo", "eko@example.com");
    await asksForPerson(eko);
    await offerCard(page, "Eko Prasetyo").waitFor({ timeout: 30000 });
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await page.keyboard.press("d");
    await offerCard(page, "Eko Prasetyo").waitFor({ state: "detached" });
    assert.equal(await page.locator("article.offer").count(), 0);

    // A login session that ends (here: the cookie is gone) brings the
    // login form back, saying why.
    await ctx.clearCookies();
    await page.locator("#presence").selectOption("away");
    await page.getByRole("alert").filter({ hasText: "Your session ended. Sign in again." }).waitFor();
    await login(page);
    await logout(page);
  } catch (err) {
    await explain(page, "decline", err);
  } finally {
    await ctx.close();
  }
});

test("an agent hands a conversation to a colleague picked by name and presence; the colleague is offered it as a transfer and takes it", async () => {
  const supervisor = await staff("supervisor", "demo-supervisor-1");
  // The colleague, Budi Agent, works through the API.
  const agent2 = await staff("agent2", "demo-agent-2");
  const { ctx, page } = await deskPage({ viewport: { width: 1280, height: 820 } });
  let agent2Id = "";
  try {
    await login(page);
    await available(page);
    const rina = await customer("Rina Wulandari", "rina@example.com");
    await asksForPerson(rina);
    const card = offerCard(page, "Rina Wulandari");
    await card.waitFor({ timeout: 30000 });
    assert.equal(await card.locator(".queue").textContent(), "Support");
    await card.getByRole("button", { name: "Accept" }).click();
    await paneLog(page).getByText("I want to talk to a person").waitFor();
    const id = await pane(page).getAttribute("data-engagement");
    const me = (await supervisor("GET", `/engagements/${id}`)).agentId;
    assert.ok(me);
    assert.equal(await pane(page).locator(".chat-head .queue").textContent(), "Support");

    // Only now is the colleague available (the offer above was this agent's).
    agent2Id = (await agent2("POST", "/agent/session")).workerId;
    assert.ok(agent2Id && agent2Id !== me);
    await agent2("PUT", "/agent/presence", { status: "available" });

    // The form: the tenant's queues by name; the colleagues, not the
    // agent, with their presence, available ones first.
    await pane(page).getByRole("button", { name: "Transfer" }).click();
    const form = pane(page).getByRole("form", { name: "Transfer" });
    const queues = form.getByLabel("To a queue");
    const colleagues = form.getByLabel("Or to a colleague");
    await colleagues.locator("option", { hasText: "Budi Agent" }).waitFor({ state: "attached" });
    assert.deepEqual(await queues.locator("option").allTextContents(), ["Choose a queue…", "Support"]);
    assert.deepEqual(await colleagues.locator("option").allTextContents(),
      ["Choose a colleague…", "Budi Agent (Available)", "Ayu Admin (Offline)", "Sam Supervisor (Offline)"]);
    // One target: a colleague who is not available is named as such, and
    // a queue and a colleague clear each other.
    await colleagues.selectOption({ label: "Ayu Admin (Offline)" });
    await form.getByText("Ayu Admin is not available (Offline): the customer waits until they are.").waitFor();
    await queues.selectOption({ label: "Support" });
    assert.equal(await colleagues.inputValue(), "");
    await form.getByText("Ayu Admin is not available", { exact: false }).waitFor({ state: "detached" });
    await colleagues.selectOption({ label: "Budi Agent (Available)" });
    assert.equal(await queues.inputValue(), "");
    assert.equal(await colleagues.inputValue(), agent2Id);
    await shot(page, "09-transfer-colleague");
    await form.getByRole("button", { name: "Transfer" }).click();
    await page.getByText("Conversation with Rina Wulandari handed to Budi Agent.").waitFor();
    await page.locator("button.conv", { hasText: "Rina Wulandari" }).waitFor({ state: "detached" });

    // The colleague is offered it (GET /agent/offers), marked as a
    // transfer from this agent, and accepts.
    const offer = await until(async () => (await agent2("GET", "/agent/offers")).value.find((o) => o.engagementId === id), "the colleague's offer");
    assert.equal(offer.labels.handoffReason, "transfer");
    assert.equal(offer.labels.transferredFrom, me);
    assert.equal(offer.queueId, "support");
    const taken = await agent2("POST", `/agent/offers/${encodeURIComponent(offer.offerId)}:accept`);
    assert.equal(taken.state, "assigned");
    assert.equal(taken.agentId, agent2Id);
    const held = await supervisor("GET", `/engagements/${id}`);
    assert.equal(held.agentId, agent2Id);
    assert.equal(held.handoffReason, "transfer");
    // It is gone from this desk, also after a reload, and never offered back.
    await page.reload();
    await page.locator(".app:not([aria-busy])").waitFor();
    await page.getByText("No conversations yet.").waitFor();
    assert.equal(await offerCard(page, "Rina Wulandari").count(), 0);
    await agent2("POST", `/engagements/${id}:wrapUp`, { dispositionCode: "resolved", notes: "" });
    await logout(page);
  } catch (err) {
    await explain(page, "transfer-colleague", err);
  } finally {
    // The colleague stops working: what waits in the queue (the customers
    // declined above) is offered to nobody but the next tests' agent.
    if (agent2Id) {
      await agent2("PUT", "/agent/presence", { status: "offline" }).catch(() => {});
      for (const o of (await agent2("GET", "/agent/offers").catch(() => ({}))).value || []) {
        await agent2("POST", `/agent/offers/${encodeURIComponent(o.offerId)}:decline`).catch(() => {});
      }
    }
    await ctx.close();
  }
});

test("a whisper's notice never blocks End or Transfer; the customer ends the chat: the desk says so, goes to wrap-up and writes nothing more to the thread", async () => {
  const supervisor = await staff("supervisor", "demo-supervisor-1");
  const { ctx, page } = await deskPage({ viewport: { width: 1280, height: 820 } });
  try {
    await login(page);
    await available(page);
    const lina = await customer("Lina Marlina", "lina@example.com");
    await asksForPerson(lina);
    const card = offerCard(page, "Lina Marlina");
    await card.waitFor({ timeout: 30000 });
    await card.getByRole("button", { name: "Accept" }).click();
    await paneLog(page).getByText("I want to talk to a person").waitFor();
    const id = await pane(page).getAttribute("data-engagement");
    await reply(page).fill("Hi Lina, one moment please.");
    await reply(page).press("Enter");
    await paneLog(page).locator(".msg.mine", { hasText: "Hi Lina, one moment please." }).waitFor();

    // A whisper arrives; the header's buttons are clicked at once, while
    // its notice is up (each click would otherwise wait it out, 6 s).
    await supervisor("POST", `/engagements/${id}/notes`, { content: "Ask for the order number" });
    const whisper = page.getByRole("status").filter({ hasText: "Sam Supervisor whispers: Ask for the order number" });
    await whisper.waitFor();
    await toastClearsHeader(page);
    const now = { timeout: 3000 };
    await pane(page).getByRole("button", { name: "End", exact: true }).click(now);
    await pane(page).getByRole("button", { name: "Keep talking" }).click(now);
    await pane(page).getByRole("button", { name: "Transfer" }).click(now);
    await pane(page).getByRole("form", { name: "Transfer" }).getByRole("button", { name: "Cancel" }).click(now);
    assert.ok(await whisper.isVisible(), "the notice was still up: the clicks did not wait for it");
    await shot(page, "17-whisper-notice");

    // The customer ends the chat (the widget's End chat). From here on
    // the desk writes nothing to the customer's thread.
    const writes = [];
    page.on("request", (r) => r.method() !== "GET" && r.url().includes(`/chat/threads/${encodeURIComponent(lina.threadId)}`) && writes.push(`${r.method()} ${r.url()}`));
    const left = await lina.leave(id);
    assert.deepEqual([left.state, left.rate], ["wrapUp", true]);
    await paneLog(page).locator(".sys", { hasText: /^The customer ended the chat\.$/ }).waitFor();
    const wrap = pane(page).getByRole("form", { name: "Wrap-up" });
    await wrap.waitFor();
    const disposition = wrap.getByLabel("Disposition", { exact: true });
    assert.ok(await disposition.evaluate((el) => el === document.activeElement), "straight to the wrap-up form");
    assert.equal(await reply(page).count(), 0, "no reply box");
    for (const name of ["End", "Transfer"]) assert.equal(await pane(page).getByRole("button", { name, exact: true }).count(), 0, `no ${name}`);
    const item = page.locator("button.conv", { hasText: "Lina Marlina" });
    await item.getByText("Wrap-up", { exact: true }).waitFor();
    await item.locator(".preview", { hasText: "The customer ended the chat." }).waitFor();
    await shot(page, "18-customer-left");
    // The shortcuts: E ends nothing now, R goes to the wrap-up form.
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await page.keyboard.press("e");
    assert.equal(await pane(page).getByRole("group", { name: "End this conversation?" }).count(), 0);
    await page.keyboard.press("r");
    assert.ok(await disposition.evaluate((el) => el === document.activeElement), "R: the wrap-up form");

    await disposition.selectOption("resolved");
    await wrap.getByLabel("Notes").fill("The customer left before the answer.");
    await wrap.getByRole("button", { name: "Finish wrap-up" }).click();
    await page.getByText("Conversation with Lina Marlina wrapped up.").waitFor();
    await item.waitFor({ state: "detached" });
    const ended = await supervisor("GET", `/engagements/${id}`);
    assert.deepEqual([ended.state, ended.dispositionCode, ended.wrapUpNotes], ["ended", "resolved", "The customer left before the answer."]);
    assert.deepEqual(writes, [], "the desk wrote to the thread after the customer left");
    await logout(page);
  } catch (err) {
    await explain(page, "customer-left", err);
  } finally {
    await ctx.close();
  }
});
