// Unit tests of the client's SSE flavour (transport: 'sse') against a scripted EventSource, a
// recording fetch and a manual clock: node --test test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunlaneClient, memoryStorage } from '../src/runlane-client.js';
import { FakeClock, FakeEventSource, fakeFetch, flush, welcome, ev, ack, outcome, sseId, EPOCH } from './fakes.js';

/** A client on the SSE flavour; `es()` is the newest EventSource, `fetch` records the POSTs. */
async function harness(options = {}, { connect = true } = {}) {
  FakeEventSource.reset();
  const clock = new FakeClock();
  const fetch = options.fetch || fakeFetch();
  const errors = [];
  const client = new RunlaneClient({
    transport: 'sse',
    url: 'http://test/runlane/sse?user=alice',
    EventSource: FakeEventSource,
    fetch,
    timers: clock.api,
    random: () => 0.5,
    storage: options.storage || memoryStorage(),
    onHandlerError: (e) => errors.push(e),
    ...options.client,
  });
  const h = {
    client, clock, fetch, errors,
    es: () => FakeEventSource.last(),
    /** Opens the newest stream with `token` and welcomes it. */
    async accept(token = 'k1', w = {}) {
      await flush();
      const es = FakeEventSource.last();
      es.open(token);
      es.receive(welcome(w));
      await flush();
      return es;
    },
  };
  if (connect) await h.accept();
  return h;
}

function record(sub) {
  const log = [];
  for (const name of ['subscribed', 'event', 'end', 'truncated', 'error']) sub.on(name, (e) => log.push([name, e]));
  log.of = (name) => log.filter(([n]) => n === name).map(([, e]) => e);
  return log;
}

/** A run event as the SSE servlet sends it: with its id. */
function runEvent(es, seq, type = 'delta') {
  const m = ev(seq, seq === 1 ? 'run.started' : type);
  es.receive(m, sseId(m));
}

test('sse: streams over an EventSource at the url and POSTs commands to ?stream=<token>, no ticket needed', async () => {
  const h = await harness({}, { connect: false });
  const sub = h.client.subscribe('s');
  await flush();
  const es = h.es();
  assert.equal(es.url, 'http://test/runlane/sse?user=alice');
  assert.equal(h.client.transport, 'sse');
  assert.equal(h.fetch.posts.length, 0, 'nothing is sent before the stream token and the welcome');
  es.open('k1');
  es.receive(welcome({ streamTransport: true }));
  await flush();
  assert.equal(h.client.state, 'open');
  const subs = h.fetch.commands('k1', 'chat.subscribe');
  assert.equal(subs.length, 1);
  assert.deepEqual(subs[0].sessions, [{ sessionId: 's', lastSeq: 0 }]);
  assert.equal(h.fetch.posts[0].method, 'POST');
  assert.equal(h.fetch.posts[0].query.get('user'), 'alice', 'the stream URL (its credentials) is kept');
  assert.equal(FakeEventSource.all.length, 1, 'no paired stream socket over SSE');
  es.receive(ack(subs[0].ref, { runId: null, epoch: null, status: 'NO_RUN_YET' }));
  assert.equal(sub.state, 'subscribed');
});

test('sse: commands go up one at a time, in order (a POST waits for the previous answer)', async () => {
  const fetch = fakeFetch({ auto: false });
  const h = await harness({ fetch }, { connect: false });
  h.client.subscribe('a');
  h.client.subscribe('b');
  await h.accept();
  assert.equal(fetch.posts.length, 1, 'the next command waits');
  assert.deepEqual(JSON.parse(fetch.posts[0].body), { type: 'hello', protocol: 2, ref: JSON.parse(fetch.posts[0].body).ref },
    'the hello is the first POSTed command');
  fetch.posts[0].answer(202);
  await flush();
  await flush();
  assert.equal(fetch.posts.length, 2, 'the second command waits');
  assert.equal(JSON.parse(fetch.posts[1].body).sessions[0].sessionId, 'a');
  fetch.posts[1].answer(202);
  await flush();
  await flush();
  assert.equal(fetch.posts.length, 3);
  assert.equal(JSON.parse(fetch.posts[2].body).sessions[0].sessionId, 'b');
});

test("sse: the browser's own reconnect (Last-Event-ID) resumes exactly: nothing doubled, nothing missing", async () => {
  const h = await harness();
  const sub = h.client.subscribe('s');
  const log = record(sub);
  const states = [];
  const drops = [];
  h.client.on('state', (s) => states.push(s));
  h.client.on('disconnected', (d) => drops.push(d));
  await flush();
  const es = h.es();
  const first = h.fetch.commands('k1', 'chat.subscribe')[0];
  es.receive(ack(first.ref, { headSeq: 0 }));
  for (let s = 1; s <= 5; s++) runEvent(es, s);
  const send = h.client.send('s', 'hello');
  await flush();
  assert.equal(es.lastEventId, 's ' + EPOCH + ' 5');

  es.interrupt(); // the network dropped; the browser re-opens the same EventSource by itself
  await assert.rejects(send, (e) => e.code === 'DISCONNECTED', 'a command in flight is not silently lost');
  assert.equal(h.client.state, 'connecting');
  assert.deepEqual(drops, [{ code: 1006, reason: 'stream interrupted', willReconnect: true, delayMs: null }]);
  assert.equal(FakeEventSource.all.length, 1, 'the browser reconnects; the client opens no second stream');

  // the new stream: token, welcome, then the server's resume from Last-Event-ID (an ack without ref)
  es.open('k2');
  es.receive(welcome({ connectionId: 'c2' }));
  await flush();
  assert.equal(h.client.state, 'open');
  es.receive(ack(undefined, { requestedLastSeq: 5, headSeq: 8, replayFrom: 6, replayTo: 8 }));
  runEvent(es, 6);
  runEvent(es, 7);
  // the client's own resubscribe went to the new token, from its stored position
  const again = h.fetch.commands('k2', 'chat.subscribe');
  assert.deepEqual(again.map((c) => c.sessions[0]), [
    { sessionId: 's', runId: 'r1', lastSeq: 5, epoch: EPOCH },
    { sessionId: 's', lastSeq: 5, epoch: EPOCH },
  ]);
  assert.equal(h.fetch.commands('k1', 'chat.subscribe').length, 1, 'nothing more to the dead stream');
  // its acks and their overlapping replay arrive; the overlap is dropped by seq
  for (const c of again) es.receive(ack(c.ref, { requestedLastSeq: 5, headSeq: 8, replayFrom: 6, replayTo: 8 }));
  for (const s of [6, 7, 8]) runEvent(es, s);
  const end = ev(9, 'run.completed', outcome());
  es.receive(end, sseId(end));
  assert.deepEqual(log.of('event').map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(log.of('end').length, 1);
  assert.equal(log.of('truncated').length, 0);
  assert.equal(h.client.stats.duplicatesDropped, 2, 'seqs 6 and 7 came twice');
  assert.equal(h.client.stats.reconnects, 1);
});

test('sse: a stream that does not come back within connectTimeoutMs is replaced by the client', async () => {
  const h = await harness({ client: { connectTimeoutMs: 3000 } });
  const sub = h.client.subscribe('s');
  await flush();
  const es = h.es();
  for (let s = 1; s <= 3; s++) runEvent(es, s);
  es.interrupt();
  h.clock.advance(3000);
  assert.ok(es.closed, 'the silent EventSource is closed');
  h.clock.advance(1000); // backoff
  await flush();
  assert.equal(FakeEventSource.all.length, 2);
  const es2 = await h.accept('k9');
  assert.notEqual(es2, es);
  assert.deepEqual(h.fetch.commands('k9', 'chat.subscribe').map((c) => c.sessions[0]), [
    { sessionId: 's', runId: 'r1', lastSeq: 3, epoch: EPOCH },
    { sessionId: 's', lastSeq: 3, epoch: EPOCH },
  ]);
  assert.equal(sub.position('r1').lastSeq, 3);
});

test('sse: when the browser gives up (an HTTP error answer) the client reconnects with backoff', async () => {
  const h = await harness();
  h.client.subscribe('s');
  await flush();
  const es = h.es();
  runEvent(es, 1);
  const drops = [];
  h.client.on('disconnected', (d) => drops.push(d));
  es.fail();
  assert.equal(drops.length, 1);
  assert.equal(drops[0].code, 1006);
  assert.equal(drops[0].willReconnect, true);
  h.clock.advance(drops[0].delayMs);
  await flush();
  assert.equal(FakeEventSource.all.length, 2);
  await h.accept('k2');
  assert.equal(h.fetch.commands('k2', 'chat.subscribe')[1].sessions[0].lastSeq, 1);
});

test("sse: the server's runlane.close ends the stream; 1000 and 4401 are final, others reconnect", async () => {
  for (const [code, again] of [[1000, false], [4401, false], [1001, true], [4000, true]]) {
    const h = await harness();
    const es = h.es();
    es.named('runlane.close', code + ' bye now');
    assert.ok(es.closed, 'no automatic browser reconnect after a close');
    h.clock.advance(20000);
    await flush();
    assert.equal(FakeEventSource.all.length, again ? 2 : 1, 'code ' + code);
  }
});

test('sse: close() closes the EventSource and tells the server', async () => {
  const h = await harness();
  const es = h.es();
  h.client.close();
  assert.ok(es.closed);
  assert.equal(h.client.state, 'closed');
  await flush();
  const closes = h.fetch.posts.filter((p) => p.query.has('close'));
  assert.equal(closes.length, 1);
  assert.equal(closes[0].query.get('stream'), 'k1');
  assert.equal(closes[0].query.get('close'), '1000');
});

test('sse: a refused POST rejects its command with HTTP_<status>; a 404 (stream gone) reconnects', async () => {
  const fetch = fakeFetch({ auto: false });
  const h = await harness({ fetch });
  assert.equal(JSON.parse(fetch.posts[0].body).type, 'hello');
  fetch.posts[0].answer(202);
  await flush();
  const send = h.client.send('s', 'x'.repeat(10));
  await flush();
  fetch.posts[1].answer(413);
  await assert.rejects(send, (e) => e.code === 'HTTP_413');
  const drops = [];
  h.client.on('disconnected', (d) => drops.push(d));
  const send2 = h.client.send('s', 'y');
  await flush();
  await flush();
  fetch.posts[2].answer(404);
  await assert.rejects(send2, (e) => e.code === 'DISCONNECTED');
  assert.equal(drops.length, 1);
  assert.ok(h.es().closed);
});

test('sse: the constructor needs no ticket but an EventSource and fetch; the default URL is /runlane/sse', async () => {
  assert.throws(() => new RunlaneClient({ transport: 'sse', url: 'http://x/sse', EventSource: undefined, fetch: () => null }), TypeError);
  assert.throws(() => new RunlaneClient({ transport: 'carrier-pigeon', ticket: 't' }), TypeError);
  FakeEventSource.reset();
  const prev = globalThis.location;
  globalThis.location = { protocol: 'https:', host: 'chat.example' };
  try {
    const c = new RunlaneClient({ transport: 'sse', EventSource: FakeEventSource, fetch: fakeFetch(), storage: memoryStorage() });
    await flush();
    c.close();
  } finally {
    globalThis.location = prev;
  }
  assert.equal(FakeEventSource.last().url, 'https://chat.example/runlane/sse');
});
