package dev.runlane.examples.chat;

import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in a real browser: Debian's headless Chromium driven by Selenium through Debian's
 * chromedriver. Nothing is downloaded: both paths are given, so Selenium Manager is never asked.
 * Without {@code /usr/bin/chromium} or {@code /usr/bin/chromedriver} the tests are skipped.
 *
 * <p>{@code -Drunlane.example.screenshot=docs/images/chat-example.png} also saves the mid-answer
 * screenshot of {@link #theApprovalPromptWorksInThePage} there (the docs' picture).
 */
class ChatPageBrowserTest {
  static final Path CHROMIUM = Path.of(System.getProperty("runlane.chromium", "/usr/bin/chromium"));
  static final Path CHROMEDRIVER = Path.of(System.getProperty("runlane.chromedriver", "/usr/bin/chromedriver"));
  static final Duration WAIT = Duration.ofSeconds(40);

  ChatServer server;
  WebDriver alice;
  WebDriver aliceTab2;
  WebDriver bob;
  WebDriver carol;

  // per test, so that each test reports itself skipped (never passed) without a browser
  @BeforeEach
  void needsChromium() {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "skipped: needs Debian's chromium and chromium-driver at " + CHROMIUM + " and " + CHROMEDRIVER);
  }

  @AfterEach
  void tearDown() {
    for (WebDriver d : new WebDriver[] {alice, aliceTab2, bob, carol}) {
      if (d != null) {
        d.quit();
      }
    }
    if (server != null) {
      server.close();
    }
  }

  static WebDriver browser() {
    // Given explicitly, so Selenium never resolves (or downloads) a driver or browser itself.
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1000,1100");
    ChromeDriverService service =
        new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    return new ChromeDriver(service, options);
  }

  static Object js(WebDriver d, String script) {
    return ((JavascriptExecutor) d).executeScript(script);
  }

  static void login(WebDriver d, String url, String name) {
    d.get(url);
    d.findElement(By.id("name")).sendKeys(name);
    d.findElement(By.id("join")).click();
    awaitOnline(d);
  }

  static void awaitOnline(WebDriver d) {
    new WebDriverWait(d, WAIT).until(x -> "online".equals(x.findElement(By.id("connection")).getAttribute("data-state")));
  }

  static void ask(WebDriver d, String prompt) {
    d.findElement(By.id("prompt")).sendKeys(prompt);
    d.findElement(By.id("send")).click();
  }

  /** The last turn's answer text (its text segments, without the tool lines), exactly as in the DOM. */
  static String answer(WebDriver d) {
    Object t = js(d, "const t=[...document.querySelectorAll('#transcript .turn')];"
        + "return t.length ? [...t[t.length-1].querySelectorAll('.answer .seg')].map(e => e.textContent).join('') : null;");
    return t == null ? "" : (String) t;
  }

  static String lastState(WebDriver d) {
    Object s = js(d, "const t=[...document.querySelectorAll('#transcript .turn')];"
        + "return t.length ? t[t.length-1].dataset.state : 'none';");
    return String.valueOf(s);
  }

  static long turns(WebDriver d) {
    return (Long) js(d, "return document.querySelectorAll('#transcript .turn').length;");
  }

  static void screenshot(WebDriver d, String name) throws Exception {
    File shot = ((TakesScreenshot) d).getScreenshotAs(OutputType.FILE);
    Path dir = Path.of(System.getProperty("runlane.example.screenshotDir", "target/screenshots"));
    Files.createDirectories(dir);
    Files.copy(shot.toPath(), dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void reloadingMidAnswerResumesExactlyASecondTabFollowsAndAnotherUserSeesNothing() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).approvalEvery(0).build().start();
    String url = server.uri().toString();
    alice = browser();
    aliceTab2 = browser(); // its own sessionStorage: a second tab of the same user
    bob = browser();
    login(alice, url, "alice");
    login(aliceTab2, url, "alice");
    login(bob, url, "bob");

    String prompt = "How does resume work after a reload?";
    String full = DemoAgent.answer(prompt, true);
    ask(alice, prompt);
    // mid-answer: some text, still running
    new WebDriverWait(alice, WAIT).until(d -> answer(d).length() >= 60 && "running".equals(lastState(d)));
    String before = answer(alice);
    assertTrue(full.startsWith(before), "streamed text is a prefix of the answer: " + before);
    screenshot(alice, "mid-answer-before-reload.png");

    alice.navigate().refresh();
    awaitOnline(alice);
    // right after the reload the stored text is back, then it continues to the exact end
    assertTrue(answer(alice).startsWith(before), "the reloaded page keeps the text it had");
    new WebDriverWait(alice, WAIT).until(d -> "completed".equals(lastState(d)));
    assertEquals(full, answer(alice), "after a mid-answer reload: no duplicated and no missing text");
    assertEquals(1, turns(alice));
    assertEquals(prompt, js(alice, "return document.querySelector('#transcript .turn .prompt').textContent;"));
    assertEquals("completed", alice.findElement(By.id("run-state")).getText());

    // a reload after the end restores the same transcript (FINISHED: nothing replayed twice)
    alice.navigate().refresh();
    awaitOnline(alice);
    Thread.sleep(300); // give a wrong replay the chance to show up
    assertEquals(full, answer(alice));
    assertEquals(1, turns(alice));

    // the second tab followed the same run live, to the same text
    new WebDriverWait(aliceTab2, WAIT).until(d -> "completed".equals(lastState(d)));
    assertEquals(full, answer(aliceTab2));

    // bob was online the whole time and saw nothing of it
    assertEquals(0, turns(bob), "another user's page stays empty");
    assertEquals("idle", bob.findElement(By.id("run-state")).getText());
    assertEquals("", js(bob, "return document.getElementById('errors').textContent;"));
  }

  @Test
  void theApprovalPromptWorksInThePage() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).approvalEvery(0).build().start();
    String url = server.uri().toString();
    alice = browser();
    login(alice, url, "alice");

    // a finished turn first, so the page (and the docs' screenshot) shows a conversation
    ask(alice, "What is Runlane?");
    new WebDriverWait(alice, WAIT).until(d -> turns(d) == 1 && "completed".equals(lastState(d)));
    assertEquals(DemoAgent.answer("What is Runlane?", true), answer(alice));

    String prompt = "Count my words, and I will approve the tool";
    ask(alice, prompt);
    new WebDriverWait(alice, WAIT).until(d -> !d.findElements(By.cssSelector("#approvals .approval")).isEmpty());
    assertEquals("running", lastState(alice));
    assertTrue(alice.findElement(By.id("abort")).isEnabled(), "abort is offered while the run runs");
    screenshot(alice, "approval-prompt.png");
    String docsShot = System.getProperty("runlane.example.screenshot");
    if (docsShot != null) {
      File shot = ((TakesScreenshot) alice).getScreenshotAs(OutputType.FILE);
      Path target = Path.of(docsShot);
      Files.createDirectories(target.toAbsolutePath().getParent());
      Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    }

    // the prompt survives a reload (it comes back in the subscribe acknowledgement)
    alice.navigate().refresh();
    awaitOnline(alice);
    new WebDriverWait(alice, WAIT).until(d -> !d.findElements(By.cssSelector("#approvals .approval")).isEmpty());

    alice.findElement(By.cssSelector("#approvals .approval .approve")).click();
    new WebDriverWait(alice, WAIT).until(d -> "completed".equals(lastState(d)));
    assertEquals(DemoAgent.answer(prompt, true), answer(alice));
    List<?> approvalsLeft = (List<?>) js(alice, "return [...document.querySelectorAll('#approvals .approval')];");
    assertTrue(approvalsLeft.isEmpty());
    assertEquals(2, turns(alice));
    assertTrue(
        String.valueOf(js(alice, "return document.querySelector('#transcript .turn:last-child .meta').textContent;")).contains("Tool approved by alice"));
  }

  @Test
  void theAbortButtonEndsTheRunOnce() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).approvalEvery(0).build().start();
    alice = browser();
    login(alice, server.uri().toString(), "alice");
    String prompt = "Stream something long so I can abort it";
    ask(alice, prompt);
    new WebDriverWait(alice, WAIT).until(d -> answer(d).length() >= 20);
    alice.findElement(By.id("abort")).click();
    new WebDriverWait(alice, WAIT).until(d -> "aborted".equals(lastState(d)));
    String partial = answer(alice);
    assertTrue(DemoAgent.answer(prompt, true).startsWith(partial));
    assertTrue(partial.length() < DemoAgent.answer(prompt, true).length());
    assertFalse(alice.findElement(By.id("abort")).isEnabled());
    assertTrue(alice.findElement(By.id("send")).isEnabled());
  }

  /**
   * Liveness needs no client code (issue 12 item 6): a page that opens the WebSocket and does
   * nothing else (no ping timer, no message of its own) stays connected through several idle
   * timeouts, because the server pings and the browser answers WebSocket pings by itself.
   */
  @Test
  void aPageWithNoKeepaliveCodeStaysConnectedThroughSeveralIdleTimeouts() throws Exception {
    Duration idle = Duration.ofMillis(1500);
    server =
        ChatServer.builder().port(0).approvalEvery(0).liveness(Duration.ofMillis(400), idle).build().start();
    alice = browser();
    // a same-origin page without the chat page's script: a 404 has no script at all
    alice.get(server.uri().resolve("/no-keepalive-here").toString());
    Object opened =
        ((JavascriptExecutor) alice)
            .executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                    + "fetch('/api/ticket?name=carol', {method: 'POST'}).then(r => r.json()).then(t => {"
                    + "  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws?ticket=' + t.ticket);"
                    + "  window.rl = {ws: ws, messages: 0, close: null};"
                    + "  ws.onmessage = () => { window.rl.messages++; };"
                    + "  ws.onclose = e => { window.rl.close = e.code; };"
                    + "  ws.onopen = () => done('open');"
                    + "  ws.onerror = () => done('error');"
                    + "}).catch(e => done('failed: ' + e));");
    assertEquals("open", opened);
    new WebDriverWait(alice, WAIT).until(d -> ((Long) js(d, "return window.rl.messages;")) >= 1); // welcome
    assertEquals(1, server.runlane().connectionCount());
    // four idle timeouts of silence from the page; wall-clock, since the browser's pongs are real
    long until = System.nanoTime() + idle.multipliedBy(4).toNanos();
    while (System.nanoTime() < until) {
      Thread.sleep(100);
      assertNull(js(alice, "return window.rl.close;"), "the page's socket was closed");
    }
    assertEquals(1L, js(alice, "return window.rl.ws.readyState;"), "still OPEN");
    assertEquals(1, server.runlane().connectionCount());
    assertEquals(1L, js(alice, "return window.rl.messages;"), "nothing but the welcome: no app-level heartbeats needed");
  }

  /**
   * Two users in one room see the same stream and the same approval, answered by one and gone for
   * the other; a third user outside sees nothing. {@code -Drunlane.example.roomScreenshot=PATH} saves
   * the two-user room (the docs' picture).
   */
  @Test
  void twoUsersInARoomShareTheStreamAndTheApproval() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).build().start();
    String url = server.uri().toString();
    alice = browser();
    bob = browser();
    carol = browser();
    login(alice, url, "alice");
    login(bob, url, "bob");
    login(carol, url, "carol");

    alice.findElement(By.id("room-name")).sendKeys("team");
    alice.findElement(By.id("create")).click();
    new WebDriverWait(alice, WAIT).until(d -> d.findElement(By.id("room-tools")).isDisplayed());
    alice.findElement(By.id("invite-user")).sendKeys("bob");
    alice.findElement(By.id("invite")).click();
    By roomButton = By.cssSelector("#room-list .room[data-session-id='room:team']");
    new WebDriverWait(bob, WAIT).until(d -> !d.findElements(roomButton).isEmpty());
    bob.findElement(roomButton).click();
    new WebDriverWait(bob, WAIT).until(d -> d.findElement(By.id("presence")).getText().contains("alice ●"));

    String prompt = "Count the words of our room, I approve the tool";
    ask(bob, prompt);
    for (WebDriver d : List.of(alice, bob)) {
      new WebDriverWait(d, WAIT).until(x -> !x.findElements(By.cssSelector("#approvals .approval")).isEmpty());
    }
    screenshot(alice, "room-alice.png");
    String roomShot = System.getProperty("runlane.example.roomScreenshot");
    if (roomShot != null) {
      File shot = ((TakesScreenshot) alice).getScreenshotAs(OutputType.FILE);
      Path target = Path.of(roomShot);
      Files.createDirectories(target.toAbsolutePath().getParent());
      Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    }
    alice.findElement(By.cssSelector("#approvals .approval .approve")).click();
    new WebDriverWait(bob, WAIT).until(d -> d.findElements(By.cssSelector("#approvals .approval")).isEmpty());
    for (WebDriver d : List.of(alice, bob)) {
      new WebDriverWait(d, WAIT).until(x -> "completed".equals(lastState(x)));
      assertEquals(DemoAgent.answer(prompt, true), answer(d));
      assertTrue(String.valueOf(js(d, "return document.querySelector('#transcript .turn:last-child .meta').textContent;"))
          .contains("Tool approved by alice"));
    }
    // carol was online the whole time: no room, no turn, no error
    assertEquals(0, turns(carol));
    assertEquals(1L, (Long) js(carol, "return document.querySelectorAll('#room-list .room').length;"), "only her own chat");
    assertEquals("", js(carol, "return document.getElementById('errors').textContent;"));
  }

  /**
   * The server restarted mid-answer (same port, history in a file database): the page reconnects
   * by itself and shows a clean end of the interrupted turn (failed, or lost if the end never reached
   * it), never an invented completion; a new tab shows the whole conversation from the history.
   */
  @Test
  void aRestartMidAnswerEndsTheTurnCleanlyAndANewTabShowsTheHistory(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    String history = "jdbc:h2:file:" + dir.resolve("chat").toAbsolutePath();
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).historyUrl(history).build().start();
    int port = server.port();
    String url = server.uri().toString();
    alice = browser();
    login(alice, url, "alice");
    ask(alice, "What is Runlane?");
    new WebDriverWait(alice, WAIT).until(d -> turns(d) == 1 && "completed".equals(lastState(d)));
    String prompt = "Stream a long answer; the server restarts under it";
    ask(alice, prompt);
    new WebDriverWait(alice, WAIT).until(d -> turns(d) == 2 && answer(d).length() >= 40);
    server.close();
    server = ChatServer.builder().port(port).pace(Duration.ofMillis(15)).historyUrl(history).build().start();
    awaitOnline(alice);
    new WebDriverWait(alice, WAIT).until(d -> List.of("failed", "lost").contains(lastState(d)));
    assertTrue(DemoAgent.answer(prompt, true).startsWith(answer(alice)));
    assertTrue(alice.findElement(By.id("send")).isEnabled(), "a new prompt may be sent");

    aliceTab2 = browser(); // a new tab: its own sessionStorage, nothing stored
    login(aliceTab2, url, "alice");
    new WebDriverWait(aliceTab2, WAIT).until(d -> turns(d) == 2);
    assertEquals(DemoAgent.answer("What is Runlane?", true),
        js(aliceTab2, "return [...document.querySelectorAll('#transcript .turn')][0].querySelector('.answer').textContent;"));
    assertEquals("failed", lastState(aliceTab2), "the history keeps the interrupted turn, ended failed");
  }
}
