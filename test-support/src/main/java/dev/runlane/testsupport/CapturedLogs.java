package dev.runlane.testsupport;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * The log records of this JVM's tests, kept in memory by {@link CapturingProvider} instead of being
 * printed. A test that provokes an error on purpose asserts the record it expects with {@link
 * #matching}; {@link LogsOnFailure} prints a failed test's records so nothing is lost when it matters.
 * {@code -Drunlane.test.log=print} also prints every record as it is logged, for debugging.
 *
 * <p>Records below {@link Level#INFO} are not kept; at most {@value #LIMIT} are kept (the oldest go).
 *
 * <p><b>Thread safety:</b> every method may be called from any thread.
 */
public final class CapturedLogs {
  static final int LIMIT = 5_000;
  private static final Deque<Entry> ENTRIES = new ArrayDeque<>();
  private static final boolean PRINT = "print".equals(System.getProperty("runlane.test.log"));

  private CapturedLogs() {}

  /** One log record. */
  public record Entry(Level level, String logger, String thread, String message, @Nullable Throwable error) {
    /** The record as a log line would show it, with the stack trace of its throwable. */
    public String render() {
      StringBuilder sb =
          new StringBuilder()
              .append('[')
              .append(thread)
              .append("] ")
              .append(level)
              .append(' ')
              .append(logger)
              .append(" - ")
              .append(message);
      if (error != null) {
        StringWriter w = new StringWriter();
        error.printStackTrace(new PrintWriter(w));
        sb.append(System.lineSeparator()).append(w);
      }
      return sb.toString();
    }
  }

  static void add(Entry e) {
    synchronized (ENTRIES) {
      if (ENTRIES.size() == LIMIT) {
        ENTRIES.removeFirst();
      }
      ENTRIES.addLast(e);
    }
    if (PRINT) {
      System.err.println(e.render());
    }
  }

  /** Every kept record, oldest first. */
  public static List<Entry> all() {
    synchronized (ENTRIES) {
      return new ArrayList<>(ENTRIES);
    }
  }

  /** Kept records at {@code level} whose message contains {@code fragment} (case-insensitive). */
  public static List<Entry> matching(Level level, String fragment) {
    String f = fragment.toLowerCase(Locale.ROOT);
    List<Entry> out = new ArrayList<>();
    for (Entry e : all()) {
      if (e.level() == level && e.message().toLowerCase(Locale.ROOT).contains(f)) {
        out.add(e);
      }
    }
    return out;
  }

  /** Forgets every kept record. */
  public static void clear() {
    synchronized (ENTRIES) {
      ENTRIES.clear();
    }
  }

  /** Prints every kept record at {@code minimum} or above to {@code out}. */
  public static void printTo(PrintStream out, Level minimum) {
    for (Entry e : all()) {
      if (e.level().toInt() >= minimum.toInt()) {
        out.println(e.render());
      }
    }
  }
}
