package dev.runlane.examples.chat;

import dev.runlane.Approval;
import dev.runlane.RunHandle;
import dev.runlane.RunRuntime;
import dev.runlane.RunState;
import dev.runlane.protocol.json.ApprovalDecision;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The example's built-in "agent": streams a canned but varied answer token by token at a realistic
 * pace, calls a tool ({@code word_count}) and, when the prompt contains "approve" (or on every n-th
 * run), asks the user to approve the tool call first and waits for the answer.
 *
 * <p>Events it publishes (see {@code docs/reference/protocol.md}): {@code delta} {@code {text}},
 * {@code tool_call} {@code {id, name, arguments}}, {@code tool_result} {@code {id, name, output,
 * denied}}, and statuses under the key {@code phase}. It completes with {@code {text, tokens}}. The
 * full answer is a pure function of the prompt and the approval's outcome: {@link #answer}.
 *
 * <p>An abort reaches it through {@link #cancel}: it stops within one token (or at once while it
 * waits for an approval) and returns; Runlane has already ended the run as aborted.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; one {@link #run} call per run, on Runlane's
 * runtime executor; {@link #cancel} from any thread.
 */
public final class DemoAgent implements RunRuntime {

  /** The name of the tool the agent calls. */
  public static final String TOOL = "word_count";

  private static final String[] INTROS = {
    "Good question! Let me think about \"%s\" for a moment. Every token you are reading is one"
        + " numbered event of this run, so a page that reloads picks up exactly where it left off."
        + " First I will measure your message with a tool.",
    "Sure. Here is a short answer to \"%s\", streamed token by token at a realistic pace. While I"
        + " write, try reloading the page or opening a second tab as the same user: both show exactly"
        + " this text, with nothing doubled and nothing missing. Let me call a tool before I go on.",
    "Let me walk through this. You asked: \"%s\". An answer like this one travels only to your own"
        + " connections; another user sees none of it, even on the same server. I will use a tool"
        + " to look at your message first.",
  };

  private static final String[] OUTROS = {
    "The tool says your message has %s and %s. That is all I needed. To recap:"
        + " each event went only to your connections, in order, and this run ends with exactly one"
        + " terminal event. Ask me anything else, or put the word \"approve\" in a message to see a"
        + " tool approval.",
    "According to the tool, that is %s in %s. Thanks for waiting. If you press"
        + " abort in the middle of an answer, the run ends once, as aborted, and stops streaming"
        + " right away.",
    "%s and %s, says the tool. Good. One more thing worth trying: close the tab"
        + " mid-answer, open the page again, and watch the answer continue from the same word.",
  };

  private static final String DENIED =
      "Understood, I will not run the tool. I will answer without it: your message looks short and"
          + " friendly. This run still ends with exactly one terminal event.";

  private final long paceNanos;
  private final int approvalEvery;
  private final Duration approvalTimeout;
  private final AtomicLong runs = new AtomicLong();
  private final ConcurrentHashMap<String, Control> controls = new ConcurrentHashMap<>();

  /**
   * Creates the agent.
   *
   * @param pace the pause before each token (0 for none)
   * @param approvalEvery ask for an approval on every n-th run as well (0: only when the prompt
   *     contains "approve")
   * @param approvalTimeout how long an approval stays pending before it counts as denied
   */
  public DemoAgent(Duration pace, int approvalEvery, Duration approvalTimeout) {
    Objects.requireNonNull(pace, "pace");
    Objects.requireNonNull(approvalTimeout, "approvalTimeout");
    if (pace.isNegative() || approvalEvery < 0 || approvalTimeout.isNegative() || approvalTimeout.isZero()) {
      throw new IllegalArgumentException("negative pace or approvalEvery, or non-positive approvalTimeout");
    }
    this.paceNanos = pace.toNanos();
    this.approvalEvery = approvalEvery;
    this.approvalTimeout = approvalTimeout;
  }

  /** A tool call, published as the {@code tool_call} event's data. */
  public record ToolCall(String id, String name, Map<String, Object> arguments) {}

  /** A tool's result, published as the {@code tool_result} event's data. */
  public record ToolResult(String id, String name, @Nullable Map<String, Object> output, boolean denied) {}

  /** One streamed piece of the answer, published as the {@code delta} event's data. */
  public record Delta(String text) {}

  /** What the agent asks the user to approve: the approval's payload. */
  public record ApprovalRequest(String tool, Map<String, Object> arguments, String question) {}

  /** The run's result, carried by {@code run.completed}. */
  public record Answer(String text, int tokens) {}

  /** Runs handled so far (each client start is one). */
  public long runsStarted() {
    return runs.get();
  }

  /** Runs whose {@link #run} call has not returned yet. */
  public int activeRuns() {
    return controls.size();
  }

  /**
   * The full answer the agent streams for {@code prompt}: the concatenation of every {@code delta}
   * of a run that was not aborted.
   *
   * @param toolAllowed whether the tool ran (false only when an approval was denied or expired)
   */
  public static String answer(String prompt, boolean toolAllowed) {
    return String.join("", tokens(prompt, toolAllowed));
  }

  /** Whether the agent asks for an approval for this prompt regardless of the run count. */
  public static boolean asksForApproval(String prompt) {
    return prompt.toLowerCase(Locale.ROOT).contains("approve");
  }

  @Override
  public void run(RunHandle run, @Nullable Object input) {
    String prompt = input instanceof String ? (String) input : "";
    long n = runs.incrementAndGet();
    boolean ask = asksForApproval(prompt) || (approvalEvery > 0 && n % approvalEvery == 0);
    Control ctl = new Control();
    controls.put(run.runId(), ctl);
    try {
      // cancel() sets the run's state before it calls us, and we register before we read the
      // state: either we see CANCELLING here, or cancel() finds ctl.
      if (run.state() != RunState.RUNNING) {
        return;
      }
      run.publishStatus("phase", "thinking");
      if (!stream(run, ctl, intro(prompt))) {
        return;
      }
      Map<String, Object> args = Map.of("text", prompt);
      run.publish("tool_call", new ToolCall("call_1", TOOL, args));
      boolean allowed = true;
      if (ask) {
        run.publishStatus("phase", "waiting for approval");
        Approval a =
            run.requestApproval(
                new ApprovalRequest(TOOL, args, "Allow the assistant to run " + TOOL + " on your message?"),
                approvalTimeout,
                (approval, resolution, decision, by) ->
                    ctl.decide(
                        resolution == Approval.Resolution.ANSWERED
                            && decision instanceof ApprovalDecision
                            && ((ApprovalDecision) decision).allow()));
        if (a == null) {
          return; // the run has ended already
        }
        Boolean decided = ctl.awaitDecision();
        if (decided == null) {
          return; // cancelled
        }
        allowed = decided;
      }
      run.publishStatus("phase", allowed ? "calling " + TOOL : "writing");
      if (allowed) {
        run.publish(
            "tool_result",
            new ToolResult(
                "call_1", TOOL, Map.of("words", wordCount(prompt), "characters", prompt.length()), false));
      } else {
        run.publish("tool_result", new ToolResult("call_1", TOOL, null, true));
      }
      run.publishStatus("phase", "writing");
      if (!stream(run, ctl, outro(prompt, allowed))) {
        return;
      }
      run.complete(new Answer(answer(prompt, allowed), tokens(prompt, allowed).size()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      controls.remove(run.runId(), ctl);
    }
  }

  @Override
  public void cancel(RunHandle run) {
    Control c = controls.get(run.runId());
    if (c != null) {
      c.cancel();
    }
  }

  /** Publishes each token after the pace; false if the run was cancelled or ended meanwhile. */
  private boolean stream(RunHandle run, Control ctl, List<String> tokens) throws InterruptedException {
    for (String t : tokens) {
      if (!ctl.pause(paceNanos)) {
        return false;
      }
      if (!run.publish("delta", new Delta(t)).isOk()) {
        return false;
      }
    }
    return true;
  }

  private static List<String> tokens(String prompt, boolean toolAllowed) {
    List<String> out = new ArrayList<>(intro(prompt));
    out.addAll(outro(prompt, toolAllowed));
    return out;
  }

  private static List<String> intro(String prompt) {
    int v = variant(prompt);
    String intro = String.format(Locale.ROOT, INTROS[v], shortened(prompt));
    return split(intro + "\n");
  }

  private static List<String> outro(String prompt, boolean toolAllowed) {
    if (!toolAllowed) {
      return split(DENIED);
    }
    int v = variant(prompt);
    return split(
        String.format(
            Locale.ROOT, OUTROS[v], plural(wordCount(prompt), "word"), plural(prompt.length(), "character")));
  }

  private static int variant(String prompt) {
    return Math.floorMod(prompt.hashCode(), INTROS.length);
  }

  private static String shortened(String prompt) {
    String p = prompt.strip().replaceAll("\\s+", " ");
    if (p.isEmpty()) {
      return "nothing in particular";
    }
    return p.length() <= 40 ? p : p.substring(0, 40) + "…";
  }

  private static String plural(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  private static int wordCount(String s) {
    String t = s.strip();
    return t.isEmpty() ? 0 : t.split("\\s+").length;
  }

  /** Splits text into tokens that each end with their trailing whitespace, like a model's. */
  static List<String> split(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    int i = 0;
    int n = text.length();
    while (i < n) {
      while (i < n && !Character.isWhitespace(text.charAt(i))) {
        i++;
      }
      while (i < n && Character.isWhitespace(text.charAt(i))) {
        i++;
      }
      out.add(text.substring(start, i));
      start = i;
    }
    return out;
  }

  /** Wakes the run's thread on cancel and on the approval's answer. */
  private static final class Control {
    private boolean cancelled; // guarded by this
    private @Nullable Boolean decision; // guarded by this

    synchronized void cancel() {
      cancelled = true;
      notifyAll();
    }

    synchronized void decide(boolean allow) {
      if (decision == null) {
        decision = allow;
      }
      notifyAll();
    }

    /** Waits {@code nanos} unless cancelled; returns false if cancelled. */
    synchronized boolean pause(long nanos) throws InterruptedException {
      long deadline = System.nanoTime() + nanos;
      long left = nanos;
      while (!cancelled && left > 0) {
        wait(left / 1_000_000, (int) (left % 1_000_000));
        left = deadline - System.nanoTime();
      }
      return !cancelled;
    }

    /** Waits for the approval's outcome; null if cancelled first. */
    synchronized @Nullable Boolean awaitDecision() throws InterruptedException {
      while (!cancelled && decision == null) {
        wait();
      }
      return cancelled ? null : decision;
    }
  }
}
