// Approvals across clients: two clients of one user follow the session; a prompt that calls for a
// tool makes the agent ask for an approval. Both see it once; a third client opening meanwhile gets
// it from its subscribe ack; one answers; every client sees it resolved once (by whom), a second
// answer is refused with UNKNOWN_APPROVAL, and the run completes once everywhere.
import { client, follow, run, waitFor, check, checkContiguous } from './support.mjs';

run('approvals', async (clients) => {
  const a = client('appr');
  const b = client('appr');
  clients.push(a, b);
  const la = follow(a, 'appr/chat');
  const lb = follow(b, 'appr/chat');
  await waitFor(() => la.subscribed.length > 0 && lb.subscribed.length > 0, 'both subscribed');

  const { runId } = await a.send('appr/chat', 'Count my words; I approve the tool');
  await waitFor(() => la.approvalRequested.length > 0 && lb.approvalRequested.length > 0, 'both asked');
  const approvalId = la.approvalRequested[0].approvalId;
  check(lb.approvalRequested[0].approvalId === approvalId, 'the same approval');
  check(la.approvalRequested[0].runId === runId, 'for this run');

  const c = client('appr'); // a tab opened while the approval waits
  clients.push(c);
  const lc = follow(c, 'appr/chat');
  await waitFor(() => lc.approvalRequested.length > 0, 'the new tab sees the pending approval');
  check(lc.approvalRequested[0].fromAck === true && lc.approvalRequested[0].approvalId === approvalId, 'from the ack');

  const resolved = await b.resolveApproval(approvalId, { allow: true, message: 'go ahead' });
  check(resolved.resolution === 'ANSWERED' && resolved.by === 'appr', () => 'resolved ' + JSON.stringify(resolved));
  // a answers only once it has seen b's answer: an approval_resolved frame that reaches a while its
  // own answer is pending settles that answer (the first answer wins, by design), so answering
  // earlier would race the broadcast against the server's refusal
  await waitFor(() => la.approvalResolved.length > 0, 'a sees the approval resolved');
  let refused = null;
  try {
    await a.resolveApproval(approvalId, false);
  } catch (e) {
    refused = e.code;
  }
  check(refused === 'UNKNOWN_APPROVAL', () => 'a second answer: ' + refused);

  await waitFor(() => [la, lb, lc].every((l) => l.ends.length > 0), 'the run ended everywhere');
  for (const [name, l] of [['a', la], ['b', lb], ['c', lc]]) {
    check(l.approvalRequested.length === 1, () => name + ': asked ' + l.approvalRequested.length + ' times');
    check(l.approvalResolved.length === 1 && l.approvalResolved[0].resolution === 'ANSWERED'
      && l.approvalResolved[0].by === 'appr' && l.approvalResolved[0].decision.allow === true,
    () => name + ': resolved ' + JSON.stringify(l.approvalResolved));
    check(l.sub.pendingApprovals().length === 0, () => name + ': still pending');
    check(l.ends.length === 1 && l.ends[0].state === 'completed', () => name + ': ends ' + l.ends.length);
    const result = l.of(runId).find((e) => e.type === 'tool_result');
    check(result && result.data.denied === false, () => name + ': tool result ' + JSON.stringify(result));
  }
  checkContiguous(la.of(runId), 1, la.ends[0].seq, 'a');
  checkContiguous(lb.of(runId), 1, lb.ends[0].seq, 'b');
  return `approval=${approvalId} resolvedBy=b`;
});
