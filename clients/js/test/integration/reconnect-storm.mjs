// Reconnect storm: 10 users with 5 clients each (50 clients) follow their user's session while one
// client per user starts a run; every socket is dropped twice mid-run (close code 3000, so every
// client reconnects with backoff and resumes). Each client must see every event of its run exactly
// once, seqs contiguous from 1 to the terminal, exactly one end, and the same text as the outcome.
import { client, follow, run, waitFor, check, checkContiguous, sleep } from './support.mjs';

const USERS = Number(process.env.STORM_USERS || 10);
const TABS = Number(process.env.STORM_TABS || 5);
const ROUNDS = 2;

run('reconnect-storm', async (clients) => {
  const tabs = [];
  for (let u = 0; u < USERS; u++) {
    for (let t = 0; t < TABS; t++) {
      // every other tab opts in to protocol 3: its resumes' replays may arrive joined
      const c = client('storm' + u, t % 2 === 0 ? { client: { protocol: 3 } } : {});
      clients.push(c);
      tabs.push({ c, user: u, log: follow(c, 'storm' + u + '/chat') });
    }
  }
  await waitFor(() => tabs.every((t) => t.c.state === 'open' && t.log.subscribed.length > 0), 'all 50 clients subscribed');

  const runIds = [];
  for (let u = 0; u < USERS; u++) {
    const starter = tabs.find((t) => t.user === u);
    runIds[u] = (await starter.c.send('storm' + u + '/chat', 'Tell me about reconnect storms, user ' + u)).runId;
  }

  let drops = 0;
  let dropsMidRun = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const mark = round * 12;
    await waitFor(() => tabs.every((t) => t.log.of(runIds[t.user]).length >= mark || t.log.ends.length > 0),
      'every client past seq ' + mark);
    for (const t of tabs) {
      const ws = t.c.sockets[t.c.sockets.length - 1];
      if (ws && ws.readyState === 1) {
        if (t.log.ends.length === 0) dropsMidRun++;
        ws.close(3000, 'storm');
        drops++;
      }
    }
    await sleep(20);
  }
  check(dropsMidRun >= TABS * USERS, () => 'at least one mid-run drop per client, got ' + dropsMidRun);

  await waitFor(() => tabs.every((t) => t.log.ends.length > 0), 'every run ended on every client', 60000);
  await sleep(300); // give a duplicate or a second end the chance to show up

  let reconnects = 0;
  let duplicatesDropped = 0;
  let compactEvents = 0;
  let unmapped = 0;
  let malformed = 0;
  for (const t of tabs) {
    const who = t.c.userName + ' tab ' + tabs.indexOf(t);
    const runId = runIds[t.user];
    const events = t.log.of(runId);
    check(t.log.ends.length === 1, () => who + ': ' + t.log.ends.length + ' ends');
    const end = t.log.ends[0];
    check(end.state === 'completed', () => who + ': ended ' + end.state);
    checkContiguous(events, 1, end.seq, who);
    check(t.log.text(runId) === end.outcome.result.text, () => who + ': text differs from the outcome');
    check(t.log.truncated.length === 0 && t.log.epochChanged.length === 0 && t.log.unknownRun.length === 0,
      () => who + ': unexpected typed outcome');
    check(t.log.events.every((e) => e.runId === runId), () => who + ': got another user\'s events');
    reconnects += t.c.stats.reconnects;
    duplicatesDropped += t.c.stats.duplicatesDropped;
    compactEvents += t.c.stats.compactEvents;
    unmapped += t.c.stats.unmappedDropped;
    malformed += t.c.stats.malformedDropped;
  }
  check(reconnects >= ROUNDS * USERS * TABS, () => 'reconnects ' + reconnects);
  // the clients ask for protocol 2 or 3 (compact deltas either way): the deltas above arrived compact,
  // every one was mapped, and every message (or part of a joined one) was a JSON object or array
  check(compactEvents > 0, () => 'no compact events: protocol 2 was not negotiated');
  check(unmapped === 0, () => unmapped + ' compact events could not be mapped to their session');
  check(malformed === 0, () => malformed + ' messages or parts of joined messages were not JSON');
  const onThree = tabs.filter((t) => t.c.protocol === 3).length;
  check(onThree > 0, () => 'no tab speaks protocol 3: the server did not grant it');
  return `clients=${tabs.length} drops=${drops} midRunDrops=${dropsMidRun} reconnects=${reconnects} duplicatesDropped=${duplicatesDropped} compactEvents=${compactEvents}`;
});
