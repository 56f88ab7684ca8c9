// The agent desktop (/desk) on a phone-sized screen, in Indonesian, and
// with offers that end before the agent answers, in headless Chromium
// against a live node with the demo tenant.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SB } from "./helpers.mjs";
import { asksForPerson, available, customer, deskPage, explain, login, logout, offerCard, pane, paneLog, reply, shot, staff, toastClearsHeader } from "./desk-helpers.mjs";

test("a phone-sized screen shows one pane at a time, with a way back", async () => {
  const { ctx, page } = await deskPage({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
  try {
    await login(page);
    await shot(page, "10-phone-login-done");
    await available(page);
    const rudi = await customer("Rudi Hartono", "rudi@example.com");
    await asksForPerson(rudi);
    const card = offerCard(page, "Rudi Hartono");
    await card.waitFor({ timeout: 30000 });
    assert.ok(await page.locator(".chat").isHidden(), "the list alone");
    await shot(page, "11-phone-offer");
    await card.getByRole("button", { name: "Accept" }).click();
    await paneLog(page).getByText("I want to talk to a person").waitFor();
    assert.ok(await page.locator(".side").isHidden(), "the conversation alone");
    assert.ok(await page.locator("aside.info").isHidden());
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling (${width}px)`);
    await shot(page, "12-phone-conversation");
    await pane(page).getByRole("button", { name: "Details" }).click();
    await page.locator("aside.info").getByText("rudi@example.com").first().waitFor();
    assert.ok(await pane(page).isHidden(), "the details alone");
    await shot(page, "13-phone-details");
    await page.getByRole("button", { name: "Back to the conversation" }).click();
    await paneLog(page).waitFor();
    await pane(page).getByRole("button", { name: "Back to the list" }).click();
    await page.locator(".side").waitFor();
    assert.ok(await page.locator(".chat").isHidden());
    await page.locator("button.conv", { hasText: "Rudi Hartono" }).click();
    await reply(page).fill("Hello Rudi");
    await reply(page).press("Enter");
    await paneLog(page).locator(".msg.mine", { hasText: "Hello Rudi" }).waitFor();
    const engagementId = await pane(page).getAttribute("data-engagement");
    // A tenant without disposition codes takes any: the agent types one.
    const admin = await staff("admin", "demo-admin-1");
    const settings = await admin("GET", "/desk/settings");
    await admin("PUT", "/desk/settings", { ...settings, dispositionCodes: [] });
    try {
      // After a reload a phone shows the list first.
      await page.reload();
      await page.locator("button.conv", { hasText: "Rudi Hartono" }).click();
      await paneLog(page).getByText("Hello Rudi").waitFor();
      // A whisper's notice keeps off the conversation's header on a phone
      // too: End is clicked while it is up.
      const supervisor = await staff("supervisor", "demo-supervisor-1");
      await supervisor("POST", `/engagements/${engagementId}/notes`, { content: "Offer the next delivery slot" });
      const whisper = page.getByRole("status").filter({ hasText: "Sam Supervisor whispers: Offer the next delivery slot" });
      await whisper.waitFor();
      await toastClearsHeader(page);
      await shot(page, "14-phone-whisper");
      await pane(page).getByRole("button", { name: "End", exact: true }).click({ timeout: 3000 });
      await pane(page).getByRole("button", { name: "End conversation" }).click({ timeout: 3000 });
      assert.ok(await whisper.isVisible(), "the notice was still up: the clicks did not wait for it");
      const wrap = pane(page).getByRole("form", { name: "Wrap-up" });
      await wrap.getByLabel("Disposition", { exact: true }).selectOption("__other");
      await wrap.getByLabel("Disposition code").fill("billing-question");
      await shot(page, "14-phone-wrapup");
      await wrap.getByRole("button", { name: "Finish wrap-up" }).click();
    } finally {
      await admin("PUT", "/desk/settings", settings);
    }
    assert.equal((await admin("GET", `/engagements/${engagementId}`)).dispositionCode, "billing-question");
    await page.locator(".side").waitFor();
    await page.getByText("No conversations yet.").waitFor();
    await logout(page);
  } catch (err) {
    await explain(page, "phone", err);
  } finally {
    await ctx.close();
  }
});

test("Indonesian from the browser language, English by the switch", async () => {
  const { ctx, page } = await deskPage({ locale: "id-ID", viewport: { width: 1280, height: 820 } });
  try {
    await page.goto(`${SB}/desk`);
    await page.getByRole("heading", { name: "Masuk ke meja agen" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "id");
    await shot(page, "15-id-login");
    await login(page, "agent2", "demo-agent-2", { org: "Organisasi", user: "Nama pengguna", pass: "Kata sandi", go: "Masuk" });
    await page.getByRole("heading", { name: "Tawaran" }).waitFor();
    await page.getByRole("heading", { name: /Percakapan/ }).waitFor();
    await page.getByText("Anda Luring").waitFor();
    assert.deepEqual(await page.locator("#presence option").allTextContents(), ["Tersedia", "Tidak di tempat", "Istirahat", "Luring"]);
    await page.locator("#presence").selectOption("break");
    assert.deepEqual(await page.locator("#break-reason option").allTextContents(), ["Makan siang", "Rapat", "Pelatihan", "Lainnya"]);
    await page.getByText("Anda sedang Istirahat: Makan siang").waitFor();
    await page.getByRole("button", { name: "Pintasan papan ketik" }).click();
    await page.getByRole("dialog", { name: "Pintasan papan ketik" }).getByText("Terima tawaran terbaru").waitFor();
    await shot(page, "16-id-desk");
    await page.keyboard.press("Escape");
    // The switch: English, and it stays (the session too).
    await page.getByLabel("Bahasa", { exact: true }).first().selectOption("en");
    await page.getByRole("heading", { name: "Offers" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    await page.locator("#presence").selectOption("offline");
    await page.getByText("You are Offline").waitFor();
    await logout(page);
  } catch (err) {
    await explain(page, "indonesian", err);
  } finally {
    await ctx.close();
  }
});

test("an offer that expires, is withdrawn or was taken leaves its card, with a word", async () => {
  const { ctx, page } = await deskPage({ viewport: { width: 1280, height: 820 } });
  try {
    // The server's frames pass through; the test adds its own, as the
    // server would send them for offers it ended.
    const sockets = [];
    await page.routeWebSocket(/\/realtime$/, (ws) => {
      ws.connectToServer();
      sockets.push(ws);
    });
    await login(page);
    const offer = (id, seconds, labels) => {
      const now = Date.now();
      return { offerId: id, jobId: `job-${id}`, engagementId: `eng-${id}`, queueId: "support", channel: "webchat", priority: 1,
        offeredOn: new Date(now).toISOString(), expiresOn: new Date(now + seconds * 1000).toISOString(), labels };
    };
    const play = (name, data) => sockets[sockets.length - 1].send(JSON.stringify({ type: "event", name, data }));

    play("agentOfferIssued", offer("fake-1", 8, { name: "Wayan Putra", handoffReason: "noBot" }));
    const card = offerCard(page, "Wayan Putra");
    await card.getByText("No bot on this channel").waitFor();
    await card.getByText(/^Expires in 0:0[0-8]$/).waitFor();
    assert.match(await card.getAttribute("class"), /urgent/, "under ten seconds left is urgent");
    assert.equal((await page.evaluate(() => window.__alerts.notifications)).length, 1);
    play("agentOfferEnded", { ...offer("fake-1", 8, {}), reason: "Expired" });
    await card.waitFor({ state: "detached" });
    await page.getByText("An offer expired.").waitFor();

    play("agentOfferIssued", offer("fake-2", 30, { name: "Nyoman Ayu" }));
    await offerCard(page, "Nyoman Ayu").waitFor();
    play("agentOfferEnded", { ...offer("fake-2", 30, {}), reason: "Revoked" });
    await offerCard(page, "Nyoman Ayu").waitFor({ state: "detached" });
    await page.getByText("An offer was withdrawn.").waitFor();

    // Accepting an offer the server no longer has: the card goes.
    play("agentOfferIssued", offer("fake-3", 30, { name: "Ketut Sari" }));
    await offerCard(page, "Ketut Sari").getByRole("button", { name: "Accept" }).click();
    await offerCard(page, "Ketut Sari").waitFor({ state: "detached" });
    await page.getByText("That offer is no longer available.").waitFor();
    assert.equal(await page.locator("button.conv").count(), 0);
    await logout(page);
  } catch (err) {
    await explain(page, "ended-offers", err);
  } finally {
    await ctx.close();
  }
});
