package dev.runlane.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * A client process of the real-socket harness ({@link WireLoadHarness}): thousands of WebSocket
 * connections on one NIO selector thread, with a hand-written RFC 6455 client (HTTP upgrade,
 * unmasked server frames in, masked text frames out, pong for ping) and a byte-level scan of the
 * JSON frames for the few fields it checks, so the client costs as little CPU per event as it can
 * and a saturated client does not stand in for a slow server.
 *
 * <p>Each connection subscribes to one session and checks, per run, that seqs arrive without gap
 * or duplicate; it records each delta's latency from the time stamped in its data (the server's
 * {@code System.nanoTime()}: on Linux both processes read the same monotonic clock) and counts
 * every byte read from the socket (WebSocket framing included, TCP/IP headers not).
 *
 * <p>Driven over stdin/stdout, one command per line (see {@link #command}); exits when stdin ends.
 *
 * <p><b>Thread safety:</b> a process main; all connection state is owned by the selector thread,
 * commands are handed to it as tasks.
 */
public final class WireClient {
  private static final byte[] KIND = bytes("\"kind\":\"");
  private static final byte[] SEQ = bytes("\"seq\":");
  private static final byte[] TYPE = bytes("\"type\":\"");
  private static final byte[] DATA_T = bytes("\"data\":{\"t\":");
  private static final byte[] COMPACT_T = bytes("{\"t\":");
  private static final byte[] RUN_ID = bytes("\"runId\":\"");
  private static final byte[] EPOCH = bytes("\"epoch\":\"");
  private static final byte[] REPLAY_TO = bytes("\"replayTo\":");
  private static final byte[] STATUS = bytes("\"status\":\"");

  private final InetSocketAddress server;
  private final PrintStream out;
  private final Selector selector;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final List<Conn> conns = new ArrayList<>();

  // counters, owned by the selector thread
  private long delivered;
  private long bytesRead;
  /** WebSocket data messages read (a joined message of protocol 3 counts once). */
  private long wsMessages;
  private long gaps;
  private long dups;
  private long truncated;
  private long errors;
  private Histogram latency = newHistogram();
  private Histogram ctl = newHistogram();
  private Histogram fifo = newHistogram();
  private long resumeAt;
  private long sinceResume;
  private long allEvents;
  private Histogram aheadCtl = countHistogram();
  private Histogram aheadFifo = countHistogram();
  /** The storm's drop → 101 → ack → caught-up times of every dropped connection. */
  private final StormTimes storm = new StormTimes();

  private final int rcvbuf;
  /** The wire protocol to ask for with a hello after each welcome; 1 sends none. */
  private final int protocol;

  WireClient(InetSocketAddress server, int rcvbuf, int protocol, PrintStream out) throws IOException {
    this.server = server;
    this.rcvbuf = rcvbuf;
    this.protocol = protocol;
    this.out = out;
    this.selector = Selector.open();
  }

  /** {@code java ... WireClient port=N [rcvbuf=BYTES] [protocol=2]} */
  public static void main(String[] args) throws Exception {
    Map<String, String> opt = WireLoadHarness.options(args);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    WireClient c =
        new WireClient(new InetSocketAddress("127.0.0.1", Integer.parseInt(opt.get("port"))),
            Integer.parseInt(opt.getOrDefault("rcvbuf", "0")),
            Integer.parseInt(opt.getOrDefault("protocol", "1")),
            out);
    Thread loop = new Thread(c::loop, "wire-client-selector");
    loop.setDaemon(true);
    loop.start();
    c.answer("ready pid " + ProcessHandle.current().pid());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null && !"quit".equals(line); ) {
      String[] a = line.trim().split(" +");
      CountDownLatch done = new CountDownLatch(1);
      String[] reply = new String[1];
      c.tasks.add(
          () -> {
            try {
              reply[0] = c.command(a);
            } catch (IOException | RuntimeException e) {
              reply[0] = "error " + e;
            }
            done.countDown();
          });
      c.selector.wakeup();
      if (!done.await(30, TimeUnit.SECONDS)) {
        c.answer("error timeout on " + line);
        continue;
      }
      String r = reply[0];
      if (r != null) {
        c.answer(r);
      } else if ("open".equals(a[0]) || "storm".equals(a[0])) {
        c.answer(c.awaitDone(a[0], "open".equals(a[0]) && a.length > 5 ? 500 : 120));
      }
    }
    System.exit(0);
  }

  synchronized void answer(String line) {
    out.println(line);
  }

  /**
   * Runs one command on the selector thread; null when the answer comes later (from {@link
   * #awaitDone}).
   *
   * <ul>
   *   <li>{@code open FROM TO PREFIX MOD [WINDOW]}: opens connections FROM..TO-1, user {@code
   *       cI}, each subscribing to session {@code PREFIX(I % MOD)} with lastSeq 0, at most WINDOW
   *       (default: all) being opened at once; a connection that fails while opening is retried
   *       up to 5 times; answers when all are acknowledged: {@code opened N MILLIS}.
   *   <li>{@code reset}: zeroes the counters and histograms (a measured window starts).
   *   <li>{@code stats}: the counters, and the histograms in HdrHistogram's compressed form, base64
   *       (the storm's: {@link StormTimes#encode}).
   *   <li>{@code drop}: closes every connection at once and reconnects each at once, resuming from
   *       its last seq and epoch; answers with this process's CPU time.
   *   <li>{@code storm}: waits until every dropped connection is acknowledged again and has
   *       received its replay up to the ack's {@code replayTo}; answers {@code stormdone N MILLIS
   *       cpu NANOS} (this process's CPU time).
   * </ul>
   */
  private @Nullable String command(String[] a) throws IOException {
    switch (a[0]) {
      case "open" -> {
        int from = Integer.parseInt(a[1]);
        int to = Integer.parseInt(a[2]);
        int mod = Integer.parseInt(a[4]);
        openWindow = a.length > 5 ? Integer.parseInt(a[5]) : Integer.MAX_VALUE;
        pendingSince = System.nanoTime();
        for (int i = from; i < to; i++) {
          Conn c = new Conn("c" + i, a[3] + (i % mod));
          conns.add(c);
          toOpen.add(c);
        }
        openMore();
        return null;
      }
      case "reset" -> {
        delivered = bytesRead = gaps = dups = truncated = wsMessages = 0;
        latency = newHistogram();
        ctl = newHistogram();
        fifo = newHistogram();
        aheadCtl = countHistogram();
        aheadFifo = countHistogram();
        return "ok cpu " + WireServer.cpuNanos();
      }
      case "stats" -> {
        int open = 0;
        for (Conn c : conns) {
          open += c.acked ? 1 : 0;
        }
        return "stats delivered " + delivered + " bytes " + bytesRead + " messages " + wsMessages + " gaps " + gaps + " dups " + dups
            + " truncated " + truncated + " errors " + errors + " open " + open + " cpu " + WireServer.cpuNanos()
            + " lat " + encode(latency) + " ctl " + encode(ctl) + " fifo " + encode(fifo)
            + storm.encode()
            + " aheadCtl " + encode(aheadCtl) + " aheadFifo " + encode(aheadFifo);
      }
      case "drop" -> {
        pendingSince = System.nanoTime();
        storm.drop(pendingSince);
        for (Conn c : conns) {
          c.closeQuietly();
        }
        for (Conn c : conns) {
          c.acked = false;
          c.catchingUp = true;
          c.connect();
        }
        return "ok cpu " + WireServer.cpuNanos();
      }
      case "storm" -> {
        return null;
      }
      case "count" -> {
        return "count n " + allEvents;
      }
      case "pause" -> {
        resumeAt = 0;
        for (Conn c : conns) {
          c.selectionKey().interestOps(0);
        }
        return "ok";
      }
      case "resume" -> {
        resumeAt = System.nanoTime();
        sinceResume = 0;
        for (Conn c : conns) {
          c.selectionKey().interestOps(SelectionKey.OP_READ);
        }
        return "ok";
      }
      default -> {
        return "error unknown command " + a[0];
      }
    }
  }

  private long pendingSince;

  /** Connections of an {@code open} not yet started, started while fewer than the window open. */
  private final java.util.ArrayDeque<Conn> toOpen = new java.util.ArrayDeque<>();

  private int openWindow = Integer.MAX_VALUE;
  private int opening;

  /** Starts queued connections while fewer than {@link #openWindow} are between connect and ack. */
  private void openMore() throws IOException {
    while (opening < openWindow && !toOpen.isEmpty()) {
      Conn c = toOpen.poll();
      c.opening = true;
      c.attempts++;
      opening++;
      c.connect();
    }
  }

  /** A connection closed or failed: if it was still opening, it leaves the window (and retries). */
  private void closedWhileOpening(Conn c) {
    if (c.opening) {
      c.opening = false;
      opening--;
      if (c.attempts < 5) {
        toOpen.add(c);
      }
    }
  }

  /** Polls (on the command thread, through tasks) until every connection is acked and caught up. */
  private String awaitDone(String what, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    int last = -1;
    while (System.nanoTime() < deadline) {
      CountDownLatch done = new CountDownLatch(1);
      int[] pending = new int[1];
      tasks.add(
          () -> {
            for (Conn c : conns) {
              if (!c.acked || c.catchingUp) {
                pending[0]++;
              }
            }
            done.countDown();
          });
      selector.wakeup();
      done.await(10, TimeUnit.SECONDS);
      if (pending[0] == 0) {
        return what + "done " + conns.size() + " " + (System.nanoTime() - pendingSince) / 1_000_000
            + " cpu " + WireServer.cpuNanos();
      }
      last = pending[0];
      Thread.sleep(20);
    }
    return what + "timeout pending " + last;
  }

  private void loop() {
    try {
      while (true) {
        for (Runnable r; (r = tasks.poll()) != null; ) {
          r.run();
        }
        selector.select(10);
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
          SelectionKey k = it.next();
          it.remove();
          Conn c = (Conn) k.attachment();
          try {
            if (!k.isValid()) {
              continue;
            }
            if (k.isConnectable()) {
              c.finishConnect();
            }
            if (k.isValid() && k.isWritable()) {
              c.flush();
            }
            if (k.isValid() && k.isReadable()) {
              c.read();
            }
          } catch (IOException | RuntimeException e) {
            errors++;
            c.closeQuietly();
          }
        }
        if (!toOpen.isEmpty()) {
          openMore();
        }
      }
    } catch (IOException e) {
      answer("error selector " + e);
      System.exit(3);
    }
  }

  /** One WebSocket connection. */
  private final class Conn {
    final String user;
    final String session;
    @Nullable SocketChannel ch;
    @Nullable SelectionKey key;
    ByteBuffer in = ByteBuffer.allocate(8192);
    @Nullable ByteBuffer pendingOut;
    boolean upgraded;
    boolean acked;
    /** Between connect and ack within an {@code open}'s window. */
    boolean opening;
    int attempts;
    boolean catchingUp;
    /** When this connection's upgrade completed, if it did while {@link #catchingUp}. */
    long upgradedAt;
    @Nullable String runId;
    @Nullable String epoch;
    long lastSeq;
    long replayTo = -1;

    Conn(String user, String session) {
      this.user = user;
      this.session = session;
    }

    void connect() throws IOException {
      SocketChannel c = SocketChannel.open();
      c.configureBlocking(false);
      c.setOption(StandardSocketOptions.TCP_NODELAY, true);
      if (rcvbuf > 0) {
        c.setOption(StandardSocketOptions.SO_RCVBUF, rcvbuf);
      }
      ch = c;
      upgraded = false;
      in.clear();
      pendingOut = null;
      if (c.connect(server)) {
        key = c.register(selector, 0, this);
        onConnected();
      } else {
        key = c.register(selector, SelectionKey.OP_CONNECT, this);
      }
    }

    void finishConnect() throws IOException {
      if (channel().finishConnect()) {
        onConnected();
      }
    }

    void onConnected() throws IOException {
      selectionKey().interestOps(SelectionKey.OP_READ);
      write(
          ByteBuffer.wrap(
              bytes(
                  "GET /ws?u=" + user + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.getPort()
                      + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")));
    }

    SocketChannel channel() {
      SocketChannel c = ch;
      if (c == null) {
        throw new IllegalStateException("not connected");
      }
      return c;
    }

    SelectionKey selectionKey() {
      SelectionKey k = key;
      if (k == null) {
        throw new IllegalStateException("not registered");
      }
      return k;
    }

    void closeQuietly() {
      try {
        if (ch != null) {
          ch.close();
        }
      } catch (IOException e) {
        errors++;
      }
      closedWhileOpening(this);
    }

    void write(ByteBuffer b) throws IOException {
      if (pendingOut != null) {
        ByteBuffer merged = ByteBuffer.allocate(pendingOut.remaining() + b.remaining());
        merged.put(pendingOut).put(b).flip();
        pendingOut = merged;
        return;
      }
      channel().write(b);
      if (b.hasRemaining()) {
        pendingOut = b;
        selectionKey().interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
      }
    }

    void flush() throws IOException {
      ByteBuffer p = pendingOut;
      if (p != null) {
        channel().write(p);
        if (!p.hasRemaining()) {
          pendingOut = null;
          selectionKey().interestOps(SelectionKey.OP_READ);
        }
      }
    }

    /** A masked text frame; a zero masking key leaves the payload as it is. */
    void sendText(String text) throws IOException {
      sendFrame(0x81, bytes(text));
    }

    void sendFrame(int b0, byte[] p) throws IOException {
      ByteBuffer f = ByteBuffer.allocate(p.length + 8);
      f.put((byte) b0);
      if (p.length < 126) {
        f.put((byte) (0x80 | p.length));
      } else {
        f.put((byte) (0x80 | 126)).putShort((short) p.length);
      }
      f.putInt(0).put(p).flip();
      write(f);
    }

    void read() throws IOException {
      int n = channel().read(in);
      if (n < 0) {
        closeQuietly();
        return;
      }
      bytesRead += n;
      in.flip();
      if (!upgraded) {
        int end = indexOf(in.array(), in.position(), in.limit(), bytes("\r\n\r\n"));
        if (end < 0) {
          in.compact();
          return;
        }
        if (in.get(9) != '1' || in.get(10) != '0' || in.get(11) != '1') {
          throw new IOException("upgrade refused: " + new String(in.array(), 0, end, StandardCharsets.ISO_8859_1));
        }
        upgraded = true;
        if (catchingUp) {
          upgradedAt = storm.upgraded(System.nanoTime());
        }
        in.position(end + 4);
      }
      frames();
      in.compact();
      if (!in.hasRemaining()) { // a frame larger than the buffer: grow it
        ByteBuffer bigger = ByteBuffer.allocate(in.capacity() * 2);
        in.flip();
        bigger.put(in);
        in = bigger;
      }
    }

    /** Handles every whole frame in {@code in} (flipped); leaves a partial one in place. */
    void frames() throws IOException {
      byte[] a = in.array();
      while (in.remaining() >= 2) {
        int p = in.position();
        int b0 = a[p] & 0xff;
        int len = a[p + 1] & 0x7f;
        int hdr = 2;
        if (len == 126) {
          if (in.remaining() < 4) {
            return;
          }
          len = ((a[p + 2] & 0xff) << 8) | (a[p + 3] & 0xff);
          hdr = 4;
        } else if (len == 127) {
          if (in.remaining() < 10) {
            return;
          }
          len = (int) in.getLong(p + 2);
          hdr = 10;
        }
        if (in.remaining() < hdr + len) {
          if (hdr + len > in.capacity()) {
            ByteBuffer bigger = ByteBuffer.allocate(hdr + len + 1024);
            bigger.put(in).flip();
            in = bigger;
          }
          return;
        }
        int from = p + hdr;
        int to = from + len;
        int op = b0 & 0x0f;
        if (op == 1 || op == 2) {
          wsMessages++;
          if ((b0 & 0x80) == 0) {
            throw new IOException("fragmented message (not expected for small frames)");
          }
          if (protocol >= 3) { // protocol 3: a text message may join several by line feeds
            int start = from;
            for (int i = from; i < to; i++) {
              if (a[i] == '\n') {
                message(a, start, i);
                start = i + 1;
              }
            }
            message(a, start, to);
          } else {
            message(a, from, to);
          }
        } else if (op == 9) {
          byte[] payload = new byte[len];
          System.arraycopy(a, from, payload, 0, len);
          sendFrame(0x8A, payload);
        } else if (op == 8) {
          closeQuietly();
          in.position(in.limit());
          return;
        }
        in.position(to);
      }
    }

    /** One run event, in either form: seq check (gap / duplicate), latency from the stamp {@code sent} (-1: none). */
    void event(long seq, byte typeFirst, long sent, long now) {
      delivered++;
      allEvents++;
      sinceResume++;
      if (seq <= lastSeq) {
        dups++;
      } else {
        if (seq > lastSeq + 1) {
          gaps += seq - lastSeq - 1;
        }
        lastSeq = seq;
      }
      if (sent >= 0) {
        if (typeFirst == 'm') { // a marker behind a backlog: latency from the resume of reading
          fifo.recordValue(Math.max(0, now - (resumeAt > 0 ? resumeAt : sent)));
          aheadFifo.recordValue(sinceResume - 1);
        } else {
          latency.recordValue(Math.max(0, now - sent));
        }
      }
      if (catchingUp && acked && lastSeq >= replayTo) {
        catchingUp = false;
        storm.caughtUp(upgradedAt, now);
      }
    }

    void message(byte[] a, int from, int to) throws IOException {
      long now = System.nanoTime();
      if (a[from] == '[') { // protocol 2: ["runId",seq,"type",data]
        int i = from + 2;
        while (i < to && a[i] != '"') {
          i++; // run ids hold no escapes
        }
        long seq = number(a, i + 2);
        int ty = i + 2;
        while (ty < to && a[ty] != '"') {
          ty++;
        }
        ty++;
        int te = ty;
        while (te < to && a[te] != '"') {
          te++;
        }
        int d = te + 2; // past the closing quote and the comma
        long sent = d + COMPACT_T.length <= to && indexOf(a, d, d + COMPACT_T.length, COMPACT_T) == d
            ? number(a, d + COMPACT_T.length) : -1;
        event(seq, a[ty], sent, now);
        return;
      }
      int k = indexOf(a, from, Math.min(to, from + 32), KIND);
      if (k < 0) {
        return;
      }
      k += KIND.length;
      byte c0 = a[k];
      if (c0 == 'r') { // run_event
        long seq = number(a, indexOf(a, k, to, SEQ) + SEQ.length);
        int ty = indexOf(a, k, to, TYPE) + TYPE.length;
        int t = indexOf(a, ty, to, DATA_T);
        event(seq, a[ty], t >= 0 ? number(a, t + DATA_T.length) : -1, now);
      } else if (c0 == 'n') { // notice
        int t = indexOf(a, k, to, DATA_T);
        if (t >= 0) {
          ctl.recordValue(Math.max(0, now - (resumeAt > 0 ? resumeAt : number(a, t + DATA_T.length))));
          aheadCtl.recordValue(sinceResume);
        }
      } else if (c0 == 'w') { // welcome: say hello (if asked to), subscribe, resuming where we are
        if (catchingUp) {
          storm.welcomed(upgradedAt, now);
        }
        if (protocol > 1) {
          sendText("{\"type\":\"hello\",\"protocol\":" + protocol + "}");
        }
        StringBuilder sb =
            new StringBuilder("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"")
                .append(session)
                .append("\",\"lastSeq\":")
                .append(lastSeq);
        if (epoch != null) {
          sb.append(",\"epoch\":\"").append(epoch).append('"');
        }
        sendText(sb.append("}]}").toString());
      } else if (c0 == 's' && a[k + 1] == 'u') { // subscribed
        String run = string(a, indexOf(a, k, to, RUN_ID) + RUN_ID.length);
        String ep = string(a, indexOf(a, k, to, EPOCH) + EPOCH.length);
        if (!run.equals(runId)) {
          runId = run;
          lastSeq = 0;
        }
        epoch = ep;
        int st = indexOf(a, k, to, STATUS) + STATUS.length;
        if (a[st] == 'T') {
          truncated++;
        }
        replayTo = number(a, indexOf(a, k, to, REPLAY_TO) + REPLAY_TO.length);
        acked = true;
        if (opening) {
          opening = false;
          WireClient.this.opening--;
        }
        if (catchingUp) {
          storm.acked(upgradedAt, now);
          if (lastSeq >= replayTo) {
            catchingUp = false;
            storm.caughtUp(upgradedAt, now);
          }
        }
      }
    }
  }

  static Histogram newHistogram() {
    return new Histogram(TimeUnit.SECONDS.toNanos(120), 3);
  }

  /** Exact counts up to a million. */
  static Histogram countHistogram() {
    return new Histogram(1_000_000, 5);
  }

  static String encode(Histogram h) {
    ByteBuffer b = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(b);
    byte[] raw = new byte[n];
    b.flip();
    b.get(raw);
    return Base64.getEncoder().encodeToString(raw);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static int indexOf(byte[] a, int from, int to, byte[] p) {
    outer:
    for (int i = from; i <= to - p.length; i++) {
      for (int j = 0; j < p.length; j++) {
        if (a[i + j] != p[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** A non-negative decimal at {@code i}; -1 when there is none (e.g. {@code null}). */
  static long number(byte[] a, int i) {
    long v = -1;
    for (; i < a.length && a[i] >= '0' && a[i] <= '9'; i++) {
      v = (v < 0 ? 0 : v * 10) + (a[i] - '0');
    }
    return v;
  }

  /** The JSON string (without escapes) starting at {@code i}, up to the closing quote. */
  static String string(byte[] a, int i) {
    int j = i;
    while (j < a.length && a[j] != '"') {
      j++;
    }
    return new String(a, i, j - i, StandardCharsets.UTF_8);
  }
}
