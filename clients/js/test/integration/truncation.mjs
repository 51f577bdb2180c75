// Truncation: the server keeps 16 events per run (replayCapacity). A page follows a run, is closed
// after a few events, and is reopened (same storage: a reload) only after the events it missed were
// evicted. The client must announce exactly the missing seqs, then apply the rest once, with one end.
import { client, follow, run, waitFor, check, checkContiguous, memoryStorage } from './support.mjs';

const CAPACITY = Number(process.env.REPLAY_CAPACITY || 16);

run('truncation', async (clients) => {
  const writer = client('trunc');
  clients.push(writer);
  const wlog = follow(writer, 'trunc/chat');
  const storage = memoryStorage();
  const page1 = client('trunc', { storage });
  clients.push(page1);
  const p1 = follow(page1, 'trunc/chat');
  await waitFor(() => writer.state === 'open' && page1.state === 'open' && p1.subscribed.length > 0, 'both connected');

  const { runId } = await writer.send('trunc/chat', 'Please stream a long answer about truncation');
  await waitFor(() => p1.of(runId).length >= 3, 'the page saw 3 events');
  page1.close(); // the tab goes away after applying some events
  const kept = p1.sub.position(runId).lastSeq;
  await waitFor(() => wlog.of(runId).length >= kept + CAPACITY + 5, 'more than the ring holds published since');

  const page2 = client('trunc', { storage }); // the reload
  clients.push(page2);
  const p2 = follow(page2, 'trunc/chat');
  await waitFor(() => p2.ends.length > 0 && wlog.ends.length > 0, 'the run ended for the reloaded page');

  check(p2.truncated.length === 1, () => 'truncated events: ' + JSON.stringify(p2.truncated));
  const t = p2.truncated[0];
  check(t.runId === runId && t.fromSeq === kept + 1, () => 'truncated from ' + t.fromSeq + ', the page had ' + kept);
  check(t.toSeq >= kept + 5, () => 'truncated to ' + t.toSeq);
  const end = p2.ends[0];
  checkContiguous(p2.of(runId), t.toSeq + 1, end.seq, 'reloaded page');
  check(p2.ends.length === 1, 'one end');
  // what the page has (its first events + the replayed tail) equals the writer's, minus the gap
  const full = wlog.of(runId);
  checkContiguous(full, 1, end.seq, 'writer');
  const tail = full.filter((e) => e.seq > t.toSeq).map((e) => e.seq + ':' + JSON.stringify(e.data));
  check(JSON.stringify(p2.of(runId).map((e) => e.seq + ':' + JSON.stringify(e.data))) === JSON.stringify(tail), 'same tail as the writer');
  return `kept=${kept} missing=${t.fromSeq}..${t.toSeq} terminal=${end.seq}`;
});
