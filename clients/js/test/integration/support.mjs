// Shared helpers of the integration scripts. They run against a real chat example server whose base
// URL (http://host:port/) is in env RUNLANE_URL; each script prints "OK <name> …" and exits 0, or
// prints what went wrong and exits 1. Started by examples/chat-server's JsClientIntegrationTest.
import { RunlaneClient, memoryStorage } from '../../src/runlane-client.js';

export const BASE = process.env.RUNLANE_URL;
if (!BASE) {
  console.error('set RUNLANE_URL to the chat example, e.g. http://localhost:8080/');
  process.exit(2);
}
export const WS_URL = BASE.replace(/^http/, 'ws').replace(/\/?$/, '/ws');

if (typeof globalThis.WebSocket !== 'function') {
  console.error('no global WebSocket: run with node --experimental-websocket (Node 20) or Node 22+');
  process.exit(2);
}

/** Every socket any client opened, so a script can drop them like a flaky network would. */
export const sockets = [];
export class TrackedWebSocket extends globalThis.WebSocket {
  constructor(url) {
    super(url);
    sockets.push(this);
  }
}

export async function ticketFor(name) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await fetch(new URL('api/ticket', BASE), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'name=' + encodeURIComponent(name),
    });
    if (res.ok) return res.json();
    if (res.status !== 503) throw new Error('ticket for ' + name + ': HTTP ' + res.status);
    await sleep(50);
  }
  throw new Error('ticket for ' + name + ': still 503');
}

/** A client of user `name`, with fast backoff, recording every event of every subscription. */
export function client(name, options = {}) {
  const sockets = [];
  const c = new RunlaneClient({
    url: WS_URL,
    getTicket: () => ticketFor(name),
    WebSocket: class extends TrackedWebSocket {
      constructor(url) {
        super(url);
        sockets.push(this);
      }
    },
    storage: options.storage || memoryStorage(),
    backoff: { initialMs: 50, maxMs: 1000, jitter: 0.5 },
    onHandlerError: (e) => { console.error(name + ': handler threw', e); process.exitCode = 1; },
    ...options.client,
  });
  c.userName = name;
  c.sockets = sockets;
  c.errors = [];
  c.on('error', (e) => c.errors.push(e));
  return c;
}

/** Subscribes and records everything as arrays per event name. */
export function follow(c, sessionId) {
  const log = { events: [], ends: [], truncated: [], epochChanged: [], unknownRun: [], finished: [],
    approvalRequested: [], approvalResolved: [], errors: [], subscribed: [] };
  const sub = c.subscribe(sessionId, {
    event: (e) => log.events.push(e),
    end: (e) => log.ends.push(e),
    truncated: (t) => log.truncated.push(t),
    epochChanged: (x) => log.epochChanged.push(x),
    unknownRun: (u) => log.unknownRun.push(u),
    finished: (f) => log.finished.push(f),
    approvalRequested: (a) => log.approvalRequested.push(a),
    approvalResolved: (r) => log.approvalResolved.push(r),
    subscribed: (a) => log.subscribed.push(a),
    error: (e) => log.errors.push(e),
  });
  log.sub = sub;
  log.of = (runId) => log.events.filter((e) => e.runId === runId);
  log.text = (runId) => log.of(runId).filter((e) => e.type === 'delta').map((e) => e.data.text).join('');
  return log;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(cond, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for: ' + what);
    await sleep(10);
  }
}

export function check(cond, message) {
  if (!cond) throw new Error('check failed: ' + (typeof message === 'function' ? message() : message));
}

/** The seqs of the events must be exactly from..to, each once. */
export function checkContiguous(events, from, to, who) {
  const seqs = events.map((e) => e.seq);
  const expected = [];
  for (let s = from; s <= to; s++) expected.push(s);
  check(JSON.stringify(seqs) === JSON.stringify(expected),
    () => who + ': seqs ' + compact(seqs) + ', expected ' + from + '..' + to);
}

function compact(seqs) {
  return seqs.length > 40 ? seqs.slice(0, 20).join(',') + ',…,' + seqs.slice(-20).join(',') : seqs.join(',');
}

/** Runs a script body: prints OK or the failure, closes clients, sets the exit code. */
export async function run(name, body) {
  const clients = [];
  const watchdog = setTimeout(() => {
    console.error('FAIL ' + name + ': the script did not finish in 120 s');
    process.exit(1);
  }, 120000);
  try {
    const summary = await body(clients);
    console.log('OK ' + name + (summary ? ' ' + summary : ''));
    if (process.exitCode === undefined) process.exitCode = 0;
  } catch (e) {
    console.error('FAIL ' + name + ': ' + (e && e.stack || e));
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    for (const c of clients) c.close();
    setTimeout(() => process.exit(process.exitCode), 200).unref();
  }
}

export { memoryStorage };
