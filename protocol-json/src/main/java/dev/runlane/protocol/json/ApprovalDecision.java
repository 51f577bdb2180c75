package dev.runlane.protocol.json;

import org.jspecify.annotations.Nullable;

/**
 * A client's answer to a tool approval, decoded from {@code chat.approval}: the {@code decision}
 * object that {@link dev.runlane.Approval.Callback#resolved} receives, and that {@code
 * approval_resolved} carries back to every recipient.
 *
 * <pre>{@code
 * run.requestApproval(payload, null, (approval, resolution, decision, by) -> {
 *   boolean allowed = decision instanceof ApprovalDecision d && d.allow();
 * });
 * }</pre>
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param allow whether the user allowed the tool call
 * @param message an optional note from the user (e.g. why it was denied), or null
 */
public record ApprovalDecision(boolean allow, @Nullable String message) {}
