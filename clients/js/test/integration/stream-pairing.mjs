// The paired stream socket against a server that offers it: the client pairs a second socket right
// after the welcome (its own ticket, ?primary=<id>&generation=<n>), subscribes only once paired, reads
// the run's events from the stream socket and everything else from the primary. Dropping the stream
// socket mid-run ends the pair (the client closes the primary too, reported as 4002, as the server
// does); the client reconnects, pairs again and resumes exactly: seqs contiguous, one end, the text
// as in the outcome.
import { client, follow, run, waitFor, check, checkContiguous } from './support.mjs';

run('stream-pairing', async (clients) => {
  const c = client('pair');
  clients.push(c);
  const paired = [];
  const refused = [];
  const closes = [];
  c.on('streamPaired', (p) => paired.push(p));
  c.on('streamRefused', (r) => refused.push(r));
  c.on('disconnected', (d) => closes.push(d.code));
  const log = follow(c, 'pair/chat');
  await waitFor(() => c.state === 'open' && log.subscribed.length > 0, 'paired and subscribed');
  check(paired.length === 1 && refused.length === 0, () => 'paired ' + paired.length + ', refused ' + JSON.stringify(refused));
  check(c.sockets.length === 2, () => 'sockets ' + c.sockets.length);
  const [primary, stream] = c.sockets;
  check(new URL(stream.url).searchParams.get('primary') === paired[0].connectionId, 'the stream socket names its primary');

  // count which socket each run event arrives on
  let onStream = 0;
  let onPrimary = 0;
  stream.addEventListener('message', (e) => { if (JSON.parse(e.data).kind === 'run_event') onStream++; });
  primary.addEventListener('message', (e) => { if (JSON.parse(e.data).kind === 'run_event') onPrimary++; });

  const { runId } = await c.send('pair/chat', 'Stream over the paired socket, please');
  await waitFor(() => log.of(runId).length >= 10, 'ten events');
  check(onStream >= 9 && onPrimary === 0, () => 'events on stream ' + onStream + ', on primary ' + onPrimary);
  stream.close(3000, 'drop the stream socket');
  await waitFor(() => log.ends.length > 0, 'the run ended after the pair was rebuilt', 60000);
  check(closes.includes(4002), () => 'closes ' + JSON.stringify(closes));
  check(primary.readyState === 3, 'the primary went down with its stream socket');
  check(paired.length >= 2, 'paired again after the reconnect');
  const end = log.ends[0];
  check(log.ends.length === 1 && end.state === 'completed', 'one completed end');
  checkContiguous(log.of(runId), 1, end.seq, 'paired client');
  check(log.text(runId) === end.outcome.result.text, 'the text equals the outcome');
  return `pairs=${paired.length} closes=${closes.join(',')} terminal=${end.seq}`;
});
