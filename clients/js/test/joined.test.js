// Protocol 3 (docs/reference/protocol.md, "Protocol 3: joined messages"): the hello asks for 3, and a
// WebSocket text message may carry several messages joined by "\n", handled exactly as if each had
// arrived alone. The frames are the protocol page's own (run run_FukfjVWw_1 of alice/chat).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunlaneClient, MAX_PROTOCOL, DEFAULT_PROTOCOL, memoryStorage } from '../src/runlane-client.js';
import { FakeClock, FakeWebSocket, FakeEventSource, fakeFetch, flush, welcome } from './fakes.js';

const RUN = 'run_FukfjVWw_1';
const SESSION = 'alice/chat';
const EPOCH = '865466891f5723d6';

/** A full run_event as the codec writes it (one line: a line feed in `data` is escaped as \n). */
function full(seq, data, type = 'delta') {
  return JSON.stringify({ kind: 'run_event', runId: RUN, sessionId: SESSION, seq, epoch: EPOCH, type, data });
}

/** The compact (protocol 2 and 3) form of a host run event. */
function compact(seq, data, type = 'delta') {
  return JSON.stringify([RUN, seq, type, data]);
}

/** A subscribed ack of the run, as on the protocol page. */
function subscribed(ref, extra = {}) {
  return JSON.stringify({
    kind: 'subscribed', ref, sessionId: SESSION, runId: RUN, epoch: EPOCH, status: 'EXACT', processing: true,
    headSeq: 6, oldestSeq: 1, replayFrom: 6, replayTo: 6, truncated: false, following: true,
    requestedLastSeq: 5, pendingApprovals: [], outcome: null, ...extra,
  });
}

/** A page reloaded after seq 5 of the run: it resumes with two targets (the run, then the session). */
function reloadedStorage() {
  const storage = memoryStorage();
  storage.setItem('runlane:s:' + SESSION, JSON.stringify({
    v: 1, runs: [{ runId: RUN, epoch: EPOCH, lastSeq: 5, ended: false, lost: false }], data: { text: 'Good question! Let me ' },
  }));
  return storage;
}

/** A client on a fake WebSocket, subscribed to alice/chat; `log` records every event in order. */
// these tests speak protocol 3 (opt-in) unless told otherwise
async function connected(clientOptions = { protocol: 3 }, { storage = reloadedStorage(), welcomeExtra = {} } = {}) {
  FakeWebSocket.reset();
  const clock = new FakeClock();
  const client = new RunlaneClient({
    url: 'ws://test/ws',
    getTicket: async () => ({ ticket: 't' }),
    WebSocket: FakeWebSocket,
    timers: clock.api,
    random: () => 0.5,
    storage,
    onHandlerError: () => {},
    ...clientOptions,
  });
  const sub = client.subscribe(SESSION);
  const log = [];
  for (const name of ['subscribed', 'started', 'event', 'end', 'completed', 'truncated', 'epochChanged', 'finished',
    'unknownRun', 'approvalRequested', 'approvalResolved', 'status', 'error', 'notice']) {
    sub.on(name, (e) => log.push([name, e]));
  }
  client.on('protocol', (p) => log.push(['protocol', p]));
  await flush();
  const ws = FakeWebSocket.last();
  ws.open();
  ws.receive(welcome(welcomeExtra));
  const hello = ws.commands('hello')[0];
  const [runTarget, sessionTarget] = ws.commands('chat.subscribe');
  return { client, clock, sub, log, ws, hello, runTarget, sessionTarget };
}

function grant(h, protocol = 3) {
  return JSON.stringify({ kind: 'hello', protocol, ref: h.hello.ref });
}

/** What two clients must agree on after the same frames. */
function outcomeOf(h) {
  return { log: h.log, position: h.sub.position(RUN), data: h.sub.data, protocol: h.client.protocol, stats: h.client.stats };
}

function thrown(fn) {
  try {
    fn();
    return null;
  } catch (e) {
    return e;
  }
}

test('the hello asks for 2 by default; 3 when asked (joined messages, opt-in), 1 sends none, and above 3 means 3', async () => {
  assert.equal(MAX_PROTOCOL, 3);
  assert.equal(DEFAULT_PROTOCOL, 2);
  for (const [option, asked] of [[undefined, 2], [3, 3], [2, 2], [1, null], [7, 3]]) {
    const h = await connected(option === undefined ? {} : { protocol: option });
    assert.equal(h.hello ? h.hello.protocol : null, asked, 'protocol option ' + option);
    if (asked) assert.equal(h.ws.sent[0].type, 'hello', 'the hello goes before the subscribes');
  }
  // the grant itself may be the first part of a joined message: nothing is lost waiting for it
  const h = await connected();
  h.ws.receive([grant(h), subscribed(h.runTarget.ref), compact(6, { text: 'think ' })].join('\n'));
  assert.equal(h.client.protocol, 3);
  assert.deepEqual(h.log.filter(([n]) => n === 'event').map(([, e]) => [e.seq, e.data.text]), [[6, 'think ']]);
});

test('a joined message of a compact event, a full run_event and an ack is handled exactly as the three sent alone', async () => {
  const alone = await connected();
  const joined = await connected();
  for (const h of [alone, joined]) {
    h.ws.receive(grant(h));
    h.ws.receive(subscribed(h.runTarget.ref));
  }
  const frames = (h) => [
    compact(6, { text: 'think ' }),
    full(7, { text: 'tool.\n' }), // the escaped line feed inside the string is no split point
    subscribed(h.sessionTarget.ref, { headSeq: 7, replayFrom: 8, replayTo: 7 }),
  ];
  for (const f of frames(alone)) alone.ws.receive(f);
  const message = frames(joined).join('\n');
  assert.equal(message.split('\n').length, 3, 'exactly two raw line feeds: the joins');
  joined.ws.receive(message);

  assert.deepEqual(outcomeOf(joined), outcomeOf(alone));
  // and what that is: both events once, in order, then the session's ack
  assert.deepEqual(joined.log.map(([n, e]) => (n === 'event' ? [n, e.seq, e.data.text] : [n])),
    [['protocol'], ['subscribed'], ['event', 6, 'think '], ['event', 7, 'tool.\n'], ['subscribed']]);
  assert.equal(joined.sub.position(RUN).lastSeq, 7);
  assert.equal(joined.client.stats.compactEvents, 1);
  assert.equal(joined.client.stats.eventsApplied, 2);
  assert.equal(joined.client.stats.malformedDropped, 0);
});

test('a malformed middle part is dropped and counted like a malformed lone message; the parts after it are handled', async () => {
  const broken = '{"kind":"run_event","runId":"run_FukfjVWw_1","seq":'; // cut short
  const frames = [compact(6, { text: 'think ' }), broken, full(7, { text: 'about ' }), compact(8, 'x'), 'not json'];
  const alone = await connected();
  const joined = await connected();
  for (const h of [alone, joined]) {
    h.ws.receive(grant(h));
    h.ws.receive(subscribed(h.runTarget.ref, { headSeq: 8, replayTo: 8 }));
  }
  for (const f of frames) alone.ws.receive(f);
  joined.ws.receive(frames.join('\n'));
  assert.deepEqual(outcomeOf(joined), outcomeOf(alone));
  assert.deepEqual(joined.log.filter(([n]) => n === 'event').map(([, e]) => e.seq), [6, 7, 8]);
  assert.equal(joined.client.stats.malformedDropped, 2);
  assert.equal(joined.log.filter(([n]) => n === 'truncated').length, 0, 'nothing skipped');
});

test('a part whose handling throws: the later parts are still handled, and the error leaves onmessage as a lone one would', async () => {
  // an ack whose pendingApprovals is not a list makes the client's handling throw (a lone one does today)
  const bad = (h) => subscribed(h.sessionTarget.ref, { pendingApprovals: 5 });
  const alone = await connected();
  const joined = await connected();
  for (const h of [alone, joined]) {
    h.ws.receive(grant(h));
    h.ws.receive(subscribed(h.runTarget.ref, { headSeq: 7, replayTo: 7 }));
  }
  const aloneErrors = [compact(6, { text: 'think ' }), bad(alone), full(7, { text: 'about ' })]
    .map((f) => thrown(() => alone.ws.receive(f)));
  assert.equal(aloneErrors[0], null);
  assert.ok(aloneErrors[1] instanceof TypeError, 'a lone malformed ack throws out of onmessage');
  assert.equal(aloneErrors[2], null);

  const error = thrown(() => joined.ws.receive([compact(6, { text: 'think ' }), bad(joined), full(7, { text: 'about ' })].join('\n')));
  assert.ok(error instanceof TypeError, 'the same error, after the last part was handled');
  assert.equal(error.message, aloneErrors[1].message);
  assert.deepEqual(outcomeOf(joined), outcomeOf(alone));
  assert.deepEqual(joined.log.filter(([n]) => n === 'event').map(([, e]) => e.seq), [6, 7]);

  // two throwing parts: both are reported, as one AggregateError
  const again = thrown(() => joined.ws.receive([bad(joined), compact(8, 'x'), bad(joined)].join('\n')));
  assert.ok(again instanceof AggregateError);
  assert.equal(again.errors.length, 2);
  assert.equal(joined.sub.position(RUN).lastSeq, 8);
});

test('a message without a raw line feed is one message, as before; a line feed escaped in a string never splits', async () => {
  const h = await connected();
  h.ws.receive(grant(h));
  h.ws.receive(subscribed(h.runTarget.ref, { headSeq: 9, replayTo: 9 }));
  const six = full(6, { text: 'tool.\n' });
  const seven = compact(7, { text: 'line one\nline two\r\n' });
  assert.ok(six.includes('\\n') && !six.includes('\n'), 'the codec escapes it: no raw line feed');
  h.ws.receive(six);
  h.ws.receive(seven);
  // the same kind of messages joined: each is still one part
  h.ws.receive([full(8, { text: 'a\nb' }), compact(9, 'c\nd')].join('\n'));
  assert.deepEqual(h.log.filter(([n]) => n === 'event').map(([, e]) => [e.seq, typeof e.data === 'string' ? e.data : e.data.text]),
    [[6, 'tool.\n'], [7, 'line one\nline two\r\n'], [8, 'a\nb'], [9, 'c\nd']]);
  assert.equal(h.client.stats.malformedDropped, 0);
});

test('a server granting 2 works as before (lone messages, both forms); a line feed is split even then', async () => {
  const h = await connected();
  h.ws.receive(grant(h, 2));
  assert.equal(h.client.protocol, 2);
  assert.deepEqual(h.log.find(([n]) => n === 'protocol')[1], { protocol: 2, refused: null });
  h.ws.receive(subscribed(h.runTarget.ref, { headSeq: 9, replayTo: 9 }));
  h.ws.receive(compact(6, { text: 'think ' }));
  h.ws.receive(full(7, { text: 'about ' }));
  // a server of protocol 2 never sends a raw line feed; splitting anyway is harmless (see _onMessage)
  h.ws.receive([compact(8, 'x'), compact(9, 'y')].join('\n'));
  assert.deepEqual(h.log.filter(([n]) => n === 'event').map(([, e]) => e.seq), [6, 7, 8, 9]);
  assert.equal(h.sub.position(RUN).lastSeq, 9);
});

test('a joined message on the paired stream socket is split the same way', async () => {
  const h = await connected({ protocol: 3 }, { welcomeExtra: { streamTransport: true, connectionId: 'C9', generation: 7 } });
  await flush();
  const stream = FakeWebSocket.all[1];
  stream.open();
  h.ws.receive(JSON.stringify({ kind: 'stream_paired', connectionId: 'C9', generation: 7 }));
  h.ws.receive(grant(h));
  const [runTarget] = h.ws.commands('chat.subscribe');
  h.ws.receive(subscribed(runTarget.ref, { headSeq: 8, replayTo: 8 }));
  stream.receive([full(6, { text: 'think ' }), full(7, { text: 'about ' }), full(8, { text: 'tool.\n' })].join('\n'));
  assert.deepEqual(h.log.filter(([n]) => n === 'event').map(([, e]) => e.seq), [6, 7, 8]);
});

test('a part after which the application closed the client is dropped, as a later message would be', async () => {
  const alone = await connected();
  const joined = await connected();
  for (const h of [alone, joined]) {
    h.ws.receive(grant(h));
    h.ws.receive(subscribed(h.runTarget.ref, { headSeq: 8, replayTo: 8 }));
    h.sub.on('event', (e) => { if (e.seq === 6) h.client.close(); });
  }
  const frames = [compact(6, 'think '), compact(7, 'about '), compact(8, 'x')];
  for (const f of frames) alone.ws.receive(f);
  joined.ws.receive(frames.join('\n'));
  assert.deepEqual(outcomeOf(joined), outcomeOf(alone));
  assert.deepEqual(joined.log.filter(([n]) => n === 'event').map(([, e]) => e.seq), [6]);
  assert.equal(joined.client.state, 'closed');
});

test('sse: nothing is split; data spread over several lines is handled whole, as before', async () => {
  FakeEventSource.reset();
  const fetch = fakeFetch();
  const client = new RunlaneClient({
    protocol: 3,
    transport: 'sse', url: 'http://test/runlane/sse', EventSource: FakeEventSource, fetch,
    timers: new FakeClock().api, random: () => 0.5, storage: reloadedStorage(),
  });
  const sub = client.subscribe(SESSION);
  const seqs = [];
  sub.on('event', (e) => seqs.push(e.seq));
  await flush();
  const es = FakeEventSource.last();
  es.open('k1');
  es.receive(welcome());
  await flush();
  const [hello] = fetch.commands('k1', 'hello');
  assert.equal(hello.protocol, 3, 'over SSE the hello may ask for 3 too (the server just never joins there)');
  es.receive(JSON.stringify({ kind: 'hello', protocol: 3, ref: hello.ref }));
  es.receive(subscribed(null, { headSeq: 8, replayTo: 8 }));
  // one object over two `data:` lines (the EventSource joins them with "\n"): one message, as before
  es.receive(full(6, 'think ').replace(',"seq"', ',\n"seq"'));
  // two messages joined: never sent over SSE; handled whole (not JSON, dropped), as before
  es.receive([compact(7, 'about '), compact(8, 'x')].join('\n'));
  assert.deepEqual(seqs, [6]);
  assert.equal(client.stats.malformedDropped, 1);
  client.close();
});
