// The first contact, end to end (e2e_test.go starts the node with the demo
// contact center and a business's site on another origin): an Indonesian
// visitor on the site talks to the flow bot in the widget, asks it
// something it answers, asks for a person, gives an e-mail (a wrong one
// first) and waits in line; agent1 takes the conversation at /desk and
// they talk; the supervisor watches it live at /console and whispers to
// the agent; the agent ends and wraps up; the customer rates.
//
// Three browser contexts: the visitor (id-ID), the agent and the
// supervisor. The agent and the supervisor cannot share one: both pages
// sign in on the node's origin with the same session cookie, so the
// second sign-in would end the first one's session.
//
// Every step waits on what a page shows; nothing sleeps. Each screen is
// saved in E2E_ARTIFACTS, numbered in the order of the story.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { CHAT, HOST, SB, log, newPage, rest } from "./helpers.mjs";
import { queueLine, socketReady, tapRealtime } from "./center.mjs";
import { available, deskPage, login, offerCard, pane, paneLog, reply, staff } from "./desk-helpers.mjs";

const ARTIFACTS = process.env.E2E_ARTIFACTS || "";
let shots = 0;
const shot = (page, name) =>
  // Animations finished: an offer card fading in is shown as it ends up.
  ARTIFACTS ? page.screenshot({ path: join(ARTIFACTS, `${String(++shots).padStart(2, "0")}-${name}.png`), animations: "disabled" }) : undefined;

const started = Date.now();
const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

// What the visitor types, and what the Indonesian demo flow
// (internal/bot/flow/demo/id.yaml) answers.
const VISITOR = "Budi Santoso";
const GOOD_EMAIL = "budi.santoso@contoh.co.id";
const BAD_EMAIL = "budi.santoso@contoh";
const BOT = {
  greet: `Halo ${VISITOR}! Saya asisten virtual Toko Sudut.`,
  help: "Silakan tanya soal jam buka, pengiriman, atau retur. Tim kami juga sedang online, ketik saja \"agen\".",
  delivery: [
    "Pesanan yang masuk sebelum pukul 14.00 WIB kami kirim di hari yang sama. Pengiriman dalam kota biasanya 1 sampai 2 hari kerja, ke luar kota 3 sampai 5 hari kerja.",
    "Gratis ongkir untuk belanja di atas Rp200.000. Nomor resi kami kirim lewat e-mail begitu paket berangkat.",
  ],
  person: "Baik, saya hubungkan dengan tim kami ya.",
  askEmail: "Boleh minta alamat e-mail Kakak? Supaya tim kami bisa menghubungi kalau obrolannya terputus.",
  retryEmail: "Sepertinya alamat e-mailnya kurang tepat (contoh budi@contoh.com). Boleh dicek lagi?",
  toTeam: "Terima kasih! Mohon tunggu sebentar, tim support kami akan segera membalas.",
};
const ASK_DELIVERY = "Berapa lama pengiriman ke Bandung?";
const ASK_PERSON = "Saya mau bicara dengan agen";
const AGENT_HELLO = "Halo Kak Budi, saya Alex dari tim support. Ada yang bisa saya bantu?";
const VISITOR_PROBLEM = "Paket saya belum sampai, nomor pesanan TS-10482";
const VISITOR_AGAIN = "Sudah seminggu, tolong dicek ya";
const WHISPER = "Tawarkan voucher ongkir 10% untuk keterlambatan ini";
const AGENT_ANSWER = "Maaf atas keterlambatannya. Paketnya sampai besok, dan Kakak dapat voucher ongkir 10%.";
const COMMENT = "Cepat dan ramah, terima kasih Alex!";
const WRAP_NOTES = "Paket terlambat; voucher ongkir diberikan.";

const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

/** The widget's message bubble with exactly this text (bot, agent or visitor). */
const bubble = (page, text, mine = false) => log(page).locator(mine ? ".msg.mine" : ".msg:not(.mine)").filter({ has: page.locator(".text", { hasText: exactly(text) }) });

/** The visitor writes in the widget (Indonesian labels) and sees it sent. */
async function visitorSays(page, text) {
  const box = page.getByLabel("Pesan", { exact: true });
  await box.fill(text);
  await box.press("Enter");
  await bubble(page, text, true).waitFor();
}

/** What each page shows, for the log, when the story breaks. */
async function explain(pages, err) {
  for (const [name, page] of Object.entries(pages)) {
    if (!page) continue;
    await page.screenshot({ path: join(ARTIFACTS || ".", `failed-${name}.png`) }).catch(() => {});
    const text = await page.evaluate(() => {
      const root = document.getElementById("switchboard-webchat")?.shadowRoot;
      const panel = root && root.querySelector("#sb-panel");
      return (panel ? `[widget]\n${panel.innerText}\n[page]\n` : "") + document.body.innerText;
    }).catch(() => "");
    console.log(`--- ${name}: the page when it failed ---\n${text}\n---`);
  }
  throw err;
}

// The whole story has a minute (it takes about 20 s; the runner allows 90).
test("first contact: the Indonesian bot, the queue, the agent, the supervisor's whisper, wrap-up and rating", { timeout: 60000 }, async () => {
  const supervisorApi = await staff("supervisor", "demo-supervisor-1");
  const visitor = await newPage({ locale: "id-ID", viewport: { width: 1100, height: 760 } });
  const agent = await deskPage({ locale: "en-US", viewport: { width: 1280, height: 820 } });
  const sup = await newPage({ locale: "en-US", viewport: { width: 1400, height: 900 } });
  const w = visitor.page;
  const desk = agent.page;
  const con = sup.page;
  try {
    // ---- The visitor and the bot ----
    step("visitor opens the widget on the business's page");
    // The widget's socket is tapped to learn the engagement's id from the
    // queue notification (the frames pass on unchanged).
    const tap = await tapRealtime(w);
    await w.goto(HOST + "/"); // the page names no language: the browser's (id-ID) is used
    await w.getByRole("button", { name: "Buka obrolan" }).click();
    await w.getByText("Hai! Ada yang bisa kami bantu?").first().waitFor();
    await w.getByLabel("Nama Anda").fill(VISITOR);
    // The e-mail is optional here and left empty: the bot asks for it.
    await shot(w, "widget-prechat");
    await w.getByRole("button", { name: "Mulai obrolan" }).click();
    await socketReady(w);

    step("the Indonesian bot greets");
    await bubble(w, BOT.greet).waitFor();
    await bubble(w, BOT.help).waitFor();
    assert.equal(await bubble(w, BOT.greet).locator(".who").textContent(), "Sari (bot)");
    await shot(w, "widget-bot-greets");

    step("a question the bot answers");
    await visitorSays(w, ASK_DELIVERY);
    for (const line of BOT.delivery) await bubble(w, line).waitFor();
    await shot(w, "widget-bot-answers");

    step("asking for a person: the bot asks for the e-mail; a wrong one is asked again");
    await visitorSays(w, ASK_PERSON);
    await bubble(w, BOT.person).waitFor();
    await bubble(w, BOT.askEmail).waitFor();
    await visitorSays(w, BAD_EMAIL);
    await bubble(w, BOT.retryEmail).waitFor();
    await shot(w, "widget-email-retry");
    await visitorSays(w, GOOD_EMAIL);
    await bubble(w, BOT.toTeam).waitFor();
    const queued = await tap.next("engagementQueuePosition");
    assert.equal(queued.state, "queued");
    assert.equal(queued.position, 1);
    const engagementId = queued.engagementId;
    assert.ok(engagementId);

    step("the visitor waits in line");
    await queueLine(w).filter({ hasText: /^Menunggu agen — Anda nomor 1 dalam antrean(, .+)?$/ }).waitFor();
    assert.equal(await bubble(w, BOT.askEmail).count(), 1, "the e-mail question is asked once, then the retry");
    await shot(w, "widget-queue-position");

    // ---- The supervisor sees it waiting ----
    step("supervisor signs in at /console: the customer waits on the wallboard and in the live list");
    await con.goto(`${SB}/console`);
    await con.getByLabel("Organisation").fill("demo");
    await con.getByLabel("Username").fill("supervisor");
    await con.getByLabel("Password").fill("demo-supervisor-1");
    await con.getByRole("button", { name: "Sign in" }).click();
    await con.getByRole("heading", { name: "Supervisor console" }).waitFor();
    const row = con.locator(`tr[data-engagement="${engagementId}"]`);
    await row.and(con.locator('[data-state="queued"]')).waitFor();
    await row.locator("td.customer", { hasText: exactly(VISITOR) }).waitFor();
    await row.getByText("Waiting", { exact: true }).waitFor();
    await con.locator('[data-queue="support"] [data-stat="waiting"] dd', { hasText: exactly("1") }).waitFor();
    await shot(con, "console-waiting");

    // ---- The agent takes it ----
    step("agent1 signs in at /desk and goes available: the offer shows the e-mail");
    await login(desk);
    await available(desk);
    const card = offerCard(desk, VISITOR);
    await card.waitFor();
    await card.locator(".email", { hasText: exactly(GOOD_EMAIL) }).waitFor();
    await card.locator(".reason", { hasText: "Asked for a person" }).waitFor();
    await shot(desk, "desk-offer");

    step("agent accepts: the bot's transcript and the collected e-mail");
    await card.getByRole("button", { name: "Accept" }).click();
    await card.waitFor({ state: "detached" });
    assert.equal(await pane(desk).getAttribute("data-engagement"), engagementId);
    const deskLog = paneLog(desk);
    for (const text of [BOT.greet, ...BOT.delivery, BOT.askEmail, BOT.retryEmail, BOT.toTeam]) {
      await deskLog.locator(".msg.bot", { hasText: text }).waitFor();
    }
    for (const text of [ASK_DELIVERY, ASK_PERSON, BAD_EMAIL, GOOD_EMAIL]) {
      await deskLog.locator(".msg.customer .text", { hasText: exactly(text) }).waitFor();
    }
    const order = await deskLog.locator(".msg .text").allTextContents();
    const at = (text) => order.findIndex((x) => x === text);
    assert.ok(at(BOT.greet) < at(ASK_DELIVERY) && at(ASK_DELIVERY) < at(ASK_PERSON) && at(ASK_PERSON) < at(GOOD_EMAIL) && at(GOOD_EMAIL) < at(BOT.toTeam),
      `the transcript in order: ${order.join(" / ")}`);
    const info = desk.locator("aside.info");
    const collected = info.locator("section.fields");
    await collected.getByRole("heading", { name: "Collected by the bot" }).waitFor();
    await collected.getByText(GOOD_EMAIL, { exact: true }).waitFor();
    assert.equal(await collected.getByText(BAD_EMAIL, { exact: true }).count(), 0, "the refused answer is not collected");
    await info.getByText("Asked for a person").waitFor();
    await shot(desk, "desk-conversation");
    // The widget: the agent joined, the line is gone.
    await log(w).getByText("Alex Agent bergabung dalam obrolan.").waitFor();
    await w.locator(".queue:empty").waitFor({ state: "attached" });

    step("they talk: the agent's message in the widget, the visitor's live on the desk");
    await reply(desk).fill(AGENT_HELLO);
    await reply(desk).press("Enter");
    await deskLog.locator(".msg.mine", { hasText: AGENT_HELLO }).waitFor();
    await bubble(w, AGENT_HELLO).waitFor();
    assert.equal(await bubble(w, AGENT_HELLO).locator(".who").textContent(), "Alex Agent");
    await shot(w, "widget-agent-writes");
    await visitorSays(w, VISITOR_PROBLEM);
    await deskLog.locator(".msg.customer .text", { hasText: exactly(VISITOR_PROBLEM) }).waitFor();
    await shot(desk, "desk-visitor-writes");

    // ---- The supervisor watches and whispers ----
    step("supervisor: the conversation is with Alex Agent; monitoring shows a new message live");
    await row.and(con.locator('[data-state="assigned"]')).waitFor();
    await row.locator("td.agent", { hasText: exactly("Alex Agent") }).waitFor();
    await con.locator('[data-queue="support"] [data-stat="waiting"] dd', { hasText: exactly("0") }).waitFor();
    await con.locator('[data-queue="support"] [data-stat="answeredToday"] dd', { hasText: exactly("1") }).waitFor();
    await row.getByRole("button", { name: `Monitor the conversation with ${VISITOR}` }).click();
    const watch = con.locator("section.monitor");
    await con.locator('section.monitor[data-monitoring="on"][data-loaded="true"]').waitFor();
    const watchLog = watch.getByRole("log", { name: "Conversation" });
    await watchLog.getByText(VISITOR_PROBLEM).waitFor();
    await watchLog.getByText(AGENT_HELLO).waitFor();
    await watchLog.locator(".msg.bot", { hasText: BOT.toTeam }).waitFor(); // the bot's part too
    await visitorSays(w, VISITOR_AGAIN);
    await watchLog.getByText(VISITOR_AGAIN).waitFor();
    await deskLog.locator(".msg.customer .text", { hasText: exactly(VISITOR_AGAIN) }).waitFor();
    await shot(con, "console-monitor");

    step("supervisor whispers: on the desk, not in the widget");
    await watch.getByLabel("Whisper", { exact: true }).fill(WHISPER);
    await watch.getByRole("button", { name: "Send whisper" }).click();
    await watch.getByRole("log", { name: "Staff notes" }).getByText(WHISPER).waitFor();
    await shot(con, "console-whisper");
    await desk.locator("section.notes .note.whisper", { hasText: WHISPER }).getByText("Whisper").waitFor();
    await desk.getByText(`Sam Supervisor whispers: ${WHISPER}`).waitFor();
    await shot(desk, "desk-whisper");
    // The agent answers after the whisper: once that answer is in the
    // widget, the whisper (sent before it) would be there too.
    await reply(desk).fill(AGENT_ANSWER);
    await reply(desk).press("Enter");
    await bubble(w, AGENT_ANSWER).waitFor();
    assert.equal(await log(w).getByText(WHISPER).count(), 0, "the widget shows the supervisor's whisper");
    const saved = await w.evaluate(() => JSON.parse(localStorage.getItem("switchboard:demo")));
    const seen = (await rest(saved.token, "GET", `/chat/threads/${encodeURIComponent(saved.threadId)}/messages?${CHAT}&maxPageSize=200`)).value;
    assert.ok(seen.some((m) => m.content && m.content.message === AGENT_ANSWER), "the visitor's thread holds the agent's answer");
    assert.ok(!seen.some((m) => m.content && (m.content.message || "").includes(WHISPER)), "the visitor's thread holds the whisper");
    await watchLog.getByText(AGENT_ANSWER).waitFor();
    await shot(w, "widget-no-whisper");

    // ---- The end: wrap-up and rating ----
    step("agent ends the conversation: the widget asks for a rating");
    // (The whisper's notice is still showing: it lets clicks through.)
    await pane(desk).getByRole("button", { name: "End", exact: true }).click();
    await pane(desk).getByRole("button", { name: "End conversation" }).click();
    const wrap = pane(desk).getByRole("form", { name: "Wrap-up" });
    await wrap.waitFor();
    const form = w.getByRole("form", { name: "Bagaimana layanan kami?" });
    await form.waitFor();
    const ended = await tap.next("engagementEnded");
    assert.deepEqual([ended.engagementId, ended.rate], [engagementId, true]);
    await row.and(con.locator('[data-state="wrapUp"]')).waitFor();
    await shot(w, "widget-rating-asked");

    step("agent wraps up with a disposition");
    await wrap.getByLabel("Disposition", { exact: true }).selectOption("resolved");
    await wrap.getByLabel("Notes").fill(WRAP_NOTES);
    await shot(desk, "desk-wrap-up");
    await wrap.getByRole("button", { name: "Finish wrap-up" }).click();
    await desk.getByText(`Conversation with ${VISITOR} wrapped up.`).waitFor();
    await desk.getByText("No conversations yet.").waitFor();
    await shot(desk, "desk-wrapped-up");

    step("the customer rates: 5 stars and a comment");
    await form.getByRole("button", { name: "5 dari 5" }).click();
    await form.getByLabel("Komentar (opsional)").fill(COMMENT);
    await shot(w, "widget-rating-filled");
    await form.getByRole("button", { name: "Kirim" }).click();
    await w.getByRole("status").filter({ hasText: "Terima kasih atas masukan Anda" }).waitFor();
    await shot(w, "widget-rated");

    step("supervisor: the rating in today's ratings and on the wallboard; the engagement ended with its disposition");
    const rated = con.locator(".ratings-today li", { hasText: VISITOR });
    await rated.getByText(COMMENT).waitFor();
    assert.equal(await rated.locator(".stars").textContent(), "★★★★★");
    await con.locator('[data-queue="support"] [data-stat="averageRatingToday"] dd', { hasText: "5 of 5 (1 ratings)" }).waitFor();
    await row.waitFor({ state: "detached" }); // no longer live
    await shot(con, "console-rated");
    const e = await supervisorApi("GET", `/engagements/${encodeURIComponent(engagementId)}`);
    assert.equal(e.state, "ended");
    assert.equal(e.dispositionCode, "resolved");
    assert.equal(e.wrapUpNotes, WRAP_NOTES);
    assert.equal(e.rating, 5);
    assert.equal(e.ratingComment, COMMENT);
    assert.equal(e.locale, "id");
    assert.equal(e.handoffReason, "customer");
    assert.equal(e.queueId, "support");
    step("done");
  } catch (err) {
    await explain({ visitor: w, desk, console: con }, err);
  } finally {
    await visitor.ctx.close();
    await agent.ctx.close();
    await sup.ctx.close();
  }
});
