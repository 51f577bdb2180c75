// Protocol 2 (docs/reference/protocol.md, "Protocol 2: compact run events"): the hello after the
// welcome, the fallback to 1, and compact events decoded into the same event objects as full ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunlaneClient, MAX_PROTOCOL, memoryStorage } from '../src/runlane-client.js';
import { FakeClock, FakeWebSocket, flush, welcome, ev, ack, outcome, EPOCH } from './fakes.js';

async function harness(clientOptions = {}, storage = memoryStorage()) {
  FakeWebSocket.reset();
  const clock = new FakeClock();
  const client = new RunlaneClient({
    url: 'ws://test/ws',
    getTicket: async () => ({ ticket: 't' }),
    WebSocket: FakeWebSocket,
    timers: clock.api,
    random: () => 0.5,
    storage,
    ...clientOptions,
  });
  const h = {
    client, clock,
    async accept() {
      await flush();
      const ws = FakeWebSocket.last();
      ws.open();
      ws.receive(welcome());
      return ws;
    },
  };
  return h;
}

/** The compact form of a run event of fakes.ev. */
function cev(seq, type = 'delta', data = { text: 't' + seq }, runId = 'r1') {
  return [runId, seq, type, data];
}

function events(sub) {
  const out = [];
  for (const name of ['started', 'event', 'end', 'completed', 'truncated']) sub.on(name, (e) => out.push([name, e]));
  return out;
}

/** Welcomes, answers the hello with `granted`, acks the subscribe of session 's'. */
async function negotiated(h, granted = 2, ackExtra = {}) {
  const ws = await h.accept();
  const hello = ws.commands('hello')[0];
  ws.receive({ kind: 'hello', protocol: granted, ref: hello.ref });
  const sub = ws.commands('chat.subscribe')[0];
  if (sub) ws.receive(ack(sub.ref, ackExtra));
  return ws;
}

test('protocol 2 by default: the hello is the first command after the welcome; the answer sets client.protocol', async () => {
  const h = await harness();
  h.client.subscribe('s');
  const seen = [];
  h.client.on('protocol', (p) => seen.push(p));
  const ws = await h.accept();
  assert.equal(ws.sent[0].type, 'hello', 'before the subscribes');
  assert.equal(ws.sent[0].protocol, 2, 'joined messages (3) are opt-in');
  assert.equal(MAX_PROTOCOL, 3);
  assert.ok(typeof ws.sent[0].ref === 'string');
  assert.equal(ws.sent[1].type, 'chat.subscribe');
  assert.equal(h.client.protocol, 1, 'on 1 until the server grants more');
  ws.receive({ kind: 'hello', protocol: 2, ref: ws.sent[0].ref }); // a server that knows only 2
  assert.equal(h.client.protocol, 2);
  assert.deepEqual(seen, [{ protocol: 2, refused: null }]);
});

test('protocol: 1 sends no hello', async () => {
  const h = await harness({ protocol: 1 });
  h.client.subscribe('s');
  const ws = await h.accept();
  assert.equal(ws.commands('hello').length, 0);
  assert.equal(ws.sent[0].type, 'chat.subscribe');
  assert.throws(() => new RunlaneClient({ ticket: 'x', WebSocket: FakeWebSocket, protocol: 0, autoConnect: false }), TypeError);
});

test('a server that does not know hello refuses it: the client stays on 1, quietly, and works', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const errors = [];
  h.client.on('error', (e) => errors.push(e));
  sub.on('error', (e) => errors.push(e));
  const seen = [];
  h.client.on('protocol', (p) => seen.push(p));
  const log = events(sub);
  const ws = await h.accept();
  const hello = ws.commands('hello')[0];
  ws.receive({ kind: 'protocol_error', code: 'UNKNOWN_MESSAGE_TYPE', message: 'unknown message type "hello"', sessionId: null, ref: hello.ref });
  assert.equal(h.client.protocol, 1);
  assert.deepEqual(seen, [{ protocol: 1, refused: 'UNKNOWN_MESSAGE_TYPE' }]);
  assert.deepEqual(errors, [], 'the refusal is not an application error');
  ws.receive(ack(ws.commands('chat.subscribe')[0].ref));
  ws.receive(ev(1, 'run.started', 'Hi'));
  ws.receive(ev(2));
  assert.deepEqual(log.filter(([n]) => n === 'event').map(([, e]) => e.seq), [1, 2]);
});

test('both forms decode into identical event objects, ends included', async () => {
  const full = await harness({ protocol: 1 });
  const fullSub = full.client.subscribe('s');
  const fullLog = events(fullSub);
  const fws = await full.accept();
  fws.receive(ack(fws.commands('chat.subscribe')[0].ref));
  const compact = await harness();
  const compactSub = compact.client.subscribe('s');
  const compactLog = events(compactSub);
  const cws = await negotiated(compact);

  const data = [{ text: 'a' }, 'plain', 42, null, { nested: [1, { q: '"}]' }] }];
  fws.receive(ev(1, 'run.started', 'Hi'));
  cws.receive(ev(1, 'run.started', 'Hi')); // run.* events stay full objects
  data.forEach((d, i) => {
    fws.receive(ev(i + 2, 'delta', d));
    cws.receive(cev(i + 2, 'delta', d));
  });
  fws.receive(ev(7, 'run.completed', outcome('COMPLETED', { terminalSeq: 7 })));
  cws.receive(ev(7, 'run.completed', outcome('COMPLETED', { terminalSeq: 7 })));

  assert.deepEqual(compactLog, fullLog);
  assert.equal(compactLog.filter(([n]) => n === 'event').length, 7);
  const e = compactLog.find(([n, x]) => n === 'event' && x.seq === 3)[1];
  assert.deepEqual(e, { runId: 'r1', sessionId: 's', seq: 3, epoch: EPOCH, type: 'delta', data: 'plain' });
  assert.equal(compact.client.stats.compactEvents, 5);
  assert.equal(full.client.stats.compactEvents, 0);
});

test('a compact event is accepted at any time, even before the hello answer (frames already queued)', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = events(sub);
  const ws = await h.accept();
  ws.receive(ack(ws.commands('chat.subscribe')[0].ref, { headSeq: 2, replayFrom: 1, replayTo: 2 }));
  ws.receive(ev(1, 'run.started', 'Hi'));
  ws.receive(cev(2)); // before the hello answer
  ws.receive({ kind: 'hello', protocol: 2, ref: ws.commands('hello')[0].ref });
  ws.receive(ev(3)); // a full one after it: still fine
  ws.receive(cev(4));
  assert.deepEqual(log.filter(([n]) => n === 'event').map(([, e]) => [e.seq, e.sessionId, e.epoch]),
    [[1, 's', EPOCH], [2, 's', EPOCH], [3, 's', EPOCH], [4, 's', EPOCH]]);
});

test('the ack alone maps a run: a resume replays compact events of a run whose run.started is not replayed', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = events(sub);
  const ws = await negotiated(h, 2, { runId: 'r9', epoch: 'e9', headSeq: 12, oldestSeq: 10, replayFrom: 10, replayTo: 12, truncated: true, status: 'TRUNCATED' });
  for (const s of [10, 11, 12]) ws.receive(cev(s, 'delta', 'x' + s, 'r9'));
  const got = log.filter(([n]) => n === 'event').map(([, e]) => e);
  assert.deepEqual(got.map((e) => [e.runId, e.sessionId, e.epoch, e.seq, e.data]),
    [['r9', 's', 'e9', 10, 'x10'], ['r9', 's', 'e9', 11, 'x11'], ['r9', 's', 'e9', 12, 'x12']]);
  assert.equal(h.client.stats.unmappedDropped, 0);
});

test('resume after a drop uses the lastSeq and epoch of compact events; the replay is not doubled', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = events(sub);
  let ws = await negotiated(h);
  ws.receive(ev(1, 'run.started', 'Hi'));
  for (const s of [2, 3, 4]) ws.receive(cev(s));
  ws.drop(4000);
  h.clock.advance(1000);
  ws = await h.accept();
  assert.equal(ws.sent[0].type, 'hello', 'every new connection says hello again');
  assert.equal(h.client.protocol, 1, 'a new connection starts on 1');
  ws.receive({ kind: 'hello', protocol: 2, ref: ws.sent[0].ref });
  const subs = ws.commands('chat.subscribe');
  assert.deepEqual(subs.map((s) => s.sessions[0]), [
    { sessionId: 's', runId: 'r1', lastSeq: 4, epoch: EPOCH },
    { sessionId: 's', lastSeq: 4, epoch: EPOCH },
  ]);
  ws.receive(ack(subs[0].ref, { requestedLastSeq: 4, headSeq: 6, replayFrom: 5, replayTo: 6 }));
  ws.receive(ack(subs[1].ref, { requestedLastSeq: 4, headSeq: 6, replayFrom: 7, replayTo: 6 }));
  ws.receive(cev(4)); // an overlap: dropped by seq
  for (const s of [5, 6]) ws.receive(cev(s));
  assert.deepEqual(log.filter(([n]) => n === 'event').map(([, e]) => e.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(log.filter(([n]) => n === 'truncated').length, 0);
  assert.equal(h.client.stats.duplicatesDropped, 1);
});

test('a reload maps compact events from the stored positions too', async () => {
  const storage = memoryStorage();
  const first = await harness({}, storage);
  first.client.subscribe('s');
  const ws1 = await negotiated(first);
  ws1.receive(ev(1, 'run.started', 'Hi'));
  ws1.receive(cev(2));
  first.client.close();

  const h = await harness({}, storage);
  const sub = h.client.subscribe('s');
  const log = events(sub);
  const ws = await h.accept();
  ws.receive({ kind: 'hello', protocol: 2, ref: ws.commands('hello')[0].ref });
  assert.equal(ws.commands('chat.subscribe')[0].sessions[0].lastSeq, 2);
  ws.receive(cev(3)); // even before its ack (never sent so by a server, but harmless)
  assert.deepEqual(log.filter(([n]) => n === 'event').map(([, e]) => [e.seq, e.sessionId, e.epoch]), [[3, 's', EPOCH]]);
});

test('a compact event of a run the client cannot map is dropped and counted, not guessed', async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = events(sub);
  const ws = await negotiated(h, 2, { runId: null, epoch: null, status: 'UNKNOWN_RUN' });
  ws.receive(cev(5, 'delta', 'x', 'r-unknown'));
  ws.receive(['bad']);
  assert.equal(log.length, 0);
  assert.equal(h.client.stats.unmappedDropped, 1);
});
