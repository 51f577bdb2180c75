package dev.runlane.tck;

import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.Payload;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** A client peer speaking {@link TextCodec}: sends commands, parses and awaits what arrives. */
final class WireClient {
  final String principal;
  final ClientPeer peer;
  private final Checks checks;
  private final List<WireMessage> parsed = new ArrayList<>(); // guarded by this
  /** The connection id and generation from the welcome (empty for a stream transport). */
  String connectionId = "";

  long generation;

  WireClient(String principal, ClientPeer peer, Checks checks) {
    this.principal = principal;
    this.peer = peer;
    this.checks = checks;
  }

  void send(Rule rule, String command) {
    try {
      peer.sendText(command);
    } catch (Exception e) {
      throw checks.failure(rule, "the peer could not send '" + command + "'", e);
    }
  }

  /** Everything received so far, parsed. */
  synchronized List<WireMessage> messages() {
    List<PeerMessage> raw = peer.recording().messages();
    for (int i = parsed.size(); i < raw.size(); i++) {
      parsed.add(TextCodec.parse(Payload.text(raw.get(i).text())));
    }
    return List.copyOf(parsed);
  }

  /** Waits for the first message from {@code from} on that matches; returns its index. */
  int await(Rule rule, String what, int from, Predicate<WireMessage> match) {
    int[] found = {-1};
    checks.await(
        rule,
        what + " at " + principal + " (received so far: " + summary() + ")",
        () -> {
          List<WireMessage> all = messages();
          for (int i = Math.max(0, from); i < all.size(); i++) {
            if (match.test(all.get(i))) {
              found[0] = i;
              return true;
            }
          }
          return false;
        });
    return found[0];
  }

  int await(Rule rule, String what, Predicate<WireMessage> match) {
    return await(rule, what, 0, match);
  }

  /** Waits for an event of {@code runId} with a seq of at least {@code seq}. */
  void awaitSeq(Rule rule, String runId, long seq) {
    await(rule, "event " + seq + " of run " + runId, m -> m.isEventOf(runId) && m.num("seq") >= seq);
  }

  /** The seqs of {@code runId}'s events, in arrival order. */
  List<Long> seqs(String runId) {
    List<Long> out = new ArrayList<>();
    for (WireMessage m : messages()) {
      if (m.isEventOf(runId)) {
        out.add(m.num("seq"));
      }
    }
    return out;
  }

  String summary() {
    List<WireMessage> all = messages();
    int n = all.size();
    List<String> tail = new ArrayList<>();
    for (int i = Math.max(0, n - 5); i < n; i++) {
      tail.add(all.get(i).toString());
    }
    return n + " messages, last " + tail + ", close " + peer.recording().close().map(String::valueOf).orElse("none");
  }
}
