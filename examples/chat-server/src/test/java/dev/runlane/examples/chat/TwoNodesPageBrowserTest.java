package dev.runlane.examples.chat;

import static dev.runlane.examples.chat.ChatPageBrowserTest.CHROMEDRIVER;
import static dev.runlane.examples.chat.ChatPageBrowserTest.CHROMIUM;
import static dev.runlane.examples.chat.ChatPageBrowserTest.WAIT;
import static dev.runlane.examples.chat.ChatPageBrowserTest.answer;
import static dev.runlane.examples.chat.ChatPageBrowserTest.ask;
import static dev.runlane.examples.chat.ChatPageBrowserTest.awaitOnline;
import static dev.runlane.examples.chat.ChatPageBrowserTest.lastState;
import static dev.runlane.examples.chat.ChatPageBrowserTest.login;
import static dev.runlane.examples.chat.ChatPageBrowserTest.turns;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.cluster.redis.RedisEngine;
import dev.runlane.testredis.RedisServer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in headless Chromium behind a load balancer in front of two nodes on one Redis: moved
 * from node 1 to node 2 mid-answer (every connection cut, as in a deploy), it reconnects by itself,
 * lands on node 2 and streams the rest of the answer with nothing doubled and nothing missing.
 */
class TwoNodesPageBrowserTest {
  ChatServer node1;
  ChatServer node2;
  MovableProxy proxy;
  WebDriver alice;

  @BeforeEach
  void needsChromium() {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "skipped: needs Debian's chromium and chromium-driver at " + CHROMIUM + " and " + CHROMEDRIVER);
  }

  @AfterEach
  void tearDown() {
    if (alice != null) {
      alice.quit();
    }
    for (AutoCloseable c : new AutoCloseable[] {proxy, node1, node2}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          // next
        }
      }
    }
  }

  static ChatServer node(String prefix, String name) throws Exception {
    RedisEngine engine =
        RedisEngine.builder().redis(RedisServer.shared().uri()).keyPrefix(prefix).nodeId(name + "-" + UUID.randomUUID()).build();
    return ChatServer.builder().pace(Duration.ofMillis(15)).approvalEvery(0).engine(engine).port(0).build().start();
  }

  @Test
  void aPageMovedToAnotherNodeMidAnswerStreamsTheRestExactly() throws Exception {
    String prefix = "page-" + UUID.randomUUID().toString().substring(0, 8);
    node1 = node(prefix, "node1");
    node2 = node(prefix, "node2");
    proxy = new MovableProxy(node1.uri().getPort());
    String url = "http://127.0.0.1:" + proxy.port() + "/";

    alice = ChatPageBrowserTest.browser();
    login(alice, url, "alice");
    String prompt = "How does resume work across two nodes?";
    String full = DemoAgent.answer(prompt, true);
    ask(alice, prompt);
    new WebDriverWait(alice, WAIT).until(d -> answer(d).length() >= 60 && "running".equals(lastState(d)));
    String before = answer(alice);
    assertTrue(full.startsWith(before), "streamed text is a prefix of the answer: " + before);

    proxy.moveTo(node2.uri().getPort()); // node 1's connections are cut; the page's reconnect lands on node 2
    awaitOnline(alice);
    new WebDriverWait(alice, WAIT).until(d -> "completed".equals(lastState(d)));
    assertEquals(full, answer(alice), "moved mid-answer: no duplicated and no missing text");
    assertEquals(1, turns(alice));
    assertTrue(node2.runlane().snapshot().connections() >= 1, "the page is connected to node 2 now");
    assertEquals("", ChatPageBrowserTest.js(alice, "return document.getElementById('errors').textContent;"));
  }
}
