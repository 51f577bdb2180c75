// Epoch change after a server restart. Coordinated with the Java test over stdio: this script prints
// "READY_FOR_RESTART" mid-run; the test restarts the server on the same port and writes "RESTARTED".
//  - a page that was closed mid-run and reopened after the restart, when the session has a newer run:
//    serverRestarted, the old run reported unknown (never ended), epochChanged to the new run, which
//    it follows to exactly one end;
//  - a client connected through the restart: reconnects by itself, and the old run gets exactly one
//    of "failed (shutdown)" or "unknown", never both, never an invented end.
import { createInterface } from 'node:readline';
import { client, follow, run, waitFor, check, checkContiguous, memoryStorage } from './support.mjs';

const lines = createInterface({ input: process.stdin });
const restarted = new Promise((resolve) => lines.on('line', (l) => { if (l.trim() === 'RESTARTED') resolve(); }));

run('epoch-change', async (clients) => {
  const storage = memoryStorage();
  const page1 = client('epo', { storage });
  const live = client('epo');
  clients.push(page1, live);
  const p1 = follow(page1, 'epo/chat');
  const ll = follow(live, 'epo/chat');
  const restarts = [];
  live.on('serverRestarted', (r) => restarts.push(r));
  // diagnostics, shown only when the script fails
  live.on('disconnected', (d) => console.error('live client disconnected: ' + JSON.stringify(d)));
  live.on('error', (e) => console.error('live client error: ' + e.code + ' ' + e.message));
  live.on('welcome', (w) => console.error('live client welcomed by ' + w.serverEpoch));
  await waitFor(() => p1.subscribed.length > 0 && ll.subscribed.length > 0, 'subscribed');

  const { runId: r1 } = await page1.send('epo/chat', 'Stream a long answer; the server restarts under it');
  await waitFor(() => p1.of(r1).length >= 5 && ll.of(r1).length >= 5, 'five events of the first run');
  page1.close(); // the page goes away mid-run
  const oldEpoch = page1.serverEpoch;
  console.log('READY_FOR_RESTART');
  await restarted;

  // the live client reconnects by itself to the new server instance
  await waitFor(() => restarts.length === 1 && live.state === 'open', 'the live client reconnected', 60000);
  check(restarts[0].previous === oldEpoch && restarts[0].current !== oldEpoch, 'a new server epoch');

  // a newer run starts in the session on the new server
  const { runId: r2 } = await live.send('epo/chat', 'A new run after the restart');
  check(r2 !== r1, 'a new run id');
  await waitFor(() => ll.of(r2).length >= 3, 'the new run streams');

  const page2 = client('epo', { storage }); // the page reopened
  clients.push(page2);
  const pageRestarts = [];
  page2.on('serverRestarted', (r) => pageRestarts.push(r));
  const p2 = follow(page2, 'epo/chat');
  await waitFor(() => p2.ends.length > 0 && ll.ends.some((e) => e.runId === r2), 'the new run ended', 60000);

  check(pageRestarts.length === 1, 'the reopened page learns of the restart');
  check(p2.unknownRun.length === 1 && p2.unknownRun[0].runId === r1, () => 'unknownRun ' + JSON.stringify(p2.unknownRun));
  check(p2.epochChanged.length === 1 && p2.epochChanged[0].runId === r2 && p2.epochChanged[0].previous.runId === r1,
    () => 'epochChanged ' + JSON.stringify(p2.epochChanged));
  check(p2.ends.length === 1 && p2.ends[0].runId === r2 && p2.ends[0].state === 'completed', 'one end, of the new run');
  const r2Events = p2.of(r2);
  const first = r2Events[0].seq;
  check(first === 1 || p2.truncated.some((t) => t.runId === r2 && t.toSeq === first - 1), 'from seq 1 or announced');
  checkContiguous(r2Events, first, p2.ends[0].seq, 'reopened page, new run');

  const r1Ends = ll.ends.filter((e) => e.runId === r1);
  const r1Unknown = ll.unknownRun.filter((u) => u.runId === r1);
  check(r1Ends.length + r1Unknown.length === 1, () => 'live client: old run ends ' + r1Ends.length + ', unknown ' + r1Unknown.length);
  if (r1Ends.length) check(r1Ends[0].state === 'failed', () => 'the old run ended ' + r1Ends[0].state);
  check(ll.ends.filter((e) => e.runId === r2).length === 1, 'the live client: one end of the new run');
  checkContiguous(ll.of(r2), 1, ll.ends.find((e) => e.runId === r2).seq, 'live client, new run');
  lines.close();
  return `oldRun=${r1} ${r1Ends.length ? 'failed' : 'unknown'} for the live client; newRun=${r2}`;
});
