// Contact-center helpers for the widget tests (docs/contactcenter.md): the
// demo staff's logins, an agent's desktop calls, and a tap on the widget's
// real-time socket that records what the server sent.
import { HOST, NATIVE, SB, backend, newPage } from "./helpers.mjs";

const ROUTER = "api-version=2023-11-01";

/** The queue the test bots hand off to, and its agents' worker setup. */
export const QUEUE = "widget-test";

/**
 * A flow bot per language answering web chat, handing off to QUEUE when
 * the customer asks for a person, connected through the public API
 * (PATCH /bots/{id}, PUT /bots/{id}/flow; docs/contactcenter.md,
 * docs/flows.md) with the business's access key. Returns a teardown that
 * disconnects them again.
 */
export async function connectBots() {
  await backend("PATCH", `/routing/distributionPolicies/${QUEUE}-policy?${ROUTER}`,
    { name: "Widget test", offerExpiresAfterSeconds: 60, mode: { kind: "longestIdle" } });
  await backend("PATCH", `/routing/queues/${QUEUE}?${ROUTER}`, { name: "Widget test", distributionPolicyId: `${QUEUE}-policy` });
  const flows = {
    en: { greet: "Hi {{contact.name|there}}! Type \"agent\" for a person.", bye: "Bye!" },
    id: { greet: "Halo {{contact.name|Kak}}! Ketik \"agen\" untuk bicara dengan tim kami.", bye: "Sampai jumpa!" },
  };
  const ids = [];
  for (const [locale, say] of Object.entries(flows)) {
    const id = `${QUEUE}-${locale}`;
    await backend("PATCH", `/bots/${id}?${NATIVE}`, {
      name: `Test bot (${locale})`, kind: "flow", channels: ["webchat"], enabled: true, locale, handoffQueueId: QUEUE,
    });
    await backend("PUT", `/bots/${id}/flow?${NATIVE}`, {
      version: 1, locale, start: "welcome", handoff: { queue: QUEUE },
      steps: {
        welcome: { say: say.greet, next: "help" },
        help: { intents: { bye: { keywords: ["bye", "dadah"], next: "bye" } } },
        bye: { say: say.bye, end: true },
      },
    });
    ids.push(id);
  }
  return async () => {
    for (const id of ids) await backend("DELETE", `/bots/${id}?${NATIVE}`);
  };
}

/**
 * A demo staff member logged in (cookie session): call(method, path, body)
 * answers the parsed body, or throws with the status.
 */
export async function staffLogin(username, password) {
  const res = await fetch(`${SB}/auth/login?${NATIVE}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tenant: "demo", username, password }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(body)}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const call = async (method, path, payload) => {
    const r = await fetch(SB + path, {
      method, headers: { Cookie: cookie, "X-CSRF-Token": body.csrfToken, "Content-Type": "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await r.text();
    if (!r.ok) throw Object.assign(new Error(`${method} ${path}: ${r.status} ${text}`), { status: r.status });
    return text ? JSON.parse(text) : undefined;
  };
  return { user: body.user, call };
}

/**
 * An agent at work: logged in, desktop session started, its real-time
 * socket open in a page (recording agentOfferIssued). available() and
 * offline() set its presence; offerFor(engagementId) waits for that
 * engagement's offer.
 */
export async function agentAtWork(username, password) {
  const staff = await staffLogin(username, password);
  const session = await staff.call("POST", `/agent/session?${NATIVE}`);
  // The desktop's first session made the worker; it serves the test queue.
  await backend("PATCH", `/routing/workers/${encodeURIComponent(session.workerId)}?${ROUTER}`, { queues: [QUEUE] });
  const { ctx, page } = await newPage();
  await page.goto(`${HOST}/agent`);
  await page.evaluate(async ({ SB, token }) => {
    const { ChatConnection } = await import(`${SB}/web/switchboard-client.js`);
    window.offers = [];
    const conn = new ChatConnection({ endpoint: SB, token });
    conn.on("agentOfferIssued", (o) => window.offers.push(o));
    await conn.connect();
  }, { SB, token: session.token });
  return {
    ...staff, session, ctx,
    // Connected first, then available: no offer can fall in between.
    async available() {
      await staff.call("PUT", `/agent/presence?${NATIVE}`, { status: "available" });
      const held = await staff.call("GET", `/agent/offers?${NATIVE}`);
      await page.evaluate((os) => window.offers.push(...os), held.value || []);
    },
    offline: () => staff.call("PUT", `/agent/presence?${NATIVE}`, { status: "offline" }),
    async offerFor(engagementId) {
      const h = await page.waitForFunction((id) => window.offers.find((o) => o.engagementId === id), engagementId, { timeout: 30000 });
      return h.jsonValue();
    },
  };
}

/**
 * Taps the page's real-time sockets: frames from the server are recorded
 * (and passed on); next(name, pred) resolves with the data of the first
 * event of that name (from `from` on) that pred accepts; send(frame) plays
 * the server on the newest socket.
 */
export async function tapRealtime(page) {
  const frames = [];
  const sockets = [];
  const waiters = new Set();
  await page.routeWebSocket(/\/realtime$/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      try {
        frames.push(JSON.parse(m));
      } catch {
        /* not ours to judge */
      }
      ws.send(m);
      for (const w of [...waiters]) w();
    });
    sockets.push(ws);
  });
  const events = (name, from = 0) => frames.slice(from).filter((f) => f.type === "event" && f.name === name).map((f) => f.data);
  return {
    frames, events,
    get count() {
      return frames.length;
    },
    next(name, pred = () => true, { from = 0, timeout = 30000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events(name, from).find(pred);
          if (!hit) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${name} event within ${timeout} ms`));
        }, timeout);
        if (!check()) waiters.add(check);
      });
    },
    /** Resolves once a socket of the page has had its ready frame. */
    ready: () => new Promise((resolve) => {
      const check = () => frames.some((f) => f.type === "ready") && (waiters.delete(check), resolve(), true);
      if (!check()) waiters.add(check);
    }),
    send(frame) {
      sockets[sockets.length - 1].send(JSON.stringify(frame));
    },
  };
}

/** The widget's queue line (a polite live region). */
export const queueLine = (page) => page.locator(".queue");

/** What the queue line says for a position, in English and Indonesian. */
export function expectedLine(locale, p) {
  const m = p.estimatedWaitMinutes;
  if (locale === "id") {
    const base = `Menunggu agen — Anda nomor ${p.position} dalam antrean`;
    if (m === undefined || m === null) return base;
    return m === 0 ? `${base}, kurang dari semenit` : `${base}, sekitar ${m} menit`;
  }
  const base = `Waiting for an agent — you are number ${p.position} in line`;
  if (m === undefined || m === null) return base;
  return m === 0 ? `${base}, less than a minute` : m === 1 ? `${base}, about 1 minute` : `${base}, about ${m} minutes`;
}

/**
 * Waits until the widget's socket is live (it stores the position of its
 * first ready): a notification the server sends before that is not
 * replayed to a first connection, and the test waits for the frame.
 */
export const socketReady = (page) => page.waitForFunction(() => {
  try {
    return !!JSON.parse(localStorage.getItem("switchboard:demo")).position;
  } catch {
    return false;
  }
});

/**
 * The response to the page's next request that pred accepts; rejects at
 * once, saying why, when that request fails instead (e.g. refused by the
 * browser because the server did not allow the cross-origin call).
 */
export function responseTo(page, pred) {
  const p = new Promise((resolve, reject) => {
    const done = () => {
      page.off("response", onResponse);
      page.off("requestfailed", onFailed);
    };
    const onResponse = (r) => pred(r.request()) && (done(), resolve(r));
    const onFailed = (req) => {
      if (!pred(req)) return;
      done();
      reject(new Error(`${req.method()} ${req.url()} failed in the browser: ${req.failure() && req.failure().errorText} ` +
        "(a path the widget calls from another origin must be open to CORS: internal/api/cors.go)"));
    };
    page.on("response", onResponse);
    page.on("requestfailed", onFailed);
  });
  p.catch(() => {}); // reported where it is awaited
  return p;
}

/** Requests for the customer's place, and for rating. */
export const positionRequest = (r) => r.method() === "GET" && r.url().includes("/webchat/position?");
export const rateRequest = (r) => r.method() === "POST" && r.url().includes(":rate?");
/** The customer's "End chat" (POST /engagements/{id}:leave). */
export const leaveRequest = (r) => r.method() === "POST" && r.url().includes(":leave?");

/** The router's job of an engagement (eng-<engagementId>), as the business reads it. */
export const routerJob = (engagementId) => backend("GET", `/routing/jobs/eng-${encodeURIComponent(engagementId)}?${ROUTER}`);
