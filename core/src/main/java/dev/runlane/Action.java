package dev.runlane;

/**
 * What a principal asks to do, as seen by the {@link Authorizer}.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum Action {
  /** Start a run in a session. */
  START,
  /** Subscribe to (follow) a session or attach to one of its runs. */
  SUBSCRIBE,
  /** Abort a run. */
  ABORT,
  /** Resolve a pending tool approval. */
  RESOLVE_APPROVAL
}
