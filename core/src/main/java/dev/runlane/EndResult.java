package dev.runlane;

import org.jspecify.annotations.Nullable;

/**
 * The answer to a terminal call ({@link RunHandle#complete}, {@link RunHandle#fail}, an abort, the
 * safety net): either this call ended the run, or the run had already ended (or is being
 * cancelled) and this call lost the race: it delivered nothing and took no seq.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param won whether this call was the run's one end
 * @param outcome the run's outcome when it has ended; null only when the run is still being
 *     cancelled by an abort or expiry that has not finished yet
 */
public record EndResult(boolean won, @Nullable RunOutcome outcome) {}
