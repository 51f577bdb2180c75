package dev.runlane.engine;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A command for the node running a run's runtime, issued wherever the client or host asked for it
 * and carried there by the {@link CommandRouter}.
 *
 * <p><b>Thread safety:</b> immutable records (a decision object is the codec's or the host's).
 */
public sealed interface RunCommand permits RunCommand.Abort, RunCommand.ResolveApproval {

  /**
   * Abort the run on behalf of {@code principal}, already authorized by the issuing node.
   *
   * @param principal who aborts
   */
  record Abort(String principal) implements RunCommand {
    public Abort {
      Objects.requireNonNull(principal, "principal");
    }
  }

  /**
   * Answer a pending approval of the run, already authorized by the issuing node.
   *
   * @param approvalId the approval
   * @param decision the answer
   * @param principal who answered
   */
  record ResolveApproval(String approvalId, @Nullable Object decision, String principal)
      implements RunCommand {
    public ResolveApproval {
      Objects.requireNonNull(approvalId, "approvalId");
      Objects.requireNonNull(principal, "principal");
    }
  }
}
