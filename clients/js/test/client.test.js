// Unit tests of the client against a scripted WebSocket and a manual clock: node --test test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunlaneClient, RunlaneError, memoryStorage } from '../src/runlane-client.js';
import { FakeClock, FakeWebSocket, flush, welcome, ev, ack, outcome, EPOCH } from './fakes.js';

/** A client wired to fakes; `server()` is the newest primary socket. */
async function harness(options = {}, { connect = true } = {}) {
  FakeWebSocket.reset();
  const clock = options.clock || new FakeClock();
  let tickets = 0;
  const errors = [];
  const client = new RunlaneClient({
    url: 'ws://test/ws',
    getTicket: async () => ({ ticket: 't' + ++tickets }),
    WebSocket: FakeWebSocket,
    timers: clock.api,
    random: () => 0.5,
    storage: options.storage || memoryStorage(),
    onHandlerError: (e) => errors.push(e),
    ...options.client,
  });
  const h = {
    client, clock, errors,
    get tickets() { return tickets; },
    server: () => FakeWebSocket.last(),
    /** Opens the newest socket and welcomes it. */
    async accept(w = {}) {
      await flush();
      const ws = FakeWebSocket.last();
      ws.open();
      ws.receive(welcome(w));
      return ws;
    },
  };
  if (connect) await h.accept(options.welcome);
  return h;
}

/** Records every event of a subscription, as [name, payload]. */
function record(sub) {
  const log = [];
  for (const name of ['subscribed', 'started', 'event', 'end', 'completed', 'aborted', 'failed', 'truncated',
    'epochChanged', 'finished', 'unknownRun', 'approvalRequested', 'approvalResolved', 'status', 'error', 'notice']) {
    sub.on(name, (e) => log.push([name, e]));
  }
  log.of = (name) => log.filter(([n]) => n === name).map(([, e]) => e);
  return log;
}

function lastSubscribe(ws) {
  const subs = ws.commands('chat.subscribe');
  return subs[subs.length - 1];
}

// ------------------------------------------------------------------ connecting

test('connects with a fresh ticket and subscribes each session after the welcome', async () => {
  const h = await harness({}, { connect: false });
  const sub = h.client.subscribe('s');
  await flush();
  const ws = h.server();
  assert.equal(ws.query.get('ticket'), 't1');
  assert.equal(ws.sent.length, 0, 'nothing is sent before the welcome');
  ws.open();
  ws.receive(welcome());
  assert.equal(h.client.state, 'open');
  const s = lastSubscribe(ws);
  assert.deepEqual(s.sessions, [{ sessionId: 's', lastSeq: 0 }]);
  assert.ok(typeof s.ref === 'string' && s.ref.length > 0);
  assert.equal(sub.state, 'pending');
  ws.receive(ack(s.ref, { runId: null, epoch: null, status: 'UNKNOWN_RUN' }));
  assert.equal(sub.state, 'subscribed');
});

test('a static ticket is used once; without getTicket the client does not reconnect', async () => {
  FakeWebSocket.reset();
  const clock = new FakeClock();
  const client = new RunlaneClient({ url: 'ws://test/ws?x=1', ticket: 'only', WebSocket: FakeWebSocket, timers: clock.api, storage: memoryStorage() });
  const states = [];
  client.on('disconnected', (d) => states.push(d));
  await flush();
  assert.equal(FakeWebSocket.last().url, 'ws://test/ws?x=1&ticket=only');
  FakeWebSocket.last().open();
  FakeWebSocket.last().receive(welcome());
  FakeWebSocket.last().drop(1006);
  clock.advance(60000);
  await flush();
  assert.equal(FakeWebSocket.all.length, 1);
  assert.equal(states[0].willReconnect, false);
  assert.equal(client.state, 'idle');
});

test('the constructor refuses missing tickets and a missing WebSocket', () => {
  assert.throws(() => new RunlaneClient({ url: 'ws://x', WebSocket: FakeWebSocket }), TypeError);
  const saved = globalThis.WebSocket;
  try {
    globalThis.WebSocket = undefined;
    assert.throws(() => new RunlaneClient({ url: 'ws://x', ticket: 't' }), /WebSocket/);
  } finally {
    globalThis.WebSocket = saved;
  }
});

// ------------------------------------------------------------------ reconnect and backoff

test('reconnects with exponential backoff and jitter, capped, reset by a welcome', async () => {
  const h = await harness({ client: { backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 } } });
  const delays = [];
  h.client.on('disconnected', (d) => delays.push(d.delayMs));
  for (let i = 0; i < 6; i++) {
    h.server().drop(1006);
    h.clock.advance(delays[delays.length - 1]);
    await flush();
  }
  // random 0.5 and jitter 0.5 take a quarter off: 100, 200, 400, 800, 1000 (cap), 1000
  assert.deepEqual(delays, [75, 150, 300, 600, 750, 750]);
  assert.equal(h.tickets, 7, 'every attempt fetches a new one-time ticket');
  await h.accept();
  h.server().drop(4000);
  assert.equal(delays[delays.length - 1], 75, 'a welcome resets the backoff');
});

test('jitter spreads delays between (1 - jitter) and 1 of the base delay', async () => {
  for (const [r, expect] of [[0, 1000], [0.999, 500]]) {
    const h = await harness({ client: { random: () => r, backoff: { initialMs: 1000, jitter: 0.5 } } });
    let d = null;
    h.client.on('disconnected', (x) => { d = x.delayMs; });
    h.server().drop(1011);
    assert.equal(d, expect);
  }
});

test('does not reconnect after 1000 or 4401, nor after close()', async () => {
  for (const code of [1000, 4401]) {
    const h = await harness();
    let info = null;
    h.client.on('disconnected', (d) => { info = d; });
    h.server().drop(code);
    h.clock.advance(100000);
    await flush();
    assert.equal(info.willReconnect, false, 'code ' + code);
    assert.equal(FakeWebSocket.all.length, 1);
  }
  const h = await harness();
  const ws = h.server();
  h.client.close();
  assert.equal(ws.closedWith.code, 1000);
  h.clock.advance(100000);
  await flush();
  assert.equal(FakeWebSocket.all.length, 1);
  assert.equal(h.client.state, 'closed');
});

test('a failing ticket provider is retried with backoff and reported', async () => {
  FakeWebSocket.reset();
  const clock = new FakeClock();
  let calls = 0;
  const client = new RunlaneClient({
    url: 'ws://test/ws', WebSocket: FakeWebSocket, timers: clock.api, random: () => 0, storage: memoryStorage(),
    getTicket: async () => { if (++calls < 3) throw new Error('503'); return 'ok'; },
  });
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  await flush();
  clock.advance(250);
  await flush();
  clock.advance(500);
  await flush();
  assert.equal(calls, 3);
  assert.deepEqual(errors, ['TICKET', 'TICKET']);
  assert.equal(FakeWebSocket.last().query.get('ticket'), 'ok');
});

// ------------------------------------------------------------------ keepalive

test('pings every pingIntervalMs and reconnects when the server stays silent', async () => {
  const h = await harness({ client: { pingIntervalMs: 20000, serverTimeoutMs: 70000 } });
  const ws = h.server();
  h.clock.advance(19999);
  assert.equal(ws.commands('ping').length, 0);
  h.clock.advance(1);
  assert.equal(ws.commands('ping').length, 1);
  ws.receive({ kind: 'heartbeat', ts: 1 }); // the answer: proof the server is alive
  h.clock.advance(60000);
  assert.equal(ws.commands('ping').length, 4);
  assert.equal(ws.closedWith, null, 'heard from 60 s ago: still alive');
  h.clock.advance(10001);
  assert.notEqual(ws.closedWith, null, 'silent for 70 s: a half-open socket is given up');
  h.clock.advance(1000);
  await flush();
  assert.equal(FakeWebSocket.all.length, 2, 'and a new connection is opened');
});

test('a connection attempt without a welcome is given up and retried', async () => {
  const h = await harness({ client: { connectTimeoutMs: 5000 } }, { connect: false });
  await flush();
  const ws = h.server();
  ws.open(); // the upgrade succeeded, but the server never says welcome
  h.clock.advance(4999);
  assert.equal(ws.closedWith, null);
  h.clock.advance(1);
  assert.notEqual(ws.closedWith, null);
  h.clock.advance(1000);
  await flush();
  assert.equal(FakeWebSocket.all.length, 2);
});

// ------------------------------------------------------------------ events, dedupe, resume

test('applies each seq once and in order: duplicates are dropped', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const ws = h.server();
  for (const s of [1, 2, 2, 3, 1, 3, 4]) ws.receive(ev(s, s === 1 ? 'run.started' : 'delta'));
  assert.deepEqual(log.of('event').map((e) => e.seq), [1, 2, 3, 4]);
  assert.equal(h.client.stats.duplicatesDropped, 3);
  assert.equal(log.of('started').length, 1);
  assert.deepEqual(sub.position('r1'), { runId: 'r1', epoch: EPOCH, lastSeq: 4, ended: false, lost: false });
});

test('after a drop it resumes each run from its last applied seq, with its epoch', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  let ws = h.server();
  for (let s = 1; s <= 5; s++) ws.receive(ev(s, s === 1 ? 'run.started' : 'delta'));
  ws.drop(4000);
  h.clock.advance(1000);
  ws = await h.accept();
  const subs = ws.commands('chat.subscribe');
  // the running run by id (so it finishes even if a newer run started), then the session
  assert.deepEqual(subs.map((s) => s.sessions[0]), [
    { sessionId: 's', runId: 'r1', lastSeq: 5, epoch: EPOCH },
    { sessionId: 's', lastSeq: 5, epoch: EPOCH },
  ]);
  ws.receive(ack(subs[0].ref, { requestedLastSeq: 5, headSeq: 7, replayFrom: 6, replayTo: 7 }));
  ws.receive(ack(subs[1].ref, { requestedLastSeq: 5, headSeq: 7, replayFrom: 8, replayTo: 7 }));
  for (const s of [6, 7, 8]) ws.receive(ev(s));
  assert.deepEqual(log.of('event').map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(log.of('truncated').length, 0);
});

test('a reload (a new client on the same storage) resumes exactly and keeps the app data', async () => {
  const storage = memoryStorage();
  const h1 = await harness({ storage });
  const sub1 = h1.client.subscribe('s');
  for (let s = 1; s <= 3; s++) h1.server().receive(ev(s, s === 1 ? 'run.started' : 'delta'));
  sub1.data = { text: 't2t3' };
  h1.client.close();

  const h2 = await harness({ storage });
  const sub2 = h2.client.subscribe('s');
  assert.deepEqual(sub2.data, { text: 't2t3' });
  const s = lastSubscribe(h2.server());
  assert.deepEqual(s.sessions[0], { sessionId: 's', lastSeq: 3, epoch: EPOCH });
  const log = record(sub2);
  h2.server().receive(ev(3));
  h2.server().receive(ev(4));
  assert.deepEqual(log.of('event').map((e) => e.seq), [4]);
});

test('corrupt or foreign storage is ignored', async () => {
  const storage = memoryStorage();
  storage.setItem('runlane:s:s', '{not json');
  const h = await harness({ storage });
  const sub = h.client.subscribe('s');
  assert.equal(sub.position(), null);
  storage.setItem('runlane:s:t', JSON.stringify({ v: 1, runs: [{ runId: 'x', lastSeq: -3 }] }));
  assert.equal(h.client.subscribe('t').position(), null);
});

// ------------------------------------------------------------------ typed resume outcomes

test('TRUNCATED: announces exactly the evicted range and continues after it', async () => {
  const storage = memoryStorage();
  storage.setItem('runlane:s:s', JSON.stringify({ v: 1, runs: [{ runId: 'r1', epoch: EPOCH, lastSeq: 5, ended: false }], data: null }));
  const h = await harness({ storage });
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const ws = h.server();
  const subs = ws.commands('chat.subscribe');
  ws.receive(ack(subs[0].ref, { status: 'TRUNCATED', truncated: true, requestedLastSeq: 5, headSeq: 12, oldestSeq: 9, replayFrom: 9, replayTo: 12 }));
  ws.receive(ack(subs[1].ref, { status: 'EXACT', requestedLastSeq: 5, headSeq: 12, replayFrom: 13, replayTo: 12 }));
  for (let s = 9; s <= 12; s++) ws.receive(ev(s));
  assert.deepEqual(log.of('truncated').map(({ fromSeq, toSeq, status }) => [fromSeq, toSeq, status]), [[6, 8, 'TRUNCATED']]);
  assert.deepEqual(log.of('event').map((e) => e.seq), [9, 10, 11, 12]);
});

test('a new tab joining a run whose start was evicted learns what to refetch', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const ws = h.server();
  ws.receive(ack(lastSubscribe(ws).ref, { status: 'TRUNCATED', truncated: true, headSeq: 40, oldestSeq: 17, replayFrom: 17, replayTo: 40 }));
  assert.deepEqual(log.of('truncated').map((t) => [t.fromSeq, t.toSeq]), [[1, 16]]);
  ws.receive(ev(17));
  assert.deepEqual(log.of('event').map((e) => e.seq), [17]);
});

test('EPOCH_CHANGED: a newer run replaced the stored one; it is followed from its replay', async () => {
  const storage = memoryStorage();
  storage.setItem('runlane:s:s', JSON.stringify({ v: 1, runs: [{ runId: 'r0', epoch: 'e0', lastSeq: 9, ended: true }], data: null }));
  const h = await harness({ storage });
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const ws = h.server();
  const subs = ws.commands('chat.subscribe');
  assert.equal(subs.length, 1, 'an ended run needs no target of its own');
  ws.receive(ack(subs[0].ref, { status: 'EPOCH_CHANGED', requestedLastSeq: 9, headSeq: 3, replayFrom: 1, replayTo: 3 }));
  for (let s = 1; s <= 3; s++) ws.receive(ev(s, s === 1 ? 'run.started' : 'delta'));
  const [changed] = log.of('epochChanged');
  assert.equal(changed.runId, 'r1');
  assert.equal(changed.previous.runId, 'r0');
  assert.equal(changed.reset, false);
  assert.deepEqual(log.of('event').map((e) => e.seq), [1, 2, 3]);
  assert.equal(sub.position().runId, 'r1');
});

test('AHEAD_OF_HEAD on the stored run resets it and replays it from the start', async () => {
  const storage = memoryStorage();
  storage.setItem('runlane:s:s', JSON.stringify({ v: 1, runs: [{ runId: 'r1', epoch: EPOCH, lastSeq: 50, ended: false }], data: null }));
  const h = await harness({ storage });
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const ws = h.server();
  const subs = ws.commands('chat.subscribe');
  ws.receive(ack(subs[0].ref, { status: 'AHEAD_OF_HEAD', requestedLastSeq: 50, headSeq: 2, replayFrom: 1, replayTo: 2 }));
  ws.receive(ack(subs[1].ref, { status: 'AHEAD_OF_HEAD', requestedLastSeq: 50, headSeq: 2, replayFrom: 3, replayTo: 2 }));
  ws.receive(ev(1, 'run.started'));
  ws.receive(ev(2));
  assert.equal(log.of('epochChanged').length, 1);
  assert.equal(log.of('epochChanged')[0].reset, true);
  assert.deepEqual(log.of('event').map((e) => e.seq), [1, 2]);
});

test('a server restart: serverRestarted, then the lost run is reported as unknown once', async () => {
  const storage = memoryStorage();
  const h1 = await harness({ storage });
  h1.client.subscribe('s');
  h1.server().receive(ev(1, 'run.started'));
  h1.server().receive(ev(2));
  const restarts = [];
  h1.client.on('serverRestarted', (r) => restarts.push(r));
  const log = record(h1.client.subscription('s'));
  h1.server().drop(1001);
  h1.clock.advance(1000);
  const ws = await h1.accept({ serverEpoch: 'srv2' });
  assert.deepEqual(restarts, [{ previous: 'srv1', current: 'srv2' }]);
  const subs = ws.commands('chat.subscribe');
  ws.receive(ack(subs[0].ref, { runId: 'r1', epoch: null, status: 'UNKNOWN_RUN', processing: false, headSeq: 0, replayFrom: 1, replayTo: 0, truncated: true, requestedLastSeq: 2 }));
  ws.receive(ack(subs[1].ref, { runId: null, epoch: null, status: 'UNKNOWN_RUN', processing: false, headSeq: 0, replayFrom: 1, replayTo: 0, requestedLastSeq: 2 }));
  assert.deepEqual(log.of('unknownRun').map((u) => [u.runId, u.lastSeq]), [['r1', 2]]);
  assert.equal(log.of('end').length, 0, 'its end is unknown: never invented');
  assert.equal(h1.client.subscription('s').position('r1').lost, true);
  // the next connection no longer asks for the lost run
  ws.drop(1006);
  h1.clock.advance(1000);
  const ws3 = await h1.accept({ serverEpoch: 'srv2' });
  assert.deepEqual(ws3.commands('chat.subscribe').map((s) => s.sessions[0]), [{ sessionId: 's', lastSeq: 0 }]);
});

test('FINISHED with a replay: the missed tail and the end, once', async () => {
  const storage = memoryStorage();
  storage.setItem('runlane:s:s', JSON.stringify({ v: 1, runs: [{ runId: 'r1', epoch: EPOCH, lastSeq: 8, ended: false }], data: null }));
  const h = await harness({ storage });
  const log = record(h.client.subscribe('s'));
  const ws = h.server();
  const subs = ws.commands('chat.subscribe');
  ws.receive(ack(subs[0].ref, { status: 'FINISHED', processing: false, requestedLastSeq: 8, headSeq: 10, replayFrom: 9, replayTo: 10, outcome: outcome() }));
  ws.receive(ack(subs[1].ref, { status: 'FINISHED', processing: false, requestedLastSeq: 8, headSeq: 10, replayFrom: 11, replayTo: 10, outcome: outcome() }));
  ws.receive(ev(9));
  ws.receive(ev(10, 'run.completed', outcome()));
  assert.equal(log.of('finished').length, 1);
  assert.deepEqual(log.of('event').map((e) => e.seq), [9, 10]);
  assert.equal(log.of('end').length, 1);
  assert.equal(log.of('completed').length, 1);
});

test('FINISHED without a replay (replayFinishedRuns off): the end comes from the ack, once', async () => {
  const storage = memoryStorage();
  storage.setItem('runlane:s:s', JSON.stringify({ v: 1, runs: [{ runId: 'r1', epoch: EPOCH, lastSeq: 4, ended: false }], data: null }));
  const h = await harness({ storage });
  const log = record(h.client.subscribe('s'));
  const ws = h.server();
  const subs = ws.commands('chat.subscribe');
  const o = outcome('ABORTED', { abortedBy: 'bob' });
  ws.receive(ack(subs[0].ref, { status: 'FINISHED', processing: false, requestedLastSeq: 4, headSeq: 10, replayFrom: 11, replayTo: 10, outcome: o }));
  ws.receive(ack(subs[1].ref, { status: 'FINISHED', processing: false, requestedLastSeq: 4, headSeq: 10, replayFrom: 11, replayTo: 10, outcome: o }));
  assert.deepEqual(log.of('truncated').map((t) => [t.fromSeq, t.toSeq]), [[5, 9]]);
  assert.deepEqual(log.of('end').map((e) => [e.state, e.seq, e.fromAck]), [['aborted', 10, true]]);
  assert.equal(log.of('aborted')[0].outcome.abortedBy, 'bob');
});

// ------------------------------------------------------------------ exactly one end

test('exactly one end per run: across replays, reconnects and reloads', async () => {
  const storage = memoryStorage();
  const h = await harness({ storage });
  const log = record(h.client.subscribe('s'));
  let ws = h.server();
  ws.receive(ev(1, 'run.started'));
  ws.receive(ev(2, 'run.failed', outcome('FAILED')));
  ws.receive(ev(2, 'run.failed', outcome('FAILED')));
  ws.receive(ev(3, 'run.completed', outcome())); // nothing after a terminal counts
  ws.drop(1006);
  h.clock.advance(1000);
  ws = await h.accept();
  const subs = ws.commands('chat.subscribe');
  assert.equal(subs.length, 1, 'an ended run is not resumed by id');
  ws.receive(ack(subs[0].ref, { status: 'FINISHED', processing: false, requestedLastSeq: 2, headSeq: 2, replayFrom: 3, replayTo: 2, outcome: outcome('FAILED') }));
  ws.receive(ev(2, 'run.failed', outcome('FAILED')));
  assert.equal(log.of('end').length, 1);
  assert.equal(log.of('failed').length, 1);
  h.client.close();

  const h2 = await harness({ storage });
  const log2 = record(h2.client.subscribe('s'));
  const ws2 = h2.server();
  ws2.receive(ack(lastSubscribe(ws2).ref, { status: 'FINISHED', processing: false, requestedLastSeq: 2, headSeq: 2, replayFrom: 3, replayTo: 2, outcome: outcome('FAILED') }));
  assert.equal(log2.of('end').length, 0, 'a reloaded page does not end the run again');
});

test('frames queued behind an ack on the same connection are not skipped', async () => {
  // the ack (control lane) overtakes stream frames already queued for this connection
  const h = await harness();
  const log = record(h.client.subscribe('s'));
  const ws = h.server();
  ws.receive(ev(1, 'run.started'));
  const s = lastSubscribe(ws);
  ws.receive(ack(s.ref, { headSeq: 4, replayFrom: 5, replayTo: 4 }));
  for (const seq of [2, 3, 4]) ws.receive(ev(seq));
  assert.deepEqual(log.of('event').map((e) => e.seq), [1, 2, 3, 4]);
  assert.equal(log.of('truncated').length, 0);
});

// ------------------------------------------------------------------ commands

test('send resolves with the run it started; a refusal rejects with its code', async () => {
  const h = await harness();
  h.client.subscribe('s');
  const ws = h.server();
  const p = h.client.send('s', 'hello');
  const cmd = ws.commands('chat.send')[0];
  assert.deepEqual({ ...cmd, ref: undefined }, { type: 'chat.send', sessionId: 's', content: 'hello', ref: undefined });
  ws.receive(ev(1, 'run.started', 'hello'));
  assert.deepEqual(await p, { runId: 'r1', epoch: EPOCH });

  const p2 = h.client.send('s', 'again');
  const ref = ws.commands('chat.send')[1].ref;
  ws.receive({ kind: 'protocol_error', code: 'RUN_IN_PROGRESS', message: 'busy', sessionId: 's', ref });
  await assert.rejects(p2, (e) => e instanceof RunlaneError && e.code === 'RUN_IN_PROGRESS');
});

test('commands while offline reject at once and are never queued', async () => {
  const h = await harness({}, { connect: false });
  await assert.rejects(h.client.send('s', 'x'), (e) => e.code === 'OFFLINE');
  await h.accept();
  const p = h.client.send('s', 'x');
  h.server().drop(1006);
  await assert.rejects(p, (e) => e.code === 'DISCONNECTED');
  h.clock.advance(1000);
  const ws = await h.accept();
  assert.equal(ws.commands('chat.send').length, 0, 'a prompt is never re-sent by the client');
});

test('abort resolves with the run end', async () => {
  const h = await harness();
  h.client.subscribe('s');
  const ws = h.server();
  ws.receive(ev(1, 'run.started'));
  const p = h.client.abort('s', 'r1');
  assert.deepEqual(ws.commands('chat.abort').map(({ sessionId, runId }) => [sessionId, runId]), [['s', 'r1']]);
  ws.receive(ev(2, 'run.aborted', outcome('ABORTED', { abortedBy: 'alice' })));
  const end = await p;
  assert.equal(end.state, 'aborted');
});

test('a refused subscribe is reported on the subscription and not retried', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  let ws = h.server();
  ws.receive({ kind: 'protocol_error', code: 'SESSION_NOT_FOUND', message: 'no', sessionId: null, ref: lastSubscribe(ws).ref });
  assert.deepEqual(log.of('error').map((e) => e.code), ['SESSION_NOT_FOUND']);
  assert.equal(sub.state, 'refused');
  ws.drop(1006);
  h.clock.advance(1000);
  ws = await h.accept();
  assert.equal(ws.commands('chat.subscribe').length, 0);
});

test('unsubscribe tells the server and optionally forgets the stored positions', async () => {
  const storage = memoryStorage();
  const h = await harness({ storage });
  const sub = h.client.subscribe('s');
  h.server().receive(ev(1, 'run.started'));
  sub.unsubscribe({ forget: true });
  assert.deepEqual(h.server().commands('chat.unsubscribe').map((m) => m.sessionId), ['s']);
  assert.equal(storage.getItem('runlane:s:s'), null);
  const log = record(sub);
  h.server().receive(ev(2));
  assert.equal(log.of('event').length, 0);
});

// ------------------------------------------------------------------ approvals

test('approvals: pending on subscribe, shown once, resolved by this client', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const ws = h.server();
  const ap = { approvalId: 'a1', runId: 'r1', sessionId: 's', payload: { tool: 'word_count' }, expiresAt: null };
  ws.receive(ack(lastSubscribe(ws).ref, { headSeq: 3, replayFrom: 1, replayTo: 3, pendingApprovals: [ap] }));
  ws.receive({ kind: 'approval_requested', ...ap }); // the live copy of the same approval
  assert.equal(log.of('approvalRequested').length, 1);
  assert.equal(log.of('approvalRequested')[0].fromAck, true);
  assert.deepEqual(sub.pendingApprovals().map((a) => a.approvalId), ['a1']);

  const p = h.client.resolveApproval('a1', { allow: true, message: 'ok' });
  const cmd = ws.commands('chat.approval')[0];
  assert.deepEqual([cmd.approvalId, cmd.allow, cmd.message], ['a1', true, 'ok']);
  const resolved = { kind: 'approval_resolved', approvalId: 'a1', runId: 'r1', sessionId: 's', resolution: 'ANSWERED', decision: { allow: true, message: 'ok' }, by: 'alice' };
  ws.receive(resolved);
  ws.receive(resolved);
  assert.equal((await p).by, 'alice');
  assert.equal(log.of('approvalResolved').length, 1);
  assert.equal(sub.pendingApprovals().length, 0);
  assert.throws(() => h.client.resolveApproval('a1', 'yes'), TypeError);
});

test('approvals resolved elsewhere: live, while away, or by the run ending', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  let ws = h.server();
  const ap = (id) => ({ kind: 'approval_requested', approvalId: id, runId: 'r1', sessionId: 's', payload: {}, expiresAt: null });
  ws.receive(ev(1, 'run.started'));
  ws.receive(ap('a1'));
  ws.receive({ kind: 'approval_resolved', approvalId: 'a1', runId: 'r1', sessionId: 's', resolution: 'ANSWERED', decision: { allow: false }, by: 'bob' });
  ws.receive(ap('a2'));
  ws.drop(1006);
  h.clock.advance(1000);
  ws = await h.accept();
  const subs = ws.commands('chat.subscribe');
  ws.receive(ack(subs[0].ref, { requestedLastSeq: 1, headSeq: 1, replayFrom: 2, replayTo: 1, pendingApprovals: [] }));
  ws.receive(ap('a3'));
  ws.receive(ev(2, 'run.completed', outcome()));
  ws.receive({ kind: 'approval_resolved', approvalId: 'a3', runId: 'r1', sessionId: 's', resolution: 'RUN_ENDED', decision: null, by: null });
  assert.deepEqual(log.of('approvalResolved').map((r) => [r.approvalId, r.resolution, r.by]), [
    ['a1', 'ANSWERED', 'bob'], ['a2', 'UNKNOWN', null], ['a3', 'RUN_ENDED', null],
  ]);
  await assert.rejects(
    (async () => {
      const p = h.client.resolveApproval('a3', false);
      ws.receive({ kind: 'protocol_error', code: 'UNKNOWN_APPROVAL', message: 'gone', sessionId: null, ref: ws.commands('chat.approval')[0].ref });
      return p;
    })(),
    (e) => e.code === 'UNKNOWN_APPROVAL',
  );
});

// ------------------------------------------------------------------ the paired stream socket

test('pairs the stream socket before subscribing, and reads events from it', async () => {
  const h = await harness({ welcome: { streamTransport: true, connectionId: 'C9', generation: 7 } });
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const primary = FakeWebSocket.all[0];
  await flush();
  const stream = FakeWebSocket.all[1];
  assert.equal(stream.query.get('primary'), 'C9');
  assert.equal(stream.query.get('generation'), '7');
  assert.equal(stream.query.get('ticket'), 't2', 'the stream socket has its own one-time ticket');
  stream.open();
  assert.equal(primary.commands('chat.subscribe').length, 0, 'no stream frame may be queued before the pairing');
  primary.receive({ kind: 'stream_paired', connectionId: 'C9', generation: 7 });
  assert.equal(primary.commands('chat.subscribe').length, 1);
  primary.receive(ack(lastSubscribe(primary).ref, {}));
  stream.receive(ev(1, 'run.started'));
  stream.receive(ev(2));
  assert.deepEqual(log.of('event').map((e) => e.seq), [1, 2]);
  assert.equal(stream.sent.length, 0, 'commands travel on the primary only');
  h.clock.advance(20000);
  assert.equal(stream.commands('ping').length, 1, 'the stream socket shows signs of life too');

  // losing the stream socket ends the pair: both are closed, the client reconnects both
  stream.drop(4002);
  assert.notEqual(primary.closedWith, null);
  h.clock.advance(1000);
  await flush();
  assert.equal(FakeWebSocket.all.length, 3);
});

test('a refused pairing (4003) or a silent one falls back to the primary alone', async () => {
  for (const how of ['refused', 'timeout']) {
    const h = await harness({ welcome: { streamTransport: true }, client: { pairTimeoutMs: 3000 } });
    h.client.subscribe('s');
    const primary = FakeWebSocket.all[0];
    await flush();
    const stream = FakeWebSocket.all[1];
    const refusals = [];
    h.client.on('streamRefused', (r) => refusals.push(r.reason));
    if (how === 'refused') stream.drop(4003);
    else h.clock.advance(3000);
    assert.equal(primary.commands('chat.subscribe').length, 1, how);
    assert.equal(primary.closedWith, null, 'the primary stays open: ' + how);
    assert.deepEqual(refusals, [how]);
    assert.equal(h.client.state, 'open');
  }
});

test('no pairing when the client opts out or the welcome does not offer it', async () => {
  const h = await harness({ welcome: { streamTransport: true }, client: { streamTransport: false } });
  h.client.subscribe('s');
  await flush();
  assert.equal(FakeWebSocket.all.length, 1);
  assert.equal(FakeWebSocket.all[0].commands('chat.subscribe').length, 1);
});

// ------------------------------------------------------------------ robustness

test('unknown kinds, bad JSON and throwing handlers do not break the bookkeeping', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const seqs = [];
  sub.on('event', (e) => {
    seqs.push(e.seq);
    if (e.seq === 2) throw new Error('app bug');
  });
  const ws = h.server();
  ws.receive('not json');
  ws.receive({ kind: 'from_the_future', x: 1 });
  for (let s = 1; s <= 3; s++) ws.receive(ev(s));
  ws.receive(ev(2));
  assert.deepEqual(seqs, [1, 2, 3]);
  assert.equal(h.errors.length, 1);
  assert.equal(sub.position().lastSeq, 3);
});

test('status frames and notices reach the right handlers; statuses of ended runs are dropped', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const global = [];
  h.client.on('notice', (n) => global.push(n.type));
  const ws = h.server();
  ws.receive(ev(1, 'run.started'));
  ws.receive({ kind: 'status', runId: 'r1', sessionId: 's', key: 'phase', data: 'thinking' });
  ws.receive({ kind: 'notice', sessionId: 's', type: 'presence', data: ['alice'] });
  ws.receive({ kind: 'notice', sessionId: null, type: 'reload', data: null });
  ws.receive(ev(2, 'run.completed', outcome()));
  ws.receive({ kind: 'status', runId: 'r1', sessionId: 's', key: 'phase', data: 'late' });
  assert.deepEqual(log.of('status').map((s) => s.data), ['thinking']);
  assert.deepEqual(log.of('notice').map((n) => n.type), ['presence']);
  assert.deepEqual(global, ['reload']);
});
