package dev.runlane.cluster.redis;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.engine.RunCommand;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Approval decisions that are records cross nodes only when allowed, and come back equal. */
class CommandCodecRecordTest {
  record Allowed(boolean allow, String message, List<Map<String, Object>> details) {}

  record NotAllowed(String x) {}

  @Test
  void anAllowedRecordComesBackEqualAndAnyOtherIsRefused() {
    new RedisEngineBuilder().crossNodeRecord(Allowed.class);
    Allowed decision = new Allowed(true, "ok", List.of(Map.of("k", 1L)));
    byte[] bytes = CommandCodec.request("c1", "reply", "run_1", new RunCommand.ResolveApproval("ap1", decision, "bob"));
    CommandCodec.Request r = (CommandCodec.Request) CommandCodec.decode(bytes);
    RunCommand.ResolveApproval back = (RunCommand.ResolveApproval) r.command();
    assertEquals(decision, back.decision());
    assertEquals("bob", back.principal());

    assertThrows(
        CommandCodec.Unsupported.class,
        () -> CommandCodec.request("c2", "reply", "run_1", new RunCommand.ResolveApproval("ap1", new NotAllowed("x"), "bob")));
  }
}
