package dev.runlane.benchmarks;

import java.util.List;
import java.util.Map;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageChannel;
import org.springframework.messaging.simp.SimpMessageHeaderAccessor;
import org.springframework.messaging.simp.SimpMessageType;
import org.springframework.messaging.simp.broker.SimpleBrokerMessageHandler;
import org.springframework.messaging.support.ExecutorSubscribableChannel;
import org.springframework.messaging.support.MessageBuilder;

/**
 * The in-process peer: Spring's STOMP {@link SimpleBrokerMessageHandler} with one topic per run
 * ({@code /topic/run.N}). Each recipient is a STOMP session that sends CONNECT and then SUBSCRIBE
 * (the broker delivers nothing to a session it has not seen connect). Deliveries go to a client
 * outbound channel that counts them and returns at once, like {@link BenchConnection}. The
 * constructor publishes once to every topic, so the broker's destination cache is warm (its first
 * lookup of a destination scans every subscription).
 *
 * <p><b>Thread safety:</b> set-up and {@link #publish} from one thread.
 */
public final class SpringPeer {
  /** The client outbound channel: counts every message the broker sends to a session. */
  static final class CountingChannel implements MessageChannel {
    long messages;

    @Override
    public boolean send(Message<?> message, long timeout) {
      messages++;
      return true;
    }
  }

  private final CountingChannel out = new CountingChannel();
  private final SimpleBrokerMessageHandler broker;
  private final String[] destinations;

  /** {@code runs} topics with {@code perRun} subscribed sessions each, all connected. */
  public SpringPeer(int runs, int perRun) {
    broker =
        new SimpleBrokerMessageHandler(
            new ExecutorSubscribableChannel(),
            out,
            new ExecutorSubscribableChannel(),
            List.of("/topic"));
    broker.start();
    destinations = new String[runs];
    for (int r = 0; r < runs; r++) {
      destinations[r] = "/topic/run." + r;
      for (int k = 0; k < perRun; k++) {
        String session = "sess-" + r + "-" + k;
        SimpMessageHeaderAccessor connect = SimpMessageHeaderAccessor.create(SimpMessageType.CONNECT);
        connect.setSessionId(session);
        connect.setSessionAttributes(Map.of());
        broker.handleMessage(MessageBuilder.createMessage(new byte[0], connect.getMessageHeaders()));
        SimpMessageHeaderAccessor sub = SimpMessageHeaderAccessor.create(SimpMessageType.SUBSCRIBE);
        sub.setSessionId(session);
        sub.setSubscriptionId("sub-0");
        sub.setDestination(destinations[r]);
        broker.handleMessage(MessageBuilder.createMessage(new byte[0], sub.getMessageHeaders()));
      }
    }
    // one message per topic fills the broker's destination cache: both sides are measured warm
    for (int r = 0; r < runs; r++) {
      publish(r, new byte[0]);
    }
    out.messages = 0; // the CONNECT_ACKs and the warm-up deliveries
  }

  /** Publishes one event (its payload already encoded once) to run {@code r}'s topic. */
  public void publish(int r, Object payload) {
    SimpMessageHeaderAccessor h = SimpMessageHeaderAccessor.create(SimpMessageType.MESSAGE);
    h.setDestination(destinations[r]);
    broker.handleMessage(MessageBuilder.createMessage(payload, h.getMessageHeaders()));
  }

  /** Messages delivered to sessions since set-up. */
  public long delivered() {
    return out.messages;
  }

  /** Stops the broker. */
  public void stop() {
    broker.stop();
  }
}
