// Test doubles for the client's unit tests: a scripted WebSocket and a manual clock.

/** A manual clock: timers run only when the test advances time. */
export class FakeClock {
  constructor() {
    this.now = 0;
    this.timers = new Map();
    this.nextId = 1;
  }

  get api() {
    return {
      setTimeout: (fn, ms) => {
        const id = this.nextId++;
        this.timers.set(id, { at: this.now + Math.max(0, ms | 0), fn, id });
        return id;
      },
      clearTimeout: (id) => {
        this.timers.delete(id);
      },
    };
  }

  /** Runs every timer due within `ms`, in time order, then sets the clock. */
  advance(ms) {
    const end = this.now + ms;
    for (let guard = 0; guard < 100000; guard++) {
      let next = null;
      for (const t of this.timers.values()) {
        if (t.at <= end && (next === null || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }

  /** The delays of the timers pending now, sorted. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }
}

/** A WebSocket whose server side the test plays. Every instance is recorded in `FakeWebSocket.all`. */
export class FakeWebSocket {
  static all = [];

  static reset() {
    FakeWebSocket.all = [];
  }

  static last() {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1];
  }

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    FakeWebSocket.all.push(this);
  }

  get query() {
    return new URL(this.url).searchParams;
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // ---- the server's side

  open() {
    this.readyState = 1;
  }

  receive(frame) {
    if (this.onmessage) this.onmessage({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  drop(code = 1006, reason = '') {
    this.readyState = 3;
    if (this.onclose) this.onclose({ code, reason });
  }

  /** Commands of one type the client sent on this socket. */
  commands(type) {
    return this.sent.filter((m) => m.type === type);
  }
}

/** Lets pending promise callbacks (ticket fetches) run. */
export function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}

export const EPOCH = 'e1';

export function welcome(extra = {}) {
  return { kind: 'welcome', connectionId: 'c1', generation: 1, serverEpoch: 'srv1', streamTransport: false, ...extra };
}

export function ev(seq, type = 'delta', data = { text: 't' + seq }, extra = {}) {
  return { kind: 'run_event', runId: 'r1', sessionId: 's', seq, epoch: EPOCH, type, data, ...extra };
}

export function outcome(state = 'COMPLETED', extra = {}) {
  return {
    runId: 'r1', sessionId: 's', epoch: EPOCH, owner: 'alice', state, failureReason: null,
    exitCode: state === 'COMPLETED' ? 0 : 130, message: null, result: null, terminalSeq: 10, abortedBy: null, ...extra,
  };
}

export function ack(ref, extra = {}) {
  return {
    kind: 'subscribed', ref, sessionId: 's', runId: 'r1', epoch: EPOCH, status: 'EXACT', processing: true,
    headSeq: 0, oldestSeq: 1, replayFrom: 1, replayTo: 0, truncated: false, following: true,
    requestedLastSeq: 0, pendingApprovals: [], outcome: null, ...extra,
  };
}

/**
 * An EventSource whose server side the test plays (the SSE flavour). Every instance is recorded in
 * `FakeEventSource.all`. `interrupt()` is a dropped stream the browser re-opens by itself (the same
 * object, readyState CONNECTING, `lastEventId` kept); `fail()` is the browser giving up.
 */
export class FakeEventSource {
  static all = [];

  static reset() {
    FakeEventSource.all = [];
  }

  static last() {
    return FakeEventSource.all[FakeEventSource.all.length - 1];
  }

  constructor(url, init) {
    this.url = url;
    this.init = init;
    this.readyState = 0;
    this.listeners = new Map();
    this.onmessage = null;
    this.onerror = null;
    this.closed = false;
    this.lastEventId = '';
    this.opens = 1; // how many times the browser opened this stream
    FakeEventSource.all.push(this);
  }

  addEventListener(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, []);
    this.listeners.get(name).push(fn);
  }

  close() {
    this.closed = true;
    this.readyState = 2;
  }

  // ---- the server's (and the browser's) side

  /** The stream opened: its first event names the token. */
  open(token) {
    this.readyState = 1;
    this.named('runlane.stream', token);
  }

  named(name, data) {
    if (this.closed) return;
    for (const fn of this.listeners.get(name) || []) fn({ data, lastEventId: this.lastEventId });
  }

  /** One frame as an unnamed event; run events carry an id as JsonSseEvents writes it. */
  receive(frame, id) {
    if (this.closed) return;
    if (id) this.lastEventId = id;
    const data = typeof frame === 'string' ? frame : JSON.stringify(frame);
    if (this.onmessage) this.onmessage({ data, lastEventId: this.lastEventId });
  }

  /** A network drop: the browser reconnects by itself (then `open(newToken)` again). */
  interrupt() {
    this.readyState = 0;
    this.opens++;
    if (this.onerror) this.onerror({});
  }

  /** The browser gives up (e.g. the server answered 401): CLOSED, no more reconnects. */
  fail() {
    this.readyState = 2;
    this.closed = true;
    if (this.onerror) this.onerror({});
  }
}

/**
 * A fetch recording every POST as {url, body, query}; the test resolves each with `answer(status)`
 * (or they resolve at once with 202 when `auto` is set).
 */
export function fakeFetch({ auto = true } = {}) {
  const posts = [];
  const f = (url, init) => new Promise((resolve, reject) => {
    const post = {
      url, body: init.body, method: init.method, query: new URL(url).searchParams,
      answer: (status = 202) => resolve({ ok: status >= 200 && status < 300, status }),
      fail: () => reject(new TypeError('network')),
    };
    posts.push(post);
    if (auto) post.answer(202);
  });
  f.posts = posts;
  /** The commands (parsed) POSTed to a stream token, in order. */
  f.commands = (token, type) => posts
    .filter((p) => p.query.get('stream') === token && !p.query.has('close'))
    .map((p) => JSON.parse(p.body))
    .filter((m) => !type || m.type === type);
  return f;
}

/** The SSE id JsonSseEvents gives a run event. */
export function sseId(m) {
  return encodeURIComponent(m.sessionId) + ' ' + encodeURIComponent(m.epoch) + ' ' + m.seq;
}
