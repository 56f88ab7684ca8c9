// The supervisor console (/console) and the admin pages (/admin) in
// headless Chromium against a live node with the demo tenant
// (docs/contactcenter.md). Customers and agents are played over the API
// (web chat session, ACS chat REST, the agent desktop's calls); the
// supervisor and the admin use the pages. What the pages did is checked
// against the server through the API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { CHAT, NATIVE, SB, newPage, rest } from "./helpers.mjs";

const ARTIFACTS = process.env.CONSOLE_ARTIFACTS || "";
const shot = (page, name) => (ARTIFACTS ? page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true }) : undefined);

/** Runs body; on failure saves a screenshot and prints the page's text. */
async function explained(page, name, body) {
  try {
    await body();
  } catch (err) {
    await shot(page, `failed-${name}`).catch(() => {});
    const text = await page.evaluate(() => document.body.innerText).catch(() => "");
    console.log(`--- ${name}: the page when it failed ---\n${text}\n---`);
    throw err;
  }
}

/**
 * Polls fn until it returns a truthy value (the server's state, which no
 * page shows); the interval is a poll, not a wait for something to happen.
 */
async function eventually(what, fn, timeout = 20000) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeout} ms${last ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A demo staff member's cookie session: call(method, path, body, {raw}). */
async function staff(username, password) {
  const res = await fetch(`${SB}/auth/login?${NATIVE}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tenant: "demo", username, password }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `login ${username}: ${JSON.stringify(body)}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const call = async (method, path, payload) => {
    const url = path.includes("api-version=") ? SB + path : `${SB}${path}${path.includes("?") ? "&" : "?"}${NATIVE}`;
    const r = await fetch(url, {
      method, headers: { Cookie: cookie, "X-CSRF-Token": body.csrfToken, "Content-Type": "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
    return { json: text && r.headers.get("Content-Type")?.includes("json") ? JSON.parse(text) : undefined, text, headers: r.headers };
  };
  return { user: body.user, call, get: async (path) => (await call("GET", path)).json };
}

/** An agent at the desk, over the API: session, presence, offers. */
async function agentAtDesk(username, password) {
  const s = await staff(username, password);
  const session = (await s.call("POST", "/agent/session")).json;
  return {
    ...s, session,
    available: () => s.call("PUT", "/agent/presence", { status: "available" }),
    offerFor: (threadId) => eventually(`${username}'s offer`, async () =>
      ((await s.get("/agent/offers")).value || []).find((o) => o.labels && o.labels.threadId === threadId)),
  };
}

/** A web chat customer: a visitor session and its chat calls. */
async function customer(name, email, locale = "en") {
  const res = await fetch(`${SB}/webchat/demo/sessions?${NATIVE}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ displayName: name, fields: { name, email }, locale }),
  });
  const s = await res.json();
  assert.equal(res.status, 201, `web chat session: ${JSON.stringify(s)}`);
  const thread = `/chat/threads/${encodeURIComponent(s.threadId)}`;
  return {
    ...s, name,
    say: (content) => rest(s.token, "POST", `${thread}/messages?${CHAT}`, { content, type: "text", senderDisplayName: name }),
    messages: async () => (await rest(s.token, "GET", `${thread}/messages?${CHAT}&maxPageSize=200`)).value,
    participants: async () => (await rest(s.token, "GET", `${thread}/participants?${CHAT}`)).value,
    receipts: async () => (await rest(s.token, "GET", `${thread}/readReceipts?${CHAT}`)).value,
    rate: (engagementId, rating, comment) => rest(s.token, "POST", `/engagements/${engagementId}:rate?${NATIVE}`, { rating, comment }),
  };
}

/** A customer the bot hands to agent1, who accepts: the engagement. */
async function takenBy(agent, c) {
  await c.say("Hello");
  await c.say("I want to talk to a person");
  const offer = await agent.offerFor(c.threadId);
  return (await agent.call("POST", `/agent/offers/${encodeURIComponent(offer.offerId)}:accept`)).json;
}

const ROUTER = "api-version=2023-11-01";

const EN = { title: "Sign in to the supervisor console", org: "Organisation", user: "Username", pass: "Password", go: "Sign in" };
const ID = { title: "Masuk ke konsol supervisor", org: "Organisasi", user: "Nama pengguna", pass: "Kata sandi", go: "Masuk" };

async function signIn(page, path, username, password, words = EN) {
  await page.goto(`${SB}${path}`);
  await page.getByRole("heading", { name: words.title }).waitFor();
  await page.getByLabel(words.org).fill("demo");
  await page.getByLabel(words.user).fill(username);
  await page.getByLabel(words.pass).fill(password);
  await page.getByRole("button", { name: words.go }).click();
}

const stat = (page, queue, key) => page.locator(`[data-queue="${queue}"] [data-stat="${key}"] dd`);
const watch = (page) => page.locator("section.monitor");

test("a supervisor sees the wallboard and live conversations, monitors, whispers, barges in and reassigns", async () => {
  const supervisor = await staff("supervisor", "demo-supervisor-1");
  const agent1 = await agentAtDesk("agent1", "demo-agent-1");
  const agent2 = await agentAtDesk("agent2", "demo-agent-2");
  await agent1.available();
  const budi = await customer("Budi Santoso", "budi@example.com");
  const e = await takenBy(agent1, budi);
  assert.equal(e.state, "assigned");

  const { ctx, page } = await newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await explained(page, "console-login", async () => {
      // Only supervisors and admins: an agent is told so.
      await signIn(page, "/console", "agent1", "demo-agent-1");
      await page.getByRole("alert").filter({ hasText: "needs the supervisor or admin role" }).waitFor();
      await shot(page, "console-01-login-refused");
      await page.getByLabel("Username").fill("supervisor");
      await page.getByLabel("Password").fill("demo-supervisor-1");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Supervisor console" }).waitFor();
    });

    await explained(page, "console-wallboard", async () => {
      // The wallboard: one customer handed to support today, one answered.
      await page.locator('[data-queue="support"]').waitFor();
      await page.waitForFunction(() => {
        const v = (k) => document.querySelector(`[data-queue="support"] [data-stat="${k}"] dd`)?.textContent;
        return v("handedOffToday") === "1" && v("answeredToday") === "1";
      });
      assert.equal(await stat(page, "support", "waiting").textContent(), "0");
      assert.equal(await stat(page, "support", "abandonedToday").textContent(), "0");
      assert.match(await stat(page, "support", "serviceLevelToday").textContent(), /^\d+%$/);
      // Agent1 holds a conversation (busy), agent2 is offline.
      await page.locator('[data-queue="support"] [data-agents="busy"] .n', { hasText: /^1$/ }).waitFor();
      await page.getByText("Service level: answered within 20 seconds.").waitFor();
    });

    const row = page.locator(`tr[data-engagement="${e.id}"]`);
    await explained(page, "console-live", async () => {
      await row.waitFor();
      await row.getByText("Budi Santoso").waitFor();
      await row.getByText("With an agent").waitFor();
      await row.getByText("Alex Agent").waitFor();
      await row.getByText("support").waitFor();
      await row.locator("td.clock", { hasText: /^\d+:\d\d$/ }).waitFor();
      // The figures refresh by themselves; a focused button keeps its focus.
      const monitor = row.getByRole("button", { name: "Monitor the conversation with Budi Santoso" });
      await monitor.focus();
      const stamp = await page.locator(".updated").textContent();
      await page.waitForFunction((s) => document.querySelector(".updated").textContent !== s, stamp);
      assert.ok(await monitor.evaluate((b) => b === document.activeElement), "a refresh took the focus away");
      await shot(page, "console-02-wallboard-live");
    });

    await explained(page, "console-monitor", async () => {
      await row.getByRole("button", { name: "Monitor the conversation with Budi Santoso" }).click();
      await page.locator('section.monitor[data-monitoring="on"][data-loaded="true"]').waitFor();
      const log = watch(page).getByRole("log", { name: "Conversation" });
      await log.getByText("I want to talk to a person").waitFor();
      await log.locator(".msg.bot").first().waitFor();
      await watch(page).getByText("Monitoring silently").waitFor();
      // The server relays the conversation to the supervisor, who is not in it.
      const sup = (await supervisor.get(`/engagements/${e.id}`));
      assert.equal((sup.monitors || []).length, 1, JSON.stringify(sup));
      assert.ok(!(await budi.participants()).some((p) => p.displayName === "Sam Supervisor"), "a silent monitor is not in the thread");
      // A new customer message arrives live.
      await budi.say("Is anyone there?");
      await log.getByText("Is anyone there?").waitFor();
      // Watching reads nothing on anyone's behalf.
      const readers = (await budi.receipts()).map((r) => r.senderCommunicationIdentifier && r.senderCommunicationIdentifier.rawId);
      assert.ok(!readers.includes(sup.monitors[0]), `the supervisor sent a read receipt: ${readers}`);
      await shot(page, "console-03-monitor");
    });

    await explained(page, "console-whisper", async () => {
      await watch(page).getByLabel("Whisper", { exact: true }).fill("Offer the 10% voucher");
      await watch(page).getByRole("button", { name: "Send whisper" }).click();
      await watch(page).getByRole("log", { name: "Staff notes" }).getByText("Offer the 10% voucher").waitFor();
      // The agent's side has it, marked a whisper; the customer never sees it.
      const notes = (await agent1.get(`/engagements/${e.id}/notes`)).value;
      const w = notes.find((n) => n.content && n.content.message === "Offer the 10% voucher");
      assert.ok(w, `the agent's notes: ${JSON.stringify(notes)}`);
      assert.equal(w.metadata.kind, "whisper");
      assert.ok(!(await budi.messages()).some((m) => m.content && m.content.message === "Offer the 10% voucher"), "the customer sees the whisper");
      await shot(page, "console-04-whisper");
    });

    await explained(page, "console-barge", async () => {
      await watch(page).getByRole("button", { name: "Barge in" }).click();
      await watch(page).getByText("You are in the conversation").waitFor();
      const ps = await budi.participants();
      assert.ok(ps.some((p) => p.displayName === "Sam Supervisor"), `participants: ${JSON.stringify(ps)}`);
      const box = watch(page).getByLabel("Message to the customer");
      await box.fill("Hello, I'm the supervisor.");
      await box.press("Enter");
      await watch(page).locator(".msg.mine", { hasText: "Hello, I'm the supervisor." }).waitFor();
      await eventually("the customer sees the supervisor's message", async () =>
        (await budi.messages()).some((m) => m.content && m.content.message === "Hello, I'm the supervisor." && m.senderDisplayName === "Sam Supervisor"));
      // The customer's answer now comes as an ordinary chat event.
      await budi.say("Thanks, supervisor");
      await watch(page).getByRole("log", { name: "Conversation" }).getByText("Thanks, supervisor").waitFor();
      await shot(page, "console-05-barge");
      // Leaving the conversation goes back to watching silently.
      await watch(page).getByRole("button", { name: "Leave the conversation" }).click();
      await watch(page).getByText("Monitoring silently").waitFor();
      assert.ok(!(await budi.participants()).some((p) => p.displayName === "Sam Supervisor"), "the supervisor left the thread");
      await budi.say("Still there?");
      await watch(page).getByRole("log", { name: "Conversation" }).getByText("Still there?").waitFor();
      assert.equal(await watch(page).getByLabel("Message to the customer").isVisible(), false);
    });

    await explained(page, "console-reassign", async () => {
      await agent2.available();
      await watch(page).getByLabel("Agent", { exact: true }).selectOption({ label: "Budi Agent" });
      await watch(page).getByRole("button", { name: "Give to agent" }).click();
      await watch(page).getByText("Reassigned: it is offered to Budi Agent.").waitFor();
      const moved = await supervisor.get(`/engagements/${e.id}`);
      assert.equal(moved.state, "queued", JSON.stringify(moved));
      const offer = await agent2.offerFor(budi.threadId);
      assert.equal(offer.engagementId, e.id);
      assert.equal(offer.labels.handoffReason, "transfer");
      await row.getByText("Waiting").waitFor();
      await shot(page, "console-06-reassigned");

      // Agent2 takes it, ends it; the customer rates it: the rating shows
      // in the live list, in today's ratings and on the wallboard.
      await agent2.call("POST", `/agent/offers/${encodeURIComponent(offer.offerId)}:accept`);
      await row.getByText("Budi Agent").waitFor();
      await agent2.call("POST", `/engagements/${e.id}:end`);
      await budi.rate(e.id, 4, "Sorted out in the end");
      await row.getByLabel("Rated 4 of 5").waitFor();
      const rated = page.locator(".ratings-today li", { hasText: "Budi Santoso" });
      await rated.getByText("Sorted out in the end").waitFor();
      assert.equal(await rated.locator(".stars").textContent(), "★★★★☆");
      await stat(page, "support", "averageRatingToday").getByText("4 of 5 (1 ratings)").waitFor();
      await shot(page, "console-07-rated");
      // Stopping: the server no longer relays the conversation.
      await watch(page).getByRole("button", { name: "Stop monitoring" }).click();
      await page.getByText("Pick a conversation to monitor it.").waitFor();
      await eventually("the watch ended", async () => ((await supervisor.get(`/engagements/${e.id}`)).monitors || []).length === 0);
    });
  } finally {
    await ctx.close();
  }
});

/** The demo English flow with one mistake: "next" misspelt on line 25. */
const MISSPELT = { from: "    next: check_hours\n", to: "    nxet: check_hours\n" };

test("an admin manages users, bots and flows (mistakes listed by line, the running flow kept), desk settings, the widget, queues and agents", async () => {
  const admin = await staff("admin", "demo-admin-1");
  const before = await admin.call("GET", "/bots/assistant/flow");
  const version = Number(before.headers.get("Flow-Version"));
  assert.ok(version >= 1);
  const { ctx, page } = await newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    await explained(page, "admin-login", async () => {
      // A supervisor is not an admin.
      await signIn(page, "/admin", "supervisor", "demo-supervisor-1", { ...EN, title: "Sign in to the admin pages" });
      await page.getByRole("alert").filter({ hasText: "does not have the admin role" }).waitFor();
      await page.getByLabel("Username").fill("admin");
      await page.getByLabel("Password").fill("demo-admin-1");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Administration" }).waitFor();
    });

    await explained(page, "admin-users", async () => {
      await page.locator('tr[data-user="agent1"]').getByRole("textbox").waitFor();
      assert.equal(await page.getByLabel("Display name of agent1").inputValue(), "Alex Agent");
      const form = page.locator("form.create");
      await form.getByLabel("Username").fill("citra");
      await form.getByLabel("Display name").fill("Citra Agent");
      await form.getByLabel("Role").selectOption("agent");
      await form.getByLabel("Password").fill("demo-citra-1");
      await form.getByRole("button", { name: "Create user" }).click();
      await page.getByText("citra can sign in now.").waitFor();
      await page.getByLabel("Role of citra").selectOption("supervisor");
      await page.getByRole("button", { name: "Save citra" }).click();
      await page.locator('tr[data-user="citra"] .row-status', { hasText: "Saved." }).waitFor();
      const users = (await admin.get("/users?maxpagesize=100")).value;
      const citra = users.find((u) => u.username === "citra");
      assert.ok(citra, JSON.stringify(users));
      assert.equal(citra.displayName, "Citra Agent");
      assert.equal(citra.role, "supervisor");
      await shot(page, "admin-01-users");
    });

    const editor = page.getByLabel("Flow document");
    await explained(page, "admin-flow-mistake", async () => {
      await page.getByRole("link", { name: "Bots" }).click();
      await page.locator('[data-bot="assistant"]').click();
      await page.locator(`section.flow[data-version="${version}"]`).waitFor();
      const source = await editor.inputValue();
      assert.equal(source, before.text, "the editor holds the running flow");
      assert.ok(source.includes(MISSPELT.from));
      await editor.fill(source.replace(MISSPELT.from, MISSPELT.to));
      await page.getByRole("button", { name: "Save flow" }).click();
      const problems = page.getByRole("list", { name: "Mistakes in the flow" });
      const first = problems.getByRole("button").first();
      await first.waitFor();
      assert.match(await first.textContent(), /^line 25, column 5: .*nxet/);
      await page.getByText(/^The flow has mistakes \(\d+\); it was not saved, and the running flow is unchanged\.$/).waitFor();
      // The line is marked in the gutter and behind the text, and selected.
      await page.locator('.gutter .bad[data-line="25"]').waitFor();
      await page.locator('.line-mark[data-line="25"]').waitFor();
      const selected = await editor.evaluate((ta) => ta.value.slice(ta.selectionStart, ta.selectionEnd));
      assert.equal(selected, "nxet: check_hours");
      // The running flow did not change.
      const now = await admin.call("GET", "/bots/assistant/flow");
      assert.equal(Number(now.headers.get("Flow-Version")), version);
      assert.equal(now.text, before.text);
      await shot(page, "admin-02-flow-mistake");
      // Moving away and back: the list still jumps to the line.
      await editor.evaluate((ta) => ta.setSelectionRange(0, 0));
      await first.click();
      assert.equal(await editor.evaluate((ta) => ta.value.slice(ta.selectionStart, ta.selectionEnd)), "nxet: check_hours");
    });

    await explained(page, "admin-flow-fixed", async () => {
      const fixed = before.text.replace("I'm the Corner Shop assistant.", "I'm the Corner Shop helper.");
      await editor.fill(fixed);
      await page.getByRole("button", { name: "Save flow" }).click();
      await page.getByText(`Saved: version ${version + 1} is running now.`).waitFor();
      assert.equal(await page.getByRole("list", { name: "Mistakes in the flow" }).getByRole("listitem").count(), 0);
      await page.locator(".gutter .bad").first().waitFor({ state: "detached" });
      const now = await admin.call("GET", "/bots/assistant/flow");
      assert.equal(Number(now.headers.get("Flow-Version")), version + 1);
      assert.equal(now.text, fixed);
      await shot(page, "admin-03-flow-saved");
      // The bot's own settings: switched off and on again through the form.
      await page.getByLabel("Answers web chat").uncheck();
      await page.getByRole("button", { name: "Save bot" }).click();
      await page.getByText("The bot is saved.").waitFor();
      assert.equal((await admin.get("/bots/assistant")).enabled, false);
      await page.getByLabel("Answers web chat").check();
      await page.getByRole("button", { name: "Save bot" }).click();
      await eventually("the bot is on again", async () => (await admin.get("/bots/assistant")).enabled === true);
    });

    await explained(page, "admin-new-bot", async () => {
      const form = page.locator("form.create");
      await form.getByLabel("Bot id").fill("faq");
      await form.getByLabel("Name").fill("FAQ bot");
      await form.getByRole("button", { name: "Connect bot" }).click();
      await page.getByText(/^Bot faq is connected and switched off/).waitFor();
      await page.locator('section.flow[data-version="0"]').getByText("no flow yet").waitFor();
      const faq = await admin.get("/bots/faq");
      assert.equal(faq.kind, "flow");
      assert.equal(faq.enabled, false);
      await editor.fill("version: 1\nlocale: en\nstart: hi\nsteps:\n  hi:\n    say: Ask me anything.\n    handoff:\n      queue: support\n");
      await page.getByRole("button", { name: "Save flow" }).click();
      await page.getByText("Saved: version 1 is running now.").waitFor();
      assert.equal((await admin.get("/bots/faq")).flowVersion, 1);
      await shot(page, "admin-04-new-bot");
    });

    await explained(page, "admin-desk", async () => {
      await page.getByRole("link", { name: "Desk settings" }).click();
      const text = page.getByLabel("Text of canned response 1");
      assert.equal(await text.inputValue(), "Hello! Thanks for waiting. How can I help you today?");
      await text.fill("Hello! Thanks for waiting. How may I help?");
      await page.getByRole("button", { name: "Save desk settings" }).click();
      await page.getByText(/^The desk settings are saved/).waitFor();
      const desk = await admin.get("/desk/settings");
      const greeting = desk.cannedResponses.find((c) => c.id === "greeting-en");
      assert.equal(greeting.text, "Hello! Thanks for waiting. How may I help?");
      assert.equal(desk.cannedResponses.length, 4);
      assert.equal(desk.dispositionCodes.length, 4);
      await shot(page, "admin-05-desk");
    });

    await explained(page, "admin-widget", async () => {
      await page.getByRole("link", { name: "Web chat widget" }).click();
      await page.getByLabel("Greeting in English").fill("Hi! Ask us anything.");
      await page.getByLabel("Monday").fill("08:00-16:00");
      await page.getByLabel("Time zone").fill("Asia/Jakarta");
      await page.getByRole("button", { name: "Save widget settings" }).click();
      await page.getByText(/^The widget settings are saved/).waitFor();
      const w = await admin.get("/webchat/settings");
      assert.equal(w.greeting.en, "Hi! Ask us anything.");
      assert.equal(w.greeting.id, "Hai! Ada yang bisa kami bantu?");
      assert.deepEqual(w.businessHours.weekly, { mon: [["08:00", "16:00"]] });
      assert.equal(w.businessHours.timezone, "Asia/Jakarta");
      await shot(page, "admin-06-widget");
      // Put back: the flows' opening-hours steps read these hours.
      await admin.call("PUT", "/webchat/settings", { ...w, businessHours: { ...w.businessHours, weekly: {}, timezone: "UTC" } });
    });

    await explained(page, "admin-queues", async () => {
      const dewi = (await admin.call("POST", "/users", { username: "dewi", displayName: "Dewi Agent", role: "agent", password: "demo-dewi-1" })).json;
      await page.getByRole("link", { name: "Queues and agents" }).click();
      // The Job Router's queues and workers, through the admin's session.
      await page.getByLabel("Name of queue support").fill("Customer support");
      await page.getByRole("button", { name: "Save queue support" }).click();
      await page.locator('tr[data-queue="support"] .row-status', { hasText: "Saved." }).waitFor();
      assert.equal((await admin.get(`/routing/queues/support?${ROUTER}`)).name, "Customer support");
      const form = page.locator("form.create");
      await form.getByLabel("Queue id").fill("sales");
      await form.getByLabel("Name").fill("Sales");
      await form.getByRole("button", { name: "Create queue" }).click();
      await page.getByText("Queue sales is created; choose the agents who serve it below.").waitFor();
      const sales = await admin.get(`/routing/queues/sales?${ROUTER}`);
      assert.equal(sales.name, "Sales");
      assert.equal(sales.distributionPolicyId, "demo-longest-idle");
      // Agent2 serves sales too, with skills and a smaller capacity.
      const agent2 = (await admin.get("/users?maxpagesize=100")).value.find((u) => u.username === "agent2");
      // The labels the platform and the router set are not skills.
      assert.equal(await page.getByLabel("Skills of Alex Agent").inputValue(), "");
      await page.getByRole("group", { name: "Queues of Budi Agent" }).getByLabel("sales").check();
      await page.getByLabel("Skills of Budi Agent").fill("indonesian, tier=2");
      await page.getByLabel("Capacity of Budi Agent").fill("60");
      await page.getByRole("button", { name: "Save Budi Agent" }).click();
      await page.locator(`tr[data-worker="${agent2.id}"] .row-status`, { hasText: "Saved." }).waitFor();
      const w = await admin.get(`/routing/workers/${agent2.id}?${ROUTER}`);
      assert.deepEqual([...w.queues].sort(), ["sales", "support"]);
      assert.equal(w.capacity, 60);
      assert.equal(w.labels.indonesian, true);
      assert.equal(w.labels.tier, 2);
      assert.equal(w.labels.agentId, agent2.id, "the platform's own label stays");
      assert.equal(w.channels.find((c) => c.channelId === "chat").capacityCostPerJob, 20);
      // Dewi, a new agent who never opened the desk, has no worker yet:
      // saving makes one.
      const dewiRow = page.locator(`tr[data-worker="${dewi.id}"]`);
      assert.equal(await dewiRow.getByRole("button", { name: "Save Dewi Agent" }).textContent(), "Create worker");
      await page.getByRole("group", { name: "Queues of Dewi Agent" }).getByLabel("support").check();
      await page.getByRole("button", { name: "Save Dewi Agent" }).click();
      await dewiRow.locator(".row-status", { hasText: "Saved." }).waitFor();
      const dw = await admin.get(`/routing/workers/${dewi.id}?${ROUTER}`);
      assert.deepEqual(dw.queues, ["support"]);
      assert.equal(dw.labels.agentId, dewi.id);
      assert.equal(dw.availableForOffers, false);
      await shot(page, "admin-07-queues");
    });
  } finally {
    await ctx.close();
  }
});

test("in Indonesian: the console and the admin pages", async () => {
  const { ctx, page } = await newPage({ locale: "id-ID", viewport: { width: 1400, height: 900 } });
  try {
    await explained(page, "console-id", async () => {
      await signIn(page, "/console", "supervisor", "demo-supervisor-1", ID);
      await page.getByRole("heading", { name: "Konsol supervisor" }).waitFor();
      await page.getByRole("heading", { name: "Papan pantau" }).waitFor();
      await page.locator('[data-queue="support"] [data-stat="handedOffToday"] dt', { hasText: "Dialihkan hari ini" }).waitFor();
      await page.getByRole("heading", { name: "Percakapan berlangsung" }).waitFor();
      await page.getByRole("heading", { name: "Penilaian hari ini" }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), "id");
      await shot(page, "console-id-01-wallboard");
      // The conversation of the first test, now in wrap-up, watched.
      await page.getByRole("button", { name: "Pantau percakapan dengan Budi Santoso" }).click();
      await page.locator('section.monitor[data-loaded="true"]').getByText("Memantau secara senyap").waitFor();
      await page.getByRole("heading", { name: "Bisikan untuk agen" }).waitFor();
      await shot(page, "console-id-02-monitor");
      await page.getByRole("button", { name: "Berhenti memantau" }).click();
      await page.getByText("Pilih percakapan untuk memantaunya.").waitFor();
      await page.getByRole("button", { name: "Keluar" }).click();
      await page.getByRole("heading", { name: ID.title }).waitFor();
    });

    await explained(page, "admin-id", async () => {
      await signIn(page, "/admin", "admin", "demo-admin-1", { ...ID, title: "Masuk ke halaman admin" });
      await page.getByRole("heading", { name: "Administrasi" }).waitFor();
      await page.getByRole("link", { name: "Bot", exact: true }).click();
      await page.locator('[data-bot="asisten"]').click();
      const editor = page.getByLabel("Dokumen alur");
      await page.locator("section.flow[data-version]").waitFor();
      await editor.fill("version: 1\nlocale: id\nstart: halo\nsteps:\n  halo:\n    say: Halo!\n    next: tidak_ada\n");
      await page.getByRole("button", { name: "Simpan alur" }).click();
      const first = page.getByRole("list", { name: "Kesalahan dalam alur" }).getByRole("button").first();
      await first.waitFor();
      assert.match(await first.textContent(), /^baris \d+, kolom \d+: /);
      await page.getByText(/^Alur berisi kesalahan \(\d+\)/).waitFor();
      await shot(page, "admin-id-01-flow-mistake");
      await page.getByRole("link", { name: "Pengaturan meja agen" }).click();
      await page.getByRole("button", { name: "Simpan pengaturan meja agen" }).waitFor();
      await shot(page, "admin-id-02-desk");
      await page.getByRole("link", { name: "Pengguna" }).click();
      await page.getByRole("button", { name: "Buat pengguna" }).waitFor();
      await shot(page, "admin-id-03-users");
      await page.getByRole("link", { name: "Widget obrolan web" }).click();
      await page.getByLabel("Sapaan dalam Bahasa Indonesia").waitFor();
      await shot(page, "admin-id-04-widget");
      await page.getByRole("link", { name: "Antrean dan agen" }).click();
      await page.getByRole("heading", { name: "Antrean, keahlian, dan kapasitas agen" }).waitFor();
      await shot(page, "admin-id-05-queues");
    });
  } finally {
    await ctx.close();
  }
});
