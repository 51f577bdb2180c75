package dev.runlane.cluster.redis;

import io.lettuce.core.ScriptOutputType;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Run epochs from Redis: {@code <base>.<n>}, where {@code base} is a random id stored in Redis at
 * first use and {@code n} a counter beside it, both in one hash, read and incremented by one script.
 * A Redis restarted empty has lost the base, so the next epoch gets a new random base: no epoch of
 * the lost store is ever handed out again, and clients holding one are told their position is gone.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class Epochs {
  private static final RedisLink.Script NEXT =
      new RedisLink.Script(
          """
          local b = redis.call('HGET', KEYS[1], 'base')
          if not b then
            b = ARGV[1]
            redis.call('HSET', KEYS[1], 'base', b)
          end
          return b .. '.' .. redis.call('HINCRBY', KEYS[1], 'n', 1)
          """);

  private final RedisLink link;
  private final Keys keys;
  private final SecureRandom random = new SecureRandom();

  Epochs(RedisLink link, Keys keys) {
    this.link = link;
    this.keys = keys;
  }

  String next() {
    byte[] b = new byte[8];
    random.nextBytes(b);
    byte[] epoch =
        link.await(
            NEXT.<byte[]>call(
                link.async(),
                ScriptOutputType.VALUE,
                new String[] {keys.epochs()},
                RedisLink.bytes(HexFormat.of().formatHex(b))),
            "new epoch");
    return RedisLink.string(epoch);
  }
}
