package dev.runlane;

import dev.runlane.engine.RunCommand;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Pending approvals of every run on this node, by approval id, so an answer from any connection
 * finds its run; answers are authorized here and executed on the run's node through the command
 * router.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class ApprovalRegistry implements RunApprovals.Index {
  private final HostHooks hooks;
  private final Runs runs;
  private final Access access;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<String, String> runOfApproval = new ConcurrentHashMap<>();

  ApprovalRegistry(HostHooks hooks, Runs runs, Access access) {
    this.hooks = hooks;
    this.runs = runs;
    this.access = access;
  }

  /**
   * Resolves a pending approval for {@code principal}: the run's owner, or whom the authorizer
   * allows. An approval the principal may not see is answered as if unknown.
   */
  Result<Approval> resolve(String approvalId, String principal, @Nullable Object decision) {
    Objects.requireNonNull(approvalId, "approvalId");
    Objects.requireNonNull(principal, "principal");
    Result.Refused<Approval> bad = Ids.check("approval id", approvalId, hooks.config.maxIdLength);
    if (bad != null) {
      return bad;
    }
    String runId = runOfApproval.get(approvalId);
    Run r = runId == null ? null : runs.get(runId);
    if (r == null) {
      return unknown(approvalId);
    }
    Result.Refused<Approval> no = access.onRun(r, principal, Action.RESOLVE_APPROVAL);
    if (no != null) {
      return no.code() == ErrorCode.FORBIDDEN ? no : unknown(approvalId);
    }
    Approval pending = null;
    for (Approval a : r.approvals.pending()) {
      if (a.approvalId().equals(approvalId)) {
        pending = a;
      }
    }
    if (pending == null) {
      return unknown(approvalId);
    }
    Result<?> routed = access.route(r.runId(), new RunCommand.ResolveApproval(approvalId, decision, principal));
    if (routed instanceof Result.Refused<?> refused
        && refused.code() != ErrorCode.UNKNOWN_APPROVAL
        && refused.code() != ErrorCode.NO_ACTIVE_RUN) {
      // the run's node could not take the answer (the store is down, the decision cannot cross
      // nodes, it did not answer): say so, rather than that the approval does not exist
      return Result.refused(refused.code(), refused.message());
    }
    return routed.isOk() ? Result.ok(pending) : unknown(approvalId);
  }

  private static Result<Approval> unknown(String approvalId) {
    return Result.refused(ErrorCode.UNKNOWN_APPROVAL, "approval " + approvalId + " is unknown or already resolved");
  }

  @Override
  public String newApprovalId() {
    byte[] b = new byte[12];
    random.nextBytes(b);
    return "ap_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  @Override
  public void raised(String approvalId, String runId) {
    runOfApproval.put(approvalId, runId);
  }

  @Override
  public void gone(String approvalId) {
    runOfApproval.remove(approvalId);
  }

  int size() {
    return runOfApproval.size();
  }
}
