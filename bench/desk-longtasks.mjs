// The browser half of BenchmarkDeskResponsiveness (desk_bench_test.go),
// which starts a node, puts 20 accepted conversations on agent1 and writes
// DESK_BENCH_CONFIG: {sb, chromium, username, password, seconds, rate,
// switchEveryMs, visitors: [{name, threadId, token}]}.
//
// The desk (/desk) is opened in headless Chromium with observers installed
// before its code runs: PerformanceObserver "longtask" and
// "long-animation-frame" (buffered), a MutationObserver stamping when each
// customer message's text first enters the page, and timers around the
// desk's two calls that Chromium answers synchronously from the browser
// process (Notification.permission, new AudioContext). Customers then write
// `rate` messages a second, round robin over the conversations, for
// `seconds`, each carrying its number and send time ("[m12@1765...]"); the
// agent clicks another conversation every `switchEveryMs`. At the end every
// conversation is brought to the front and its log counted.
//
// A light Chromium trace (category toplevel: one event per task, with its
// thread CPU time) runs from the login to the end of the window, so each
// task's CPU time can be told from its wall time: on a busy machine a task
// may take long only because its thread waited.
//
// Prints progress, then one line "RESULT {json}" for the Go side.
// Diagnostics (their runs' figures are not the benchmark's):
//   DESK_BENCH_TRACE=file.json   a full trace instead, and each long task's
//                                make-up: self time by trace event, the
//                                scripts and DOM events in it;
//   DESK_BENCH_PROFILE=prefix    the desk's code served unminified (built
//                                from web/desk with web's esbuild), V8 CPU
//                                profiles of the loading and of the window
//                                (prefix-load.cpuprofile,
//                                prefix-window.cpuprofile), the hottest
//                                functions printed;
//   DESK_BENCH_FAKE_PERMISSION=1 Notification.permission read once, then
//                                answered from JS: an experiment, to see
//                                what the desk's read for every message
//                                arriving in a conversation not in front
//                                costs.
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// playwright-core as test/browser installs it (bash .ci/install-node).
const require = createRequire(new URL("../test/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const cfg = JSON.parse(readFileSync(process.env.DESK_BENCH_CONFIG, "utf8"));
const TRACE = process.env.DESK_BENCH_TRACE || "";
const PROFILE = process.env.DESK_BENCH_PROFILE || "";
const FAKE_PERMISSION = process.env.DESK_BENCH_FAKE_PERMISSION === "1";
const CHAT = "api-version=2025-03-15";
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const round = (x) => Math.round(x * 10) / 10;
const quantile = (xs, q) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * (xs.length - 1)))] : 0);

// Runs in the page before the desk's code.
function instrument({ fakePermission }) {
  const b = (window.__bench = { long: [], loaf: [], seen: {}, pending: [], clicks: [], sync: [] });
  // Two calls the desk makes that Chromium answers synchronously from the
  // browser process: timed (they behave the same, a few µs more).
  const timed = (what, f) => {
    const t = performance.now();
    try {
      return f();
    } finally {
      b.sync.push({ what, start: t, dur: performance.now() - t });
    }
  };
  const perm = window.Notification && Object.getOwnPropertyDescriptor(Notification, "permission");
  if (perm && perm.get) {
    // With fakePermission, read once and then answered from JS: what
    // reading it costs the desk per message.
    const once = fakePermission ? perm.get.call(Notification) : "";
    Object.defineProperty(Notification, "permission", {
      configurable: true, enumerable: perm.enumerable,
      get() {
        return fakePermission ? once : timed("Notification.permission", () => perm.get.call(this));
      },
    });
  }
  if (window.AudioContext) {
    const AC = window.AudioContext;
    window.AudioContext = class extends AC {
      constructor(...args) {
        const t = performance.now();
        super(...args);
        b.sync.push({ what: "new AudioContext", start: t, dur: performance.now() - t });
      }
    };
  }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.long.push({ start: e.startTime, dur: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {
    b.error = `longtask: ${e}`;
  }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        b.loaf.push({
          start: e.startTime, dur: e.duration, blocking: e.blockingDuration,
          renderStart: e.renderStart, styleAndLayoutStart: e.styleAndLayoutStart,
          scripts: e.scripts.map((s) => ({ start: s.startTime, dur: s.duration, invoker: s.invoker, type: s.invokerType,
            fn: s.sourceFunctionName, src: s.sourceURL, pos: s.sourceCharPosition, forced: s.forcedStyleAndLayoutDuration })),
        });
      }
    }).observe({ type: "long-animation-frame", buffered: true });
  } catch {
    /* older Chromium: long tasks only */
  }
  document.addEventListener("click", () => b.clicks.push(performance.now()), true);
  const MARK = /\[m(\d+)@(\d+)\]/;
  let frameAsked = false;
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        // A message in the log in front, or a list item's preview.
        if (n.nodeType !== 1 || !(n.classList.contains("msg") || n.classList.contains("preview"))) continue;
        const m = MARK.exec(n.textContent || "");
        if (!m || b.seen[m[1]]) continue;
        b.seen[m[1]] = { sent: Number(m[2]), dom: Date.now() };
        b.pending.push(m[1]);
      }
    }
    if (b.pending.length && !frameAsked) {
      frameAsked = true;
      requestAnimationFrame(() => {
        frameAsked = false;
        const now = Date.now();
        for (const s of b.pending) b.seen[s].frame = now;
        b.pending = [];
      });
    }
  }).observe(document, { childList: true, subtree: true });
}

const LINES = [
  "My parcel has not arrived yet, can you check the tracking for me?",
  "I ordered the blue one but got the green one.",
  "Is the store open on Saturday afternoon?",
  "Thanks, and how long does a refund usually take to reach my card?",
  "The discount code SUMMER10 does not work at checkout.",
  "Can I change the delivery address on order 7781 please?",
  "ok",
  "Could you send me the invoice again? I cannot find the e-mail anywhere, not even in spam.",
];

async function main() {
  const n = cfg.visitors.length;
  const browser = await chromium.launch({
    executablePath: cfg.chromium, headless: true, chromiumSandbox: false,
    args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    await ctx.addInitScript(instrument, { fakePermission: FAKE_PERMISSION });
    const page = await ctx.newPage();
    page.on("pageerror", (e) => console.log("page error:", e.message));
    let cdp = null;
    if (PROFILE) {
      const code = await unminifiedDesk();
      await page.route(`${cfg.sb}/web/desk.js`, (route) => route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: code }));
      cdp = await ctx.newCDPSession(page);
    }
    let inflight = 0;
    page.on("request", () => inflight++);
    page.on("requestfinished", () => inflight--);
    page.on("requestfailed", () => inflight--);

    const traceFile = TRACE || join(tmpdir(), `desk-bench-${process.pid}.json`);
    await browser.startTracing(page, {
      path: traceFile, screenshots: false,
      categories: TRACE
        ? ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.execute", "blink", "blink.user_timing", "disabled-by-default-v8.gc"]
        : ["toplevel", "blink.user_timing"],
    });
    // Log in as the desk tests do, and wait for the conversations and
    // their histories (no request in flight for a second).
    const loadStart = Date.now();
    await page.goto(`${cfg.sb}/desk`);
    if (cdp) {
      await page.getByLabel("Organisation").waitFor();
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
    }
    await page.getByLabel("Organisation").fill("demo");
    await page.getByLabel("Username").fill(cfg.username);
    await page.getByLabel("Password").fill(cfg.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".app:not([aria-busy])").waitFor({ timeout: 60000 });
    await page.waitForFunction((k) => document.querySelectorAll("button.conv").length >= k, n, { timeout: 60000 });
    for (let quiet = 0; quiet < 10; ) {
      await sleep(100);
      quiet = inflight === 0 ? quiet + 1 : 0;
    }
    const ids = await page.locator("button.conv").evaluateAll((bs) => bs.map((x) => x.dataset.engagement));
    console.log(`desk loaded ${ids.length} conversations in ${Date.now() - loadStart} ms`);
    await sleep(2000);

    if (cdp) profiled("loading", (await cdp.send("Profiler.stop")).profile, `${PROFILE}-load.cpuprofile`);
    if (cdp) await cdp.send("Profiler.start");
    const t0 = await page.evaluate(() => {
      performance.mark("desk-bench-window");
      return performance.now();
    });

    // Customers write; the agent switches conversation.
    const total = Math.round(cfg.seconds * cfg.rate);
    const period = 1000 / cfg.rate;
    const start = Date.now();
    const endAt = start + total * period;
    let failed = 0;
    const ok = [];
    const send = async (i) => {
      const v = cfg.visitors[i % n];
      const content = `[m${i}@${Date.now()}] ${LINES[i % LINES.length]}`;
      try {
        const res = await fetch(`${cfg.sb}/chat/threads/${encodeURIComponent(v.threadId)}/messages?${CHAT}`, {
          method: "POST", headers: { Authorization: `Bearer ${v.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ content, type: "text", senderDisplayName: v.name }),
        });
        await res.text();
        if (res.status === 201) ok.push(i);
        else failed++;
      } catch {
        failed++;
      }
    };
    let switches = 0;
    const switcher = (async () => {
      // A stride coprime with 20 visits every conversation, out of order.
      for (let k = 1; ; k++) {
        await sleep(cfg.switchEveryMs);
        if (Date.now() >= endAt) return;
        await page.locator(`button.conv[data-engagement="${ids[(k * 7) % ids.length]}"]`).click();
        switches++;
      }
    })();
    const sends = [];
    for (let i = 0; i < total; i++) {
      await sleep(start + i * period - Date.now());
      sends.push(send(i));
    }
    await Promise.all(sends);
    await switcher;
    console.log(`sent ${ok.length} of ${total} messages in ${Date.now() - start} ms (${failed} failed), ${switches} switches`);
    await page.waitForFunction((k) => Object.keys(window.__bench.seen).length >= k, ok.length, { timeout: 30000 }).catch(() => {
      console.log("not every message reached the page within 30 s");
    });
    await sleep(500);
    const t1 = await page.evaluate(() => performance.now());
    await browser.stopTracing();
    const trace = readTrace(traceFile);
    if (!TRACE) rmSync(traceFile, { force: true });
    if (cdp) profiled("the window", (await cdp.send("Profiler.stop")).profile, `${PROFILE}-window.cpuprofile`);
    const bench = await page.evaluate(() => window.__bench);

    // Every conversation to the front: its log holds its customer's
    // messages, each once.
    const byName = new Map(cfg.visitors.map((v, i) => [v.name, i]));
    const found = new Set();
    let duplicated = 0;
    let misplaced = 0;
    for (const id of ids) {
      await page.locator(`button.conv[data-engagement="${id}"]`).click();
      const pane = page.locator(`section.conversation[data-engagement="${id}"]`);
      await pane.waitFor();
      const name = (await pane.locator("h2").first().textContent()).trim();
      const seqs = await pane.locator(".log .msg .text").evaluateAll((ts) =>
        ts.map((t) => /^\[m(\d+)@/.exec(t.textContent || "")).filter(Boolean).map((m) => Number(m[1])));
      const who = byName.get(name);
      for (const s of seqs) {
        if (found.has(s)) duplicated++;
        found.add(s);
        if (s % n !== who) misplaced++;
      }
    }
    const lost = ok.filter((i) => !found.has(i)).sort((a, b) => a - b);
    if (misplaced) console.log(`${misplaced} messages in another customer's conversation`);

    // Figures: the window is [t0, t1] in page time.
    const inWindow = (e) => e.start >= t0 && e.start <= t1;
    const steady = bench.long.filter(inWindow).filter((e) => e.dur > 50);
    const loading = bench.long.filter((e) => e.start < t0 && e.dur > 50);
    const seen = Object.values(bench.seen);
    const dom = seen.map((s) => s.dom - s.sent).sort((a, b) => a - b);
    const frame = seen.filter((s) => s.frame).map((s) => s.frame - s.sent).sort((a, b) => a - b);
    if (bench.error) console.log(bench.error);
    // Time in the synchronous calls, and the share of each long task.
    const syncIn = (e) => bench.sync.filter((c) => c.start >= e.start && c.start <= e.start + e.dur).reduce((a, c) => a + c.dur, 0);
    const reads = bench.sync.filter((c) => c.what === "Notification.permission" && c.start >= t0 && c.start <= t1).map((c) => c.dur).sort((a, b) => a - b);
    console.log(`Notification.permission read ${reads.length} times in the window: p50 ${round(quantile(reads, 0.5))} ms, p99 ${round(quantile(reads, 0.99))} ms, longest ${round(quantile(reads, 1))} ms, ${round(reads.reduce((a, c) => a + c, 0))} ms in all, ${reads.filter((d) => d > 50).length} over 50 ms`);
    for (const c of bench.sync.filter((c) => c.what !== "Notification.permission")) console.log(`${c.what}: ${round(c.dur)} ms`);
    const withSync = steady.filter((e) => syncIn(e) > 0);
    console.log(`long tasks in the window: ${steady.length}; ${withSync.length} of them spent ${round(withSync.reduce((a, e) => a + syncIn(e), 0))} of their ${round(withSync.reduce((a, e) => a + e.dur, 0))} ms in those calls`);
    const clickNear = (e) => bench.clicks.some((c) => c >= e.start - 5 && c <= e.start + e.dur);
    for (const e of steady.sort((a, b) => b.dur - a.dur).slice(0, 10)) {
      const inSync = syncIn(e);
      console.log(`long task at +${round((e.start - t0) / 1000)} s: ${round(e.dur)} ms${clickNear(e) ? " (a conversation switch)" : ""}${inSync ? `, ${round(inSync)} ms of it in synchronous calls to the browser` : ""}`);
    }
    for (const e of loading.sort((a, b) => b.dur - a.dur).slice(0, 5)) {
      const inSync = syncIn(e);
      const when = clickNear(e) ? "the sign-in click" : e.start < (bench.clicks[0] ?? Infinity) ? "before sign-in" : "after sign-in";
      console.log(`long task while loading, ${round(e.start)} ms after the page opened (${when}): ${round(e.dur)} ms${inSync ? `, ${round(inSync)} ms of it in synchronous calls to the browser` : ""}`);
    }
    // Long animation frames name the scripts that ran in them.
    for (const f of bench.loaf.filter(inWindow).filter((f) => f.dur > 50).sort((a, b) => b.dur - a.dur).slice(0, 5)) {
      const scripts = f.scripts.map((s) => `${s.type} ${s.invoker} ${s.fn || "?"}@${(s.src || "").split("/").pop()}:${s.pos} ${round(s.dur)} ms (forced layout ${round(s.forced)} ms)`);
      console.log(`long frame at +${round((f.start - t0) / 1000)} s: ${round(f.dur)} ms, blocking ${round(f.blocking)} ms, style+layout from +${round(f.styleAndLayoutStart - f.start)} ms; ${scripts.join("; ") || "no script"}`);
    }
    // The same from the trace, with each task's CPU time.
    const windowTasks = trace.tasks.filter((e) => e.ts >= trace.mark);
    const loadTasks = trace.tasks.filter((e) => e.ts < trace.mark);
    const cpu = (e) => (e.tdur || 0) / 1000;
    const wall = (e) => e.dur / 1000;
    const at = (e) => `+${round((e.ts - trace.mark) / 1e6)} s`;
    const traced = windowTasks.filter((e) => wall(e) > 50).sort((a, b) => b.dur - a.dur);
    console.log(`trace: ${windowTasks.length} tasks in the window, ${traced.length} over 50 ms wall: ${traced.slice(0, 12).map((e) => `${at(e)} ${round(wall(e))} ms (CPU ${round(cpu(e))})`).join(", ") || "none"}`);
    const heavy = [...windowTasks].sort((a, b) => (b.tdur || 0) - (a.tdur || 0)).slice(0, 5);
    console.log(`trace: most CPU in a task in the window: ${heavy.map((e) => `${at(e)} ${round(cpu(e))} ms (wall ${round(wall(e))})`).join(", ")}`);
    const heavyLoad = [...loadTasks].sort((a, b) => (b.tdur || 0) - (a.tdur || 0)).slice(0, 3);
    const longLoad = loadTasks.filter((e) => wall(e) > 50).sort((a, b) => b.dur - a.dur);
    console.log(`trace: while loading, ${longLoad.length} tasks over 50 ms wall: ${longLoad.slice(0, 6).map((e) => `${round(wall(e))} ms (CPU ${round(cpu(e))})`).join(", ") || "none"}; most CPU in a task: ${heavyLoad.map((e) => `${round(cpu(e))} ms (wall ${round(wall(e))})`).join(", ")}`);
    if (TRACE) summarizeTrace(trace);

    const result = {
      conversations: ids.length, sent: ok.length, sendFailed: failed, seen: seen.length, inDOM: found.size,
      lost, duplicated: duplicated + misplaced, switches,
      longTasks: steady.length, longestTaskMs: round(Math.max(0, ...steady.map((e) => e.dur))),
      loadLongTasks: loading.length, loadLongestTaskMs: round(Math.max(0, ...loading.map((e) => e.dur))),
      cpuLongestTaskMs: round(Math.max(0, ...windowTasks.map(cpu))), cpuLongTasks: windowTasks.filter((e) => cpu(e) > 50).length,
      loadCpuLongestTaskMs: round(Math.max(0, ...loadTasks.map(cpu))),
      domP50Ms: quantile(dom, 0.5), domP99Ms: quantile(dom, 0.99), domMaxMs: quantile(dom, 1), frameP99Ms: quantile(frame, 0.99),
    };
    console.log("RESULT " + JSON.stringify(result));
  } finally {
    await browser.close();
  }
}

// readTrace finds the page's main thread (where the window's mark is) and
// its tasks: the outermost RunTask events (they nest), each with the
// microtask checkpoint that follows it (a sibling event in the trace, part
// of the task for the long task API: promise continuations run there).
function readTrace(file) {
  const events = JSON.parse(readFileSync(file, "utf8")).traceEvents || [];
  const mark = events.find((e) => e.name === "desk-bench-window");
  if (!mark) throw new Error("the trace has no desk-bench-window mark");
  const main = `${mark.pid}:${mark.tid}`;
  const mine = events.filter((e) => `${e.pid}:${e.tid}` === main && e.ph === "X" && typeof e.dur === "number").sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const tasks = [];
  for (const e of mine) {
    const checkpoint = e.name === "BlinkScheduler_PerformMicrotaskCheckpoint";
    if (e.name !== "RunTask" && e.name !== "ThreadControllerImpl::RunTask" && !checkpoint) continue;
    const last = tasks[tasks.length - 1];
    if (last && e.ts < last.ts + last.dur) continue; // nested
    if (checkpoint && last && e.ts - (last.ts + last.dur) < 500) {
      last.dur = e.ts + e.dur - last.ts;
      last.tdur = (last.tdur || 0) + (e.tdur || 0);
      continue;
    }
    tasks.push({ ...e });
  }
  return { mark: mark.ts, mine, tasks };
}

// summarizeTrace prints, for each task over 50 ms on the page's main
// thread, its wall and CPU time and where its time went (self time by
// event name; JS shows as FunctionCall with the script).
function summarizeTrace({ mark, mine, tasks }) {
  const long = tasks.filter((e) => e.dur > 50000);
  for (const task of long.sort((a, b) => b.dur - a.dur).slice(0, 12)) {
    const inner = mine.filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur);
    // Self time: each event's duration minus its direct children's.
    const self = new Map();
    const stack = [];
    const fns = [];
    for (const e of inner) {
      while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
      if (stack.length) stack[stack.length - 1].child += e.dur;
      const node = { ...e, child: 0 };
      stack.push(node);
      fns.push(node);
      if (e.name === "FunctionCall" || e.name === "TimerFire" || e.name === "EventDispatch") node.what = e.args?.data;
    }
    for (const f of fns) self.set(f.name, (self.get(f.name) || 0) + f.dur - f.child);
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${round(v / 1000)}`).join(", ");
    const calls = fns.filter((f) => f.name === "FunctionCall" && f.dur > 5000).map((f) => `${f.what?.functionName || "?"}@${(f.what?.url || "").split("/").pop()}:${f.what?.lineNumber}:${f.what?.columnNumber} ${round(f.dur / 1000)} ms`);
    const events = fns.filter((f) => f.name === "EventDispatch" && f.dur > 5000).map((f) => `${f.what?.type} ${round(f.dur / 1000)} ms`);
    const when = task.ts < mark ? "while loading" : `at +${round((task.ts - mark) / 1e6)} s`;
    console.log(`trace task ${when}: ${round(task.dur / 1000)} ms wall, ${round((task.tdur || 0) / 1000)} ms CPU: ${top}${calls.length ? "; calls: " + calls.join(", ") : ""}${events.length ? "; events: " + events.join(", ") : ""}`);
  }
}

// unminifiedDesk bundles web/desk as build.mjs does, without minifying,
// so profiles name the desk's functions.
async function unminifiedDesk() {
  const { build } = createRequire(new URL("../web/package.json", import.meta.url))("esbuild");
  const desk = fileURLToPath(new URL("../web/desk/", import.meta.url));
  const i18n = {
    name: "sb-i18n",
    setup(b) {
      b.onResolve({ filter: /^sb:i18n$/ }, () => ({ path: "i18n", namespace: "sb-i18n" }));
      b.onLoad({ filter: /.*/, namespace: "sb-i18n" }, () => {
        const all = {};
        for (const f of readdirSync(join(desk, "i18n")).filter((f) => f.endsWith(".json")).sort()) {
          all[f.slice(0, -5).toLowerCase()] = JSON.parse(readFileSync(join(desk, "i18n", f), "utf8"));
        }
        return { contents: JSON.stringify(all), loader: "json" };
      });
    },
  };
  const out = await build({ entryPoints: [join(desk, "index.js")], bundle: true, write: false, format: "iife", target: ["es2020"],
    charset: "utf8", legalComments: "none", logLevel: "warning", plugins: [i18n] });
  return out.outputFiles[0].text;
}

// profiled saves a V8 CPU profile and prints its sampled time and the
// functions with the most self and total time.
function profiled(what, profile, file) {
  writeFileSync(file, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const key = (n) => {
    const f = n.callFrame;
    return `${f.functionName || "(anonymous)"}${f.url ? ` ${f.url.split("/").pop()}:${f.lineNumber + 1}` : ""}`;
  };
  const self = new Map();
  const total = new Map();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const n = byId.get(profile.samples[i]);
    const k = key(n);
    if (k === "(idle)" || k === "(root)") continue;
    busy += dt;
    self.set(k, (self.get(k) || 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id));
      if (seen.has(kk) || kk === "(root)") continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) || 0) + dt);
    }
  }
  const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${k} ${round(v)}`).join("; ");
  console.log(`profile of ${what}: ${round(busy)} ms busy (${file})`);
  console.log(`  self ms: ${top(self)}`);
  console.log(`  total ms: ${top(total)}`);
}

await main();
