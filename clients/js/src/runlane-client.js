// Runlane JavaScript client: one dependency-free ES module for browsers and Node >= 20.
//
// It speaks the JSON protocol of runlane-protocol-json (docs/reference/protocol.md) and owns what
// every application would otherwise hand-write: tickets, reconnect with backoff and jitter, the
// per-run resume position (runId, epoch, lastSeq) persisted across reloads, de-duplication by seq,
// typed resume outcomes, exactly one end per run, approvals, keepalive and the paired stream socket.
//
// Two transports carry the same protocol behind the same API: a WebSocket (the default), or
// Server-Sent Events (`transport: 'sse'`, runlane-transport-sse): an EventSource receives every
// frame and commands go up as POSTs tied to the stream, so it runs where only plain HTTP gets through.
//
// The client conformance checklist (docs/reference/client-conformance.md) names the test of each rule.
//
// Protocols (docs/reference/protocol.md): after the welcome the client says
// {"type":"hello","protocol":2} (`protocol: 3` asks for joined messages too; `1` sends no hello) and
// the server grants the lower of that and its own newest. 2 is the default because joining, measured
// on the wire harness, cost the server more CPU per event at full rate than it saved
// (docs/benchmarks.md, "Joined messages (protocol 3)").
// - Protocol 2: the server may send a host run event as the array [runId, seq, type, data]. The
//   client accepts both forms at any time and turns the array back into the same event object, with
//   the session and epoch it learned from the run's subscribe ack, run.started or terminal event.
// - Protocol 3: protocol 2, and a WebSocket text message may carry several messages joined by "\n"
//   (a backlog in one frame). The client splits every WebSocket text message at "\n" and handles the
//   parts in order, exactly as if each had arrived alone. Never over SSE, never in binary frames.
// A server that knows only 2 grants 2 (nothing is ever joined); one that does not know hello refuses
// it, and the client stays on 1.

const TERMINAL = { 'run.completed': 'completed', 'run.aborted': 'aborted', 'run.failed': 'failed' };
const NO_RECONNECT_CODES = new Set([1000, 4401]);
const MAX_RUNS_PER_SESSION = 8;
const MAX_REMEMBERED_APPROVALS = 1024;
const MAX_MAPPED_RUNS = 4096;
const FORMAT = 1;
/** The newest wire protocol this client speaks (docs/reference/protocol.md, "Protocol 3"). */
export const MAX_PROTOCOL = 3;
/** The protocol asked for unless `options.protocol` says otherwise: compact events, no joining. */
export const DEFAULT_PROTOCOL = 2;

/** An error with a stable code: a server refusal (`protocol_error`) or a client condition. */
export class RunlaneError extends Error {
  /**
   * @param {string} code e.g. RUN_IN_PROGRESS, FORBIDDEN, DISCONNECTED, CLOSED, OFFLINE
   * @param {string} message
   * @param {{sessionId?: string|null, ref?: string|null}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(code + ': ' + message);
    this.name = 'RunlaneError';
    this.code = code;
    this.sessionId = extra.sessionId ?? null;
    this.ref = extra.ref ?? null;
  }
}

/** A Web Storage compatible store kept in memory (the default where sessionStorage is missing). */
export function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => { m.set(k, String(v)); },
    removeItem: (k) => { m.delete(k); },
  };
}

/**
 * A ticket provider that POSTs a form to the host's ticket endpoint and reads `{ticket}` from its
 * JSON answer (the chat example's `POST /api/ticket`).
 * @param {string} url
 * @param {{body?: Record<string,string>, headers?: Record<string,string>, fetch?: typeof fetch, credentials?: string}} [options]
 */
export function httpTicketProvider(url, options = {}) {
  const doFetch = options.fetch || globalThis.fetch;
  return async () => {
    const res = await doFetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(options.headers || {}) },
      body: new URLSearchParams(options.body || {}).toString(),
      credentials: options.credentials || 'same-origin',
    });
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok || !body || typeof body.ticket !== 'string') {
      throw new RunlaneError('TICKET', (body && body.error) || 'the ticket endpoint answered HTTP ' + res.status);
    }
    return body;
  };
}

function defaultStorage() {
  try {
    const s = globalThis.sessionStorage;
    if (s) {
      const probe = '__runlane_probe__';
      s.setItem(probe, '1');
      s.removeItem(probe);
      return s;
    }
  } catch (e) {
    // disabled or full: fall back to memory
  }
  return memoryStorage();
}

function defaultUrl(sse) {
  const loc = globalThis.location;
  if (!loc || !loc.host) {
    throw new TypeError('RunlaneClient needs options.url outside a browser page');
  }
  if (sse) return loc.protocol + '//' + loc.host + '/runlane/sse';
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
}

/**
 * One Server-Sent Events stream of runlane-transport-sse, shaped like the WebSocket the client
 * drives (readyState, send, close, onmessage, onclose), plus `onreconnecting`.
 *
 * - Down: `GET url` as an EventSource. Its first event, `runlane.stream`, names the stream token;
 *   every unnamed event is one frame. `runlane.close` (data `<code> <reason>`) is the server's close.
 * - Up: each frame is `POST url?stream=<token>`, one at a time in order (concurrent requests could
 *   overtake each other on separate HTTP connections, and the server applies commands in arrival order).
 * - A dropped stream is re-opened by the browser itself with `Last-Event-ID`; the server resumes that
 *   session from it on a new connection, which announces itself with a new token and a new welcome.
 *   The adapter reports the drop through `onreconnecting` and stays the same object. When the browser
 *   gives up (a non-200 answer), it reports a close (1006), and the client reconnects on its own.
 */
class SseSocket {
  constructor(url, opts) {
    this.url = url;
    this.readyState = 0;
    this.token = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    this.onreconnecting = null;
    this.onrefused = null;
    this._fetch = opts.fetch;
    this._credentials = opts.credentials;
    this._chain = Promise.resolve();
    const es = new opts.EventSource(url, { withCredentials: !!opts.withCredentials });
    this._es = es;
    es.addEventListener('runlane.stream', (ev) => {
      // the first event of every stream, the browser's re-opened ones included: frames follow
      if (this.readyState === 3) return;
      this.token = String(ev.data);
      this.readyState = 1;
    });
    es.addEventListener('runlane.close', (ev) => {
      const text = String(ev.data || '');
      const sp = text.indexOf(' ');
      const code = parseInt(sp < 0 ? text : text.slice(0, sp), 10);
      this._closed(Number.isFinite(code) ? code : 1006, sp < 0 ? '' : text.slice(sp + 1));
    });
    es.onmessage = (ev) => {
      if (this.readyState === 1 && this.onmessage) this.onmessage({ data: ev.data });
    };
    es.onerror = () => {
      if (this.readyState === 3) return;
      if (es.readyState === 2) {
        this._closed(1006, 'stream failed'); // the browser gave up (e.g. an HTTP error answer)
      } else if (this.readyState === 1) {
        // the browser reconnects by itself, with Last-Event-ID
        this.readyState = 0;
        this.token = null;
        if (this.onreconnecting) this.onreconnecting();
      }
    };
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('the stream is not open');
    const token = this.token;
    const target = withQuery(this.url, { stream: token });
    this._chain = this._chain.then(() => this._post(target, data).then((res) => {
      if (res.ok || token !== this.token || this.readyState !== 1) return;
      if (res.status === 404) {
        // the server no longer knows the stream: it ended; the EventSource notices soon, or never
        this._es.close();
        this._closed(1006, 'stream gone');
      } else if (this.onrefused) {
        this.onrefused({ status: res.status, data });
      }
    }, () => {
      if (token === this.token && this.readyState === 1 && this.onrefused) this.onrefused({ status: 0, data });
    }));
  }

  close(code, reason) {
    if (this.readyState === 3) return;
    const token = this.token;
    this.readyState = 3;
    this._es.close();
    if (token) {
      // tell the server at once (best effort) instead of waiting for its next keep-alive to fail
      this._post(withQuery(this.url, { stream: token, close: code || 1000 }), reason || '').catch(noop);
    }
  }

  _post(url, body) {
    return this._fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body,
      credentials: this._credentials,
    });
  }

  _closed(code, reason) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this._es.close(); // no automatic reconnect after the server's close
    if (this.onclose) this.onclose({ code, reason });
  }
}

function withQuery(url, params) {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(String(v)))
    .join('&');
  if (!q) return url;
  return url + (url.includes('?') ? '&' : '?') + q;
}

function noop() {}

/** A tiny event emitter: `on` returns the function that removes the listener. */
class Emitter {
  constructor(report) {
    this._listeners = new Map();
    this._report = report;
  }

  on(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let set = this._listeners.get(name);
    if (!set) this._listeners.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  off(name, fn) {
    const set = this._listeners.get(name);
    if (set) set.delete(fn);
  }

  _emit(name, arg) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (e) {
        // a throwing handler must never break the client's bookkeeping
        this._report(e, name);
      }
    }
  }
}

/**
 * One followed session: its runs' resume positions (persisted), its handlers and its approvals.
 * Created by {@link RunlaneClient#subscribe}.
 */
export class Subscription extends Emitter {
  constructor(client, sessionId, handlers, options) {
    super(client._reportHandlerError);
    this.client = client;
    this.sessionId = sessionId;
    this.options = options;
    /** 'pending' | 'subscribed' | 'refused' | 'unsubscribed' */
    this.state = 'pending';
    /** @type {Map<string, any>} runId -> {runId, epoch, lastSeq, ended, lost} in creation order */
    this.runs = new Map();
    /** @type {Map<string, any>} approvalId -> approval, pending only */
    this.approvals = new Map();
    this._data = null;
    this._load();
    for (const [name, fn] of Object.entries(handlers || {})) {
      if (typeof fn === 'function') this.on(name, fn);
    }
  }

  /** The application's own state for this session, persisted in the same write as the positions. */
  get data() {
    return this._data;
  }

  set data(value) {
    this._data = value;
    this._save();
  }

  /** The resume position of a run, or of the newest run when runId is omitted. */
  position(runId) {
    const r = runId ? this.runs.get(runId) : this._latest();
    return r ? { ...r } : null;
  }

  /** The approvals of this session still waiting for an answer. */
  pendingApprovals() {
    return [...this.approvals.values()];
  }

  /** Starts a run in this session; see {@link RunlaneClient#send}. */
  send(text) {
    return this.client.send(this.sessionId, text);
  }

  /** Aborts this session's running run; see {@link RunlaneClient#abort}. */
  abort(runId) {
    return this.client.abort(this.sessionId, runId);
  }

  /** Stops following the session. With `{forget: true}` its stored positions are dropped too. */
  unsubscribe(options = {}) {
    this.client._unsubscribe(this, !!options.forget);
  }

  // ---------------------------------------------------------------- storage

  _key() {
    return this.client._storageKey + ':s:' + this.sessionId;
  }

  _load() {
    let raw = null;
    try {
      raw = this.client._storage.getItem(this._key());
    } catch (e) {
      raw = null;
    }
    if (!raw) return;
    try {
      const s = JSON.parse(raw);
      if (!s || s.v !== FORMAT || !Array.isArray(s.runs)) return;
      for (const r of s.runs) {
        if (r && typeof r.runId === 'string' && Number.isSafeInteger(r.lastSeq) && r.lastSeq >= 0) {
          this.runs.set(r.runId, {
            runId: r.runId,
            epoch: typeof r.epoch === 'string' ? r.epoch : null,
            lastSeq: r.lastSeq,
            ended: !!r.ended,
            lost: !!r.lost,
          });
        }
      }
      this._data = s.data === undefined ? null : s.data;
    } catch (e) {
      // unreadable: start over
    }
  }

  _save() {
    if (this.state === 'unsubscribed' && this._forgotten) return;
    const runs = [...this.runs.values()];
    while (runs.length > MAX_RUNS_PER_SESSION) {
      const i = runs.findIndex((r) => r.ended || r.lost);
      const drop = runs.splice(i >= 0 ? i : 0, 1)[0];
      this.runs.delete(drop.runId);
    }
    try {
      this.client._storage.setItem(this._key(), JSON.stringify({ v: FORMAT, runs, data: this._data }));
    } catch (e) {
      // storage full or disabled: the session still works, a reload just resumes less exactly
    }
  }

  _latest() {
    let last = null;
    for (const r of this.runs.values()) last = r;
    return last;
  }

  _run(runId, epoch) {
    let r = this.runs.get(runId);
    if (!r) {
      r = { runId, epoch, lastSeq: 0, ended: false, lost: false };
      this.runs.set(runId, r);
    }
    return r;
  }

  /** The subscribe targets that resume this session exactly (one command each). */
  _targets() {
    const targets = [];
    const latest = this._latest();
    // finish every run that was still running, even if a newer one has started since
    for (const r of this.runs.values()) {
      if (!r.ended && !r.lost) {
        targets.push({ sessionId: this.sessionId, runId: r.runId, lastSeq: r.lastSeq, epoch: r.epoch, _run: r.runId });
      }
    }
    // then follow the session from the newest run's position
    if (latest && !latest.lost) {
      targets.push({ sessionId: this.sessionId, lastSeq: latest.lastSeq, epoch: latest.epoch, _run: latest.runId });
    } else {
      targets.push({ sessionId: this.sessionId, lastSeq: 0, _run: null });
    }
    return targets;
  }
}

/**
 * The client: one logical connection (a primary WebSocket and, when offered, a paired stream
 * socket) that reconnects by itself and resumes every subscribed session exactly.
 */
export class RunlaneClient extends Emitter {
  /**
   * @param {import('./runlane-client.d.ts').RunlaneClientOptions} options
   */
  constructor(options = {}) {
    const report = (e, where) => this._onHandlerError(e, where);
    super(report);
    this._reportHandlerError = report;
    const transport = options.transport || 'websocket';
    if (transport !== 'websocket' && transport !== 'sse') {
      throw new TypeError("options.transport must be 'websocket' or 'sse'");
    }
    /** 'websocket' | 'sse' */
    this.transport = transport;
    this._sse = transport === 'sse';
    if (!this._sse && !options.ticket && !options.getTicket) {
      throw new TypeError('RunlaneClient needs options.ticket or options.getTicket');
    }
    this._opts = options;
    this._url = options.url || null;
    this._firstTicket = options.ticket || null;
    this._getTicket = options.getTicket || null;
    if (this._sse) {
      const ES = options.EventSource || globalThis.EventSource;
      const doFetch = options.fetch || (globalThis.fetch && globalThis.fetch.bind(globalThis));
      if (typeof ES !== 'function' || typeof doFetch !== 'function') {
        throw new TypeError('no EventSource or fetch: pass options.EventSource and options.fetch');
      }
      const sseOpts = {
        EventSource: ES, fetch: doFetch,
        withCredentials: !!options.withCredentials,
        credentials: options.withCredentials ? 'include' : 'same-origin',
      };
      this._WS = function SseTransport(url) { return new SseSocket(url, sseOpts); };
    } else {
      this._WS = options.WebSocket || globalThis.WebSocket;
      if (typeof this._WS !== 'function') {
        throw new TypeError('no WebSocket: pass options.WebSocket (Node 20 needs --experimental-websocket for the global one)');
      }
    }
    this._storage = options.storage || defaultStorage();
    this._storageKey = options.storageKey || 'runlane';
    const timers = options.timers || {};
    this._setTimeout = timers.setTimeout || ((f, ms) => setTimeout(f, ms));
    this._clearTimeout = timers.clearTimeout || ((h) => clearTimeout(h));
    this._random = options.random || Math.random;
    const b = options.backoff || {};
    this._backoff = {
      initialMs: b.initialMs ?? 250,
      maxMs: b.maxMs ?? 10000,
      factor: b.factor ?? 2,
      jitter: Math.min(1, Math.max(0, b.jitter ?? 0.5)),
    };
    this._pingMs = options.pingIntervalMs ?? 20000;
    this._serverTimeoutMs = options.serverTimeoutMs ?? 70000;
    this._pairTimeoutMs = options.pairTimeoutMs ?? 5000;
    this._connectTimeoutMs = options.connectTimeoutMs ?? 15000;
    this._useStream = options.streamTransport !== false && !this._sse;
    this._streamUrl = options.streamUrl || null;
    this._takeover = !!options.takeover;
    this._onHandlerErrorOpt = options.onHandlerError || null;
    const protocol = options.protocol ?? DEFAULT_PROTOCOL;
    if (!Number.isSafeInteger(protocol) || protocol < 1) throw new TypeError('options.protocol must be an integer >= 1');
    this._wantProtocol = Math.min(protocol, MAX_PROTOCOL);
    /** The wire protocol of the current connection: 1 until the server grants more with its hello. */
    this.protocol = 1;
    /** runId -> {sessionId, epoch}: what a compact event leaves out, learned from acks and full events. */
    this._runMap = new Map();

    /** 'idle' | 'connecting' | 'open' | 'closed' */
    this.state = 'idle';
    /** @type {Map<string, Subscription>} */
    this.subscriptions = new Map();
    this.serverEpoch = null;
    this.connectionId = null;
    this.stats = { connects: 0, reconnects: 0, duplicatesDropped: 0, eventsApplied: 0, compactEvents: 0, unmappedDropped: 0, malformedDropped: 0 };
    this._conn = null;
    this._attempt = 0;
    this._reconnectTimer = null;
    this._refs = 0;
    /** ref -> {resolve, reject, kind, sessionId, text, approvalId} */
    this._pending = new Map();
    /** ref -> {sub, target} for subscribe commands of the current connection */
    this._subRefs = new Map();
    this._resolvedApprovals = new Set();
    try {
      this.serverEpoch = this._storage.getItem(this._storageKey + ':server');
    } catch (e) {
      this.serverEpoch = null;
    }
    if (options.autoConnect !== false) this.connect();
  }

  // ================================================================ public API

  /** Opens the connection (done by the constructor unless `autoConnect: false`). */
  connect() {
    if (this.state === 'closed') throw new RunlaneError('CLOSED', 'the client was closed');
    if (this._conn || this._reconnectTimer !== null) return;
    this._open();
  }

  /**
   * Follows a session: resumes each of its runs after the last applied seq (stored across
   * reloads), then receives the live stream and later runs.
   * @returns {Subscription}
   */
  subscribe(sessionId, handlers = {}, options = {}) {
    if (typeof sessionId !== 'string' || !sessionId.trim()) throw new TypeError('sessionId must be a non-blank string');
    if (this.state === 'closed') throw new RunlaneError('CLOSED', 'the client was closed');
    const existing = this.subscriptions.get(sessionId);
    if (existing) {
      for (const [name, fn] of Object.entries(handlers || {})) {
        if (typeof fn === 'function') existing.on(name, fn);
      }
      return existing;
    }
    const sub = new Subscription(this, sessionId, handlers, options);
    this.subscriptions.set(sessionId, sub);
    if (this._conn && this._conn.ready) this._sendSubscribe(sub);
    return sub;
  }

  /** The subscription of a session, if any. */
  subscription(sessionId) {
    return this.subscriptions.get(sessionId) || null;
  }

  /**
   * Starts a run in the session with the user's text. Resolves with `{runId}` when the run with
   * this text starts; rejects with a {@link RunlaneError} (RUN_IN_PROGRESS, FORBIDDEN, OFFLINE,
   * DISCONNECTED, …). Never queued or retried: a prompt is sent once or refused.
   */
  send(sessionId, text) {
    if (typeof text !== 'string') throw new TypeError('text must be a string');
    return this._command({ type: 'chat.send', sessionId, content: text }, { kind: 'send', sessionId, text });
  }

  /** Aborts the session's running run (or exactly `runId`). Resolves with the run's end event. */
  abort(sessionId, runId) {
    const msg = { type: 'chat.abort', sessionId };
    if (runId) msg.runId = runId;
    return this._command(msg, { kind: 'abort', sessionId, runId: runId || null });
  }

  /**
   * Answers a pending approval: `decision` is a boolean or `{allow, message}`. Resolves with the
   * `approval_resolved` frame (the first answer wins, so `decision.allow` may differ from yours).
   */
  resolveApproval(approvalId, decision) {
    const d = typeof decision === 'boolean' ? { allow: decision } : decision || {};
    if (typeof d.allow !== 'boolean') throw new TypeError('decision must be a boolean or {allow: boolean, message?}');
    const msg = { type: 'chat.approval', approvalId, allow: d.allow };
    if (typeof d.message === 'string') msg.message = d.message;
    return this._command(msg, { kind: 'approval', approvalId });
  }

  /** Closes the connection for good: no reconnect; pending commands reject with CLOSED. */
  close() {
    if (this.state === 'closed') return;
    this._clearReconnect();
    const c = this._conn;
    this._conn = null;
    if (c) this._teardown(c, 1000, 'client closed');
    this._rejectAll('CLOSED', 'the client was closed');
    this._setState('closed');
  }

  // ================================================================ connection

  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    this._emit('state', s);
  }

  async _ticket() {
    if (this._firstTicket) {
      const t = this._firstTicket;
      this._firstTicket = null;
      return t;
    }
    if (!this._getTicket) {
      // over SSE the stream is authenticated by cookies or the URL (the browser's reconnect reuses both)
      if (this._sse) return null;
      throw new RunlaneError('NO_TICKET', 'the ticket was used; pass getTicket to reconnect');
    }
    const t = await this._getTicket();
    const ticket = typeof t === 'string' ? t : t && t.ticket;
    if (typeof ticket !== 'string' || !ticket) throw new RunlaneError('TICKET', 'getTicket gave no ticket');
    return ticket;
  }

  _baseUrl() {
    if (!this._url) this._url = defaultUrl(this._sse);
    return this._url;
  }

  _primaryUrl(ticket) {
    const u = this._url;
    if (typeof u === 'function') return u(ticket);
    return withQuery(this._baseUrl(), { ticket });
  }

  async _open() {
    this._setState('connecting');
    const conn = {
      ws: null, stream: null, ready: false, welcomed: false, pairing: false, closed: false,
      seenRuns: new Set(), pingTimer: null, watchdog: null, pairTimer: null, lastSent: 0, helloRef: null,
    };
    this.protocol = 1;
    this._conn = conn;
    let ticket;
    try {
      ticket = await this._ticket();
    } catch (e) {
      if (this._conn !== conn) return;
      this._conn = null;
      this._emit('error', e instanceof RunlaneError ? e : new RunlaneError('TICKET', String(e && e.message || e)));
      if (e && e.code === 'NO_TICKET') {
        this._setState('closed');
        return;
      }
      this._scheduleReconnect({ code: 0, reason: 'ticket failed' });
      return;
    }
    if (this._conn !== conn) return;
    let ws;
    try {
      ws = new this._WS(this._primaryUrl(ticket));
    } catch (e) {
      this._conn = null;
      this._emit('error', new RunlaneError('CONNECT', String(e && e.message || e)));
      this._scheduleReconnect({ code: 0, reason: 'could not open' });
      return;
    }
    conn.ws = ws;
    this.stats.connects++;
    if (this._connectTimeoutMs) {
      // a socket that never brings its welcome (a server stopping mid-handshake) must not hang us
      conn.watchdog = this._setTimeout(() => this._giveUp(conn, 'no welcome'), this._connectTimeoutMs);
    }
    ws.onmessage = (ev) => this._onMessage(conn, ev.data, false);
    ws.onclose = (ev) => this._onSocketClose(conn, ev && ev.code, ev && ev.reason, false);
    ws.onerror = noop; // a close always follows
    if (this._sse) {
      ws.onreconnecting = () => this._onStreamInterrupted(conn);
      ws.onrefused = (r) => this._onPostRefused(r);
    }
  }

  /**
   * SSE: the stream dropped and the browser re-opens it by itself with Last-Event-ID. The server's
   * connection is gone: commands in flight are lost, and the new stream brings a new welcome, after
   * which every session is subscribed again from its stored position (the Last-Event-ID resume and
   * ours overlap; the overlap is dropped by seq). If the stream is not back within
   * connectTimeoutMs, the client gives it up and reconnects on its own.
   */
  _onStreamInterrupted(conn) {
    if (this._conn !== conn || conn.closed || !conn.welcomed) return;
    conn.ready = false;
    conn.welcomed = false;
    conn.seenRuns = new Set();
    this._clearTimeout(conn.pingTimer);
    this._clearTimeout(conn.watchdog);
    this._subRefs.clear();
    this._rejectAll('DISCONNECTED', 'the stream dropped; the browser is re-opening it');
    this.stats.reconnects++;
    this._setState('connecting');
    if (this._connectTimeoutMs) {
      conn.watchdog = this._setTimeout(() => this._giveUp(conn, 'stream not back'), this._connectTimeoutMs);
    }
    this._emit('disconnected', { code: 1006, reason: 'stream interrupted', willReconnect: true, delayMs: null });
  }

  /** SSE: the server refused a command's POST (e.g. 413): its command fails with HTTP_<status>. */
  _onPostRefused(r) {
    let ref = null;
    try {
      ref = JSON.parse(r.data).ref || null;
    } catch (e) {
      ref = null;
    }
    const p = ref ? this._pending.get(ref) : null;
    const err = new RunlaneError('HTTP_' + r.status, 'the server refused the command (HTTP ' + r.status + ')', { ref, sessionId: p ? p.sessionId : null });
    if (p) {
      this._pending.delete(ref);
      p.reject(err);
    } else {
      this._emit('error', err);
    }
  }

  _onMessage(conn, raw, fromStream) {
    if (this._conn !== conn || conn.closed) return;
    this._armWatchdog(conn);
    // Protocol 3: a WebSocket text message may join several messages with "\n". We split whenever a
    // line feed is present, whatever this.protocol says: JSON as the codec writes it never holds a raw
    // line feed, so a message of protocol 1 or 2 never has one and nothing changes for it; and gating
    // on the grant would lose messages, because the grant itself may arrive as the first part of a
    // joined message, and because a paired stream socket's messages can overtake the hello's answer
    // on the primary. Over SSE nothing is split: the server never joins there, and the data of an
    // event spread over several `data:` lines (joined by the EventSource with "\n") stays one message,
    // as before. Binary frames are never joined. The fast path is one indexOf and no copy.
    const lf = this._sse || typeof raw !== 'string' ? -1 : raw.indexOf('\n');
    if (lf < 0) {
      this._onFrame(conn, raw, fromStream);
      return;
    }
    this._onJoined(conn, raw, lf, fromStream);
  }

  /**
   * A joined message `msg1\nmsg2\n…`: each part handled in order exactly as if it had arrived alone.
   * A malformed part is dropped and counted like a malformed lone message; a part whose handling
   * throws does not stop the later parts, and the error then leaves onmessage as it would have for a
   * lone message (several: an AggregateError). A part that closes the connection (a handler calling
   * close()) ends it: the later parts are dropped as later messages would be.
   */
  _onJoined(conn, raw, lf, fromStream) {
    const errors = [];
    let start = 0;
    let end = lf;
    for (;;) {
      try {
        this._onFrame(conn, end < 0 ? raw.slice(start) : raw.slice(start, end), fromStream);
      } catch (e) {
        errors.push(e);
      }
      if (end < 0 || this._conn !== conn || conn.closed) break;
      start = end + 1;
      end = raw.indexOf('\n', start);
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, errors.length + ' parts of a joined message failed');
  }

  /** One protocol message (an object, or a compact-event array). */
  _onFrame(conn, raw, fromStream) {
    let m;
    try {
      m = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
    } catch (e) {
      this.stats.malformedDropped++; // not JSON: ignore
      return;
    }
    if (!m || typeof m !== 'object') {
      this.stats.malformedDropped++;
      return;
    }
    if (Array.isArray(m)) return this._onCompactEvent(conn, m);
    switch (m.kind) {
      case 'welcome': return fromStream ? undefined : this._onWelcome(conn, m);
      case 'stream_paired': return this._onPaired(conn, m);
      case 'subscribed': return this._onSubscribed(conn, m);
      case 'run_event':
        this._mapRun(m.runId, m.sessionId, m.epoch);
        return this._onRunEvent(conn, m);
      case 'hello': return this._onHello(conn, m);
      case 'status': return this._onStatus(m);
      case 'approval_requested': return this._onApprovalRequested(m, false);
      case 'approval_resolved': return this._onApprovalResolved(m);
      case 'protocol_error': return this._onProtocolError(conn, m);
      case 'notice': return this._onNotice(m);
      case 'heartbeat': return undefined;
      default: return undefined; // kinds this client does not know are ignored (protocol rule)
    }
  }

  _onWelcome(conn, m) {
    conn.welcomed = true;
    this.protocol = 1; // a new server connection (the SSE browser's own reconnect too) starts on 1
    if (this._wantProtocol > 1) {
      // first, before pairing and subscribes; frames already on their way may still be full (both are accepted)
      conn.helloRef = 'h' + ++this._refs;
      this._raw(conn, { type: 'hello', protocol: this._wantProtocol, ref: conn.helloRef });
    }
    this._clearTimeout(conn.watchdog);
    this.connectionId = m.connectionId;
    const previous = this.serverEpoch;
    this.serverEpoch = m.serverEpoch;
    try {
      this._storage.setItem(this._storageKey + ':server', m.serverEpoch);
    } catch (e) {
      // ignore
    }
    this._startPing(conn);
    this._emit('welcome', m);
    if (previous && previous !== m.serverEpoch) {
      // every stored position belongs to the previous server instance; the acks say what happened
      this._emit('serverRestarted', { previous, current: m.serverEpoch });
    }
    if (m.streamTransport && this._useStream && (this._getTicket || this._streamUrl)) {
      this._pair(conn, m);
    } else {
      this._ready(conn);
    }
  }

  async _pair(conn, welcome) {
    conn.pairing = true;
    conn.pairTimer = this._setTimeout(() => this._pairingFailed(conn, 'timeout'), this._pairTimeoutMs);
    let url;
    try {
      const ticket = this._getTicket ? await this._ticket() : null;
      if (this._conn !== conn || !conn.pairing) return;
      url = this._streamUrl
        ? this._streamUrl({ url: this._baseUrl(), ticket, connectionId: welcome.connectionId, generation: welcome.generation })
        : withQuery(this._baseUrl(), { ticket, primary: welcome.connectionId, generation: welcome.generation });
    } catch (e) {
      this._pairingFailed(conn, 'ticket');
      return;
    }
    let s;
    try {
      s = new this._WS(url);
    } catch (e) {
      this._pairingFailed(conn, 'open');
      return;
    }
    conn.stream = s;
    s.onmessage = (ev) => this._onMessage(conn, ev.data, true);
    s.onclose = (ev) => this._onSocketClose(conn, ev && ev.code, ev && ev.reason, true);
    s.onerror = noop;
  }

  _onPaired(conn, m) {
    if (!conn.pairing) return;
    conn.pairing = false;
    this._clearTimeout(conn.pairTimer);
    conn.paired = true;
    this._emit('streamPaired', m);
    this._ready(conn);
  }

  _pairingFailed(conn, why) {
    if (this._conn !== conn || !conn.pairing) return;
    conn.pairing = false;
    this._clearTimeout(conn.pairTimer);
    const s = conn.stream;
    conn.stream = null;
    if (s) {
      s.onclose = noop;
      s.onmessage = noop;
      try { s.close(1000, 'pairing ' + why); } catch (e) { /* ignore */ }
    }
    this._emit('streamRefused', { reason: why });
    this._ready(conn); // the primary alone carries everything, with priority
  }

  _ready(conn) {
    conn.ready = true;
    this._attempt = 0;
    this._setState('open');
    for (const sub of this.subscriptions.values()) this._sendSubscribe(sub);
    this._emit('connected', { connectionId: this.connectionId, serverEpoch: this.serverEpoch, paired: !!conn.paired });
  }

  _onSocketClose(conn, code, reason, fromStream) {
    if (this._conn !== conn || conn.closed) return;
    if (fromStream && conn.pairing) {
      this._pairingFailed(conn, code === 4003 ? 'refused' : 'closed');
      return;
    }
    // either socket of a pair going away ends both (the server closes the other with 4002)
    this._conn = null;
    this._teardown(conn, fromStream ? 4002 : 1000, 'paired socket lost');
    const c = fromStream ? 4002 : code;
    this._rejectAll('DISCONNECTED', 'the connection closed (' + c + ')');
    this._scheduleReconnect({ code: c, reason: reason || '' });
  }

  _teardown(conn, code, reason) {
    conn.closed = true;
    conn.ready = false;
    this._clearTimeout(conn.pingTimer);
    this._clearTimeout(conn.watchdog);
    this._clearTimeout(conn.pairTimer);
    for (const s of [conn.ws, conn.stream]) {
      if (!s) continue;
      s.onmessage = noop;
      s.onclose = noop;
      try {
        if (s.readyState === 0 || s.readyState === 1) s.close(code === 4002 ? 1000 : code, reason);
      } catch (e) {
        // ignore
      }
    }
    this._subRefs.clear();
  }

  _scheduleReconnect(closeInfo) {
    if (this.state === 'closed') return;
    const willReconnect = !NO_RECONNECT_CODES.has(closeInfo.code) && (!!this._getTicket || this._sse);
    let delay = null;
    if (willReconnect) {
      const b = this._backoff;
      const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.factor, this._attempt));
      // jitter: a random part of the delay is taken off, so a storm of clients spreads out
      delay = Math.round(base * (1 - b.jitter * this._random()));
      this._attempt++;
      this._setState('connecting');
      this._reconnectTimer = this._setTimeout(() => {
        this._reconnectTimer = null;
        this.stats.reconnects++;
        this._open();
      }, delay);
    } else {
      this._setState('idle');
    }
    this._emit('disconnected', { code: closeInfo.code, reason: closeInfo.reason, willReconnect, delayMs: delay });
  }

  _clearReconnect() {
    if (this._reconnectTimer !== null) {
      this._clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
    }
  }

  // ---------------------------------------------------------------- keepalive

  _startPing(conn) {
    if (!this._pingMs) return;
    const tick = () => {
      if (this._conn !== conn || conn.closed) return;
      // inbound traffic keeps the server's idle timeout away: at least every pingIntervalMs
      this._raw(conn, { type: 'ping' });
      if (conn.stream && conn.paired) this._rawStream(conn, { type: 'ping' });
      conn.pingTimer = this._setTimeout(tick, this._pingMs);
    };
    conn.pingTimer = this._setTimeout(tick, this._pingMs);
    this._armWatchdog(conn);
  }

  _armWatchdog(conn) {
    if (!this._serverTimeoutMs || !conn.welcomed) return;
    this._clearTimeout(conn.watchdog);
    // nothing (not even a heartbeat answering our pings) for this long: the socket is dead
    conn.watchdog = this._setTimeout(() => this._giveUp(conn, 'server silent'), this._serverTimeoutMs);
  }

  _giveUp(conn, why) {
    if (this._conn !== conn || conn.closed) return;
    this._conn = null;
    this._teardown(conn, 4001, why);
    this._rejectAll('DISCONNECTED', why);
    this._scheduleReconnect({ code: 1006, reason: why });
  }

  // ---------------------------------------------------------------- sending

  _raw(conn, msg) {
    const ws = conn && conn.ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(JSON.stringify(msg));
      return true;
    } catch (e) {
      return false;
    }
  }

  _rawStream(conn, msg) {
    const s = conn.stream;
    if (!s || s.readyState !== 1) return false;
    try {
      s.send(JSON.stringify(msg));
      return true;
    } catch (e) {
      return false;
    }
  }

  _command(msg, pending) {
    const ref = 'c' + ++this._refs;
    msg.ref = ref;
    let resolve;
    let reject;
    const p = new Promise((res, rej) => { resolve = res; reject = rej; });
    p.catch(noop); // an ignored refusal must not become an unhandled rejection; awaiting still throws
    const conn = this._conn;
    if (this.state === 'closed') {
      reject(new RunlaneError('CLOSED', 'the client was closed'));
    } else if (!conn || !conn.ready || !this._raw(conn, msg)) {
      reject(new RunlaneError('OFFLINE', 'not connected; nothing was sent', { sessionId: msg.sessionId }));
    } else {
      this._pending.set(ref, { ...pending, resolve, reject });
    }
    return p;
  }

  _rejectAll(code, message) {
    const all = [...this._pending.values()];
    this._pending.clear();
    for (const p of all) p.reject(new RunlaneError(code, message, { sessionId: p.sessionId }));
  }

  _settle(match, value) {
    for (const [ref, p] of this._pending) {
      if (match(p)) {
        this._pending.delete(ref);
        p.resolve(value);
        return;
      }
    }
  }

  _sendSubscribe(sub) {
    const conn = this._conn;
    if (!conn || !conn.ready || sub.state === 'refused' || sub.state === 'unsubscribed') return;
    for (const t of sub._targets()) {
      const ref = 's' + ++this._refs;
      const target = { sessionId: t.sessionId, lastSeq: t.lastSeq };
      if (t.runId) target.runId = t.runId;
      if (t.epoch) target.epoch = t.epoch;
      this._subRefs.set(ref, { sub, target: t });
      const msg = { type: 'chat.subscribe', ref, sessions: [target] };
      if (this._takeover || sub.options.takeover) msg.takeover = true;
      this._raw(conn, msg);
    }
  }

  _unsubscribe(sub, forget) {
    if (this.subscriptions.get(sub.sessionId) !== sub) return;
    this.subscriptions.delete(sub.sessionId);
    sub.state = 'unsubscribed';
    if (this._conn && this._conn.ready) this._raw(this._conn, { type: 'chat.unsubscribe', sessionId: sub.sessionId });
    for (const [ref, s] of this._subRefs) if (s.sub === sub) this._subRefs.delete(ref);
    if (forget) {
      sub._forgotten = true;
      try {
        this._storage.removeItem(sub._key());
      } catch (e) {
        // ignore
      }
    }
  }

  // ================================================================ inbound frames

  _onSubscribed(conn, ack) {
    if (ack.runId) this._mapRun(ack.runId, ack.sessionId, ack.epoch);
    const entry = ack.ref ? this._subRefs.get(ack.ref) : null;
    if (entry) this._subRefs.delete(ack.ref);
    const sub = entry ? entry.sub : this.subscriptions.get(ack.sessionId);
    if (!sub || sub.state === 'unsubscribed') return;
    sub.state = 'subscribed';
    const target = entry ? entry.target : { lastSeq: ack.requestedLastSeq, epoch: null, _run: null };
    const status = ack.status;
    sub._emit('subscribed', ack);

    if (status === 'UNKNOWN_RUN' || !ack.runId) {
      // the server holds no such run: never started, evicted after retention, or it restarted
      const r = target._run ? sub.runs.get(target._run) : null;
      if (r && !r.ended && !r.lost && (target.runId || target.lastSeq > 0)) {
        r.lost = true;
        sub._emit('unknownRun', { sessionId: sub.sessionId, runId: r.runId, epoch: r.epoch, lastSeq: r.lastSeq });
      }
      sub._save();
      return;
    }

    const already = conn.seenRuns.has(ack.runId);
    conn.seenRuns.add(ack.runId);
    const targetRun = target._run ? sub.runs.get(target._run) : null;
    let r = sub.runs.get(ack.runId);
    const changed = status === 'EPOCH_CHANGED' || status === 'AHEAD_OF_HEAD'
      || (status === 'FINISHED' && target.epoch && target.epoch !== ack.epoch && targetRun && targetRun.runId !== ack.runId);
    if (r && r.epoch && ack.epoch && r.epoch !== ack.epoch) {
      // the same run id with another epoch: our position is meaningless; start this run over
      const previous = { ...r };
      Object.assign(r, { epoch: ack.epoch, lastSeq: 0, ended: false, lost: false });
      sub._emit('epochChanged', { sessionId: sub.sessionId, runId: ack.runId, epoch: ack.epoch, status, previous, reset: true });
    } else if (r && changed && targetRun === r && !already) {
      const previous = { ...r };
      Object.assign(r, { lastSeq: 0, ended: false, lost: false });
      sub._emit('epochChanged', { sessionId: sub.sessionId, runId: ack.runId, epoch: ack.epoch, status, previous, reset: true });
    } else if (!r) {
      r = sub._run(ack.runId, ack.epoch);
      if (changed && targetRun) {
        sub._emit('epochChanged', { sessionId: sub.sessionId, runId: ack.runId, epoch: ack.epoch, status, previous: { ...targetRun }, reset: false });
      }
    }
    if (!r.epoch) r.epoch = ack.epoch;

    for (const a of ack.pendingApprovals || []) this._onApprovalRequested(a, true);
    // an approval we showed that the ack no longer lists was answered while we were away
    const listed = new Set((ack.pendingApprovals || []).map((a) => a.approvalId));
    for (const a of [...sub.approvals.values()]) {
      if (a.runId === ack.runId && !listed.has(a.approvalId)) {
        this._resolveApprovalLocally(sub, a, 'UNKNOWN');
      }
    }

    if (already) {
      // this connection already receives the run: its frames are in flight behind this ack
      sub._save();
      return;
    }
    const replayEmpty = ack.replayFrom > ack.replayTo;
    if (ack.truncated && ack.replayFrom - 1 > r.lastSeq && !r.ended) {
      const missing = { fromSeq: r.lastSeq + 1, toSeq: ack.replayFrom - 1 };
      r.lastSeq = ack.replayFrom - 1;
      sub._emit('truncated', { sessionId: sub.sessionId, runId: r.runId, epoch: r.epoch, status, ...missing });
    }
    if (status === 'FINISHED') {
      sub._emit('finished', { sessionId: sub.sessionId, runId: r.runId, epoch: r.epoch, outcome: ack.outcome, replayed: !replayEmpty });
      if (replayEmpty && !r.ended && ack.outcome) {
        // the server does not replay ended runs (replayFinishedRuns off): the end comes from the ack
        if (ack.headSeq - 1 > r.lastSeq) {
          sub._emit('truncated', { sessionId: sub.sessionId, runId: r.runId, epoch: r.epoch, status, fromSeq: r.lastSeq + 1, toSeq: ack.headSeq - 1 });
        }
        const type = { COMPLETED: 'run.completed', ABORTED: 'run.aborted', FAILED: 'run.failed' }[ack.outcome.state] || 'run.failed';
        r.lastSeq = Math.max(r.lastSeq, ack.headSeq - 1);
        this._applyEnd(sub, r, { runId: r.runId, sessionId: sub.sessionId, seq: ack.headSeq, epoch: r.epoch, type, data: ack.outcome, fromAck: true });
      }
    }
    sub._save();
  }

  _onHello(conn, m) {
    if (!m.ref || m.ref !== conn.helloRef) return;
    conn.helloRef = null;
    const p = Number.isSafeInteger(m.protocol) && m.protocol >= 1 ? Math.min(m.protocol, this._wantProtocol) : 1;
    this.protocol = p;
    this._emit('protocol', { protocol: p, refused: null });
  }

  /** Remembers what a compact event of the run leaves out. */
  _mapRun(runId, sessionId, epoch) {
    if (typeof runId !== 'string' || typeof sessionId !== 'string' || typeof epoch !== 'string') return;
    const known = this._runMap.get(runId);
    if (known && known.sessionId === sessionId && known.epoch === epoch) return;
    this._runMap.delete(runId);
    this._runMap.set(runId, { sessionId, epoch });
    if (this._runMap.size > MAX_MAPPED_RUNS) this._runMap.delete(this._runMap.keys().next().value);
  }

  /** A protocol-2 run event `[runId, seq, type, data]`: the same event as its full form. */
  _onCompactEvent(conn, a) {
    if (a.length < 3 || typeof a[0] !== 'string' || typeof a[1] !== 'number' || typeof a[2] !== 'string') return;
    let mapped = this._runMap.get(a[0]);
    if (!mapped) {
      // a stored position (from before a reload) knows the run too
      for (const sub of this.subscriptions.values()) {
        const r = sub.runs.get(a[0]);
        if (r && r.epoch) {
          mapped = { sessionId: sub.sessionId, epoch: r.epoch };
          break;
        }
      }
    }
    if (!mapped) {
      // never sent by a correct server (it maps every run before its first compact event)
      this.stats.unmappedDropped++;
      return;
    }
    this.stats.compactEvents++;
    this._onRunEvent(conn, {
      kind: 'run_event', runId: a[0], sessionId: mapped.sessionId, seq: a[1], epoch: mapped.epoch,
      type: a[2], data: a.length > 3 ? a[3] : null,
    });
  }

  _onRunEvent(conn, m) {
    const sub = this.subscriptions.get(m.sessionId);
    if (!sub || sub.state === 'unsubscribed' || typeof m.seq !== 'number') return;
    conn.seenRuns.add(m.runId);
    let r = sub.runs.get(m.runId);
    if (!r) r = sub._run(m.runId, m.epoch);
    if (m.seq <= r.lastSeq || r.ended) {
      this.stats.duplicatesDropped++; // already applied: never doubles anything
      return;
    }
    if (m.seq !== r.lastSeq + 1) {
      // never expected from a correct server: announce it instead of hiding it
      sub._emit('truncated', { sessionId: sub.sessionId, runId: r.runId, epoch: m.epoch, status: 'GAP', fromSeq: r.lastSeq + 1, toSeq: m.seq - 1 });
    }
    r.lastSeq = m.seq;
    r.epoch = m.epoch;
    r.lost = false;
    this.stats.eventsApplied++;
    const event = { runId: m.runId, sessionId: m.sessionId, seq: m.seq, epoch: m.epoch, type: m.type, data: m.data };
    if (m.type === 'run.started') {
      sub._emit('started', event);
      this._settle((p) => p.kind === 'send' && p.sessionId === m.sessionId && p.text === m.data, { runId: m.runId, epoch: m.epoch });
    }
    sub._emit('event', event);
    if (TERMINAL[m.type]) {
      this._applyEnd(sub, r, event);
    }
    sub._save();
  }

  _applyEnd(sub, r, event) {
    if (r.ended) return;
    r.ended = true;
    r.lastSeq = Math.max(r.lastSeq, event.seq);
    const state = TERMINAL[event.type];
    const end = { ...event, state, outcome: event.data };
    if (event.fromAck) sub._emit('event', end);
    sub._emit(state, end);
    sub._emit('end', end);
    for (const a of [...sub.approvals.values()]) {
      if (a.runId === r.runId) this._resolveApprovalLocally(sub, a, 'RUN_ENDED');
    }
    this._settle((p) => p.kind === 'abort' && p.sessionId === sub.sessionId && (!p.runId || p.runId === r.runId), end);
    sub._save();
  }

  _onStatus(m) {
    const sub = this.subscriptions.get(m.sessionId);
    if (!sub) return;
    const r = sub.runs.get(m.runId);
    if (r && r.ended) return;
    sub._emit('status', { runId: m.runId, sessionId: m.sessionId, key: m.key, data: m.data });
  }

  _onApprovalRequested(a, fromAck) {
    const sub = this.subscriptions.get(a.sessionId);
    if (!sub || sub.approvals.has(a.approvalId) || this._resolvedApprovals.has(a.approvalId)) return;
    const r = sub.runs.get(a.runId);
    if (r && r.ended) return;
    const approval = { approvalId: a.approvalId, runId: a.runId, sessionId: a.sessionId, payload: a.payload, expiresAt: a.expiresAt ?? null };
    sub.approvals.set(a.approvalId, approval);
    sub._emit('approvalRequested', { ...approval, fromAck });
  }

  _onApprovalResolved(m) {
    const sub = this.subscriptions.get(m.sessionId);
    this._settle((p) => p.kind === 'approval' && p.approvalId === m.approvalId, m);
    if (!sub || this._resolvedApprovals.has(m.approvalId)) return;
    this._rememberResolved(m.approvalId);
    sub.approvals.delete(m.approvalId);
    sub._emit('approvalResolved', {
      approvalId: m.approvalId, runId: m.runId, sessionId: m.sessionId,
      resolution: m.resolution, decision: m.decision ?? null, by: m.by ?? null,
    });
  }

  _resolveApprovalLocally(sub, a, resolution) {
    if (this._resolvedApprovals.has(a.approvalId)) return;
    this._rememberResolved(a.approvalId);
    sub.approvals.delete(a.approvalId);
    sub._emit('approvalResolved', { approvalId: a.approvalId, runId: a.runId, sessionId: a.sessionId, resolution, decision: null, by: null });
  }

  _rememberResolved(id) {
    this._resolvedApprovals.add(id);
    if (this._resolvedApprovals.size > MAX_REMEMBERED_APPROVALS) {
      this._resolvedApprovals.delete(this._resolvedApprovals.values().next().value);
    }
  }

  _onProtocolError(conn, m) {
    if (m.ref && m.ref === conn.helloRef) {
      // a server that does not know hello (UNKNOWN_MESSAGE_TYPE): stay on protocol 1, quietly
      conn.helloRef = null;
      this.protocol = 1;
      this._emit('protocol', { protocol: 1, refused: m.code });
      return;
    }
    const err = new RunlaneError(m.code, m.message || '', { sessionId: m.sessionId, ref: m.ref });
    const subEntry = m.ref ? this._subRefs.get(m.ref) : null;
    if (subEntry) {
      this._subRefs.delete(m.ref);
      const sub = subEntry.sub;
      if (m.code === 'SESSION_NOT_FOUND' || m.code === 'FORBIDDEN') sub.state = 'refused';
      sub._emit('error', err);
      return;
    }
    const p = m.ref ? this._pending.get(m.ref) : null;
    if (p) {
      this._pending.delete(m.ref);
      p.reject(err);
    }
    const sub = m.sessionId ? this.subscriptions.get(m.sessionId) : null;
    if (sub) sub._emit('error', err);
    else if (!p) this._emit('error', err);
  }

  _onNotice(m) {
    const n = { sessionId: m.sessionId ?? null, type: m.type, data: m.data ?? null };
    if (n.sessionId) {
      const sub = this.subscriptions.get(n.sessionId);
      if (sub) sub._emit('notice', n);
    } else {
      this._emit('notice', n);
    }
  }

  _onHandlerError(e, where) {
    if (this._onHandlerErrorOpt) {
      try {
        this._onHandlerErrorOpt(e, where);
      } catch (ignored) {
        // nothing more to do
      }
    } else if (globalThis.console) {
      globalThis.console.error('runlane: a "' + where + '" handler threw', e);
    }
  }
}

export default RunlaneClient;
