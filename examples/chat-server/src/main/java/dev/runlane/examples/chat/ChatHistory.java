package dev.runlane.examples.chat;

import dev.runlane.Approval;
import dev.runlane.Result;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunListener;
import dev.runlane.RunOutcome;
import dev.runlane.RunRuntime;
import dev.runlane.RunState;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The conversation history of the chat example, in an embedded database through JDBC (H2): each
 * run becomes one row (prompt, the answer text streamed so far, end state) when it ends — written by
 * the {@link RunListener}, once per run, also when no tab is open — and a tab that opens loads the
 * session's earlier turns from here, then resumes the live run through Runlane.
 *
 * <pre>{@code
 * ChatHistory history = ChatHistory.open("jdbc:h2:mem:chat;DB_CLOSE_DELAY=-1");
 * Runlane runlane = Runlane.builder().runtime(history.recording(agent)).runListener(history)…build();
 * List<ChatHistory.Turn> turns = history.turns("alice/chat", 100);
 * }</pre>
 *
 * <p><b>Thread safety:</b> safe for concurrent use; each call uses its own JDBC connection.
 */
public final class ChatHistory implements RunListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChatHistory.class);

  /** One finished turn of a session. */
  public record Turn(String runId, String sessionId, String owner, String prompt, String answer, String state, long endedAt) {}

  private final String url;
  /** Kept open so that an in-memory database lives as long as this history. */
  private final Connection keepAlive;
  /** What each running run has streamed so far: runId to (prompt, answer). */
  private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();

  private static final class Pending {
    final String prompt;
    final StringBuilder answer = new StringBuilder();

    Pending(String prompt) {
      this.prompt = prompt;
    }
  }

  private ChatHistory(String url, Connection keepAlive) {
    this.url = url;
    this.keepAlive = keepAlive;
  }

  /** Opens (and creates if needed) the history at a JDBC URL, e.g. {@code jdbc:h2:file:./chat}. */
  public static ChatHistory open(String jdbcUrl) {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    try {
      Connection c = DriverManager.getConnection(jdbcUrl);
      try (Statement s = c.createStatement()) {
        s.execute(
            "CREATE TABLE IF NOT EXISTS turns ("
                + "id BIGINT AUTO_INCREMENT PRIMARY KEY, run_id VARCHAR(128) NOT NULL UNIQUE,"
                + " session_id VARCHAR(256) NOT NULL, owner VARCHAR(256) NOT NULL, prompt CLOB NOT NULL, answer CLOB NOT NULL,"
                + " state VARCHAR(16) NOT NULL, ended_at BIGINT NOT NULL)");
        s.execute("CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, id)");
      }
      return new ChatHistory(jdbcUrl, c);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot open the chat history at " + jdbcUrl, e);
    }
  }

  /** The runtime that records each run's prompt and streamed text for this history, then runs {@code agent}. */
  public RunRuntime recording(RunRuntime agent) {
    Objects.requireNonNull(agent, "agent");
    return new RunRuntime() {
      @Override
      public void run(RunHandle run, @Nullable Object input) throws Exception {
        pending.putIfAbsent(run.runId(), new Pending(input instanceof String ? (String) input : ""));
        LOG.info("run {} started in {} by {}", run.runId(), run.sessionId(), run.owner());
        agent.run(new Recording(run), input);
      }

      @Override
      public void cancel(RunHandle run) {
        agent.cancel(run);
      }
    };
  }

  @Override
  public void onRunEnded(RunOutcome outcome) {
    Pending p = pending.remove(outcome.runId());
    String prompt = p == null ? "" : p.prompt;
    String answer;
    if (p == null) {
      answer = "";
    } else {
      synchronized (p) {
        answer = p.answer.toString();
      }
    }
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO turns(run_id, session_id, owner, prompt, answer, state, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, outcome.runId());
      ps.setString(2, outcome.sessionId());
      ps.setString(3, outcome.owner());
      ps.setString(4, prompt);
      ps.setString(5, answer);
      ps.setString(6, outcome.state().name().toLowerCase(java.util.Locale.ROOT));
      ps.setLong(7, System.currentTimeMillis());
      ps.executeUpdate();
    } catch (SQLException e) {
      LOG.warn("could not store run {} in the history", outcome.runId(), e);
    }
  }

  /** The session's last {@code limit} turns, oldest first. */
  public List<Turn> turns(String sessionId, int limit) {
    List<Turn> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT run_id, session_id, owner, prompt, answer, state, ended_at FROM"
                    + " (SELECT * FROM turns WHERE session_id = ? ORDER BY id DESC LIMIT ?) t ORDER BY id")) {
      ps.setString(1, sessionId);
      ps.setInt(2, limit);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(
              new Turn(
                  rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6),
                  rs.getLong(7)));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the chat history", e);
    }
    return out;
  }

  @Override
  public void close() {
    try {
      keepAlive.close();
    } catch (SQLException e) {
      LOG.warn("closing the chat history failed", e);
    }
  }

  /** A run handle that copies every {@code delta}'s text into the pending turn. */
  private final class Recording implements RunHandle {
    private final RunHandle run;

    Recording(RunHandle run) {
      this.run = run;
    }

    @Override
    public String runId() {
      return run.runId();
    }

    @Override
    public String sessionId() {
      return run.sessionId();
    }

    @Override
    public String epoch() {
      return run.epoch();
    }

    @Override
    public String owner() {
      return run.owner();
    }

    @Override
    public RunState state() {
      return run.state();
    }

    @Override
    public long headSeq() {
      return run.headSeq();
    }

    @Override
    public java.util.Optional<RunOutcome> outcome() {
      return run.outcome();
    }

    @Override
    public int recipientBacklog() {
      return run.recipientBacklog();
    }

    @Override
    public java.util.concurrent.CompletionStage<Void> whenBacklogBelow(int frames) {
      return run.whenBacklogBelow(frames);
    }

    @Override
    public Result<Long> publish(String kind, @Nullable Object data) {
      Pending p = pending.get(run.runId());
      if (p == null || !"delta".equals(kind) || !(data instanceof DemoAgent.Delta)) {
        return run.publish(kind, data);
      }
      // publish and append under the turn's lock, which onRunEnded also takes: the stored answer
      // holds exactly the deltas recorded before the run's end, as every client saw them
      synchronized (p) {
        Result<Long> r = run.publish(kind, data);
        if (r.isOk()) {
          p.answer.append(((DemoAgent.Delta) data).text());
        }
        return r;
      }
    }

    @Override
    public boolean publishStatus(String key, @Nullable Object data) {
      return run.publishStatus(key, data);
    }

    @Override
    public Result<RunOutcome> complete(@Nullable Object result) {
      return run.complete(result);
    }

    @Override
    public Result<RunOutcome> fail(FailureReason reason, int exitCode, @Nullable String message) {
      return run.fail(reason, exitCode, message);
    }

    @Override
    public @Nullable Approval requestApproval(
        @Nullable Object payload, @Nullable Duration expiresIn, Approval.Callback callback) {
      return run.requestApproval(payload, expiresIn, callback);
    }
  }
}
