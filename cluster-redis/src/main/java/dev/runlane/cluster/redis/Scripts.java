package dev.runlane.cluster.redis;

/**
 * The Lua scripts: each decides one step of a run atomically, in one round trip, on keys of one
 * hash slot (the session's). Return codes are shared: {@code 1} done, {@code 2} already done (a
 * resend), {@code 0} refused (a hole before the seq, or another end won, or the head moved), {@code
 * -1} fenced (the run's end is recorded and this write is not its terminal), {@code -2} the store
 * has no record of the run (expired, or Redis restarted empty).
 *
 * <p><b>Thread safety:</b> immutable.
 */
final class Scripts {
  private Scripts() {}

  private static final String FIELDS =
      """
      local function fields(p, m, x, c)
        local f = {'p', p, 'm', m}
        if x ~= '' then f[#f + 1] = 'x'; f[#f + 1] = x end
        if c ~= '' then f[#f + 1] = 'c'; f[#f + 1] = c end
        return f
      end
      """;

  /**
   * KEYS: session, run record. ARGV: run, session, epoch, node, owner, session owner, retention ms,
   * started channel, record bytes. Returns nil when claimed, else the running run's id.
   */
  static final RedisLink.Script CLAIM =
      new RedisLink.Script(
          """
          local cur = redis.call('HGET', KEYS[1], 'running')
          if cur then return cur end
          redis.call('HSET', KEYS[1], 'running', ARGV[1], 'latest', ARGV[1])
          redis.call('PERSIST', KEYS[1])
          redis.call('HSET', KEYS[2], 'session', ARGV[2], 'epoch', ARGV[3], 'node', ARGV[4],
            'owner', ARGV[5], 'sowner', ARGV[6], 'ret', ARGV[7], 'head', 0, 'oldest', 1, 'sn', 0)
          redis.call('PUBLISH', ARGV[8], ARGV[9])
          return false
          """);

  /**
   * A batch of appends of one run, in seq order. KEYS: run record, stream, approvals. ARGV: the
   * number of frames, then 7 per frame: seq, oldest seq kept, terminal ('1'/'0'), payload, kind,
   * meta, coalesce key. Each frame is stored only if it is the head's next and the run's end is not
   * recorded (or it is that end's terminal); a frame already stored (a resend) is skipped. Stops at
   * the first refused frame. Returns {code, the highest seq now known stored of this batch, or 0}.
   */
  static final RedisLink.Script APPEND =
      new RedisLink.Script(
          FIELDS
              + """
              if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
              local head = tonumber(redis.call('HGET', KEYS[1], 'head'))
              local tseq = redis.call('HGET', KEYS[1], 'tseq')
              if tseq then tseq = tonumber(tseq) end
              local n = tonumber(ARGV[1])
              local last = 0
              local oldest = nil
              local function done(code)
                if oldest then redis.call('HSET', KEYS[1], 'head', head, 'oldest', oldest, 'sn', 0) end
                return {code, last}
              end
              for i = 0, n - 1 do
                local b = 2 + i * 7
                local seq = tonumber(ARGV[b])
                local term = ARGV[b + 2] == '1'
                if tseq and (seq > tseq or (seq == tseq and not term)) then return done(-1) end
                if seq <= head then
                  last = seq
                elseif seq ~= head + 1 then
                  return done(0)
                else
                  redis.call('XADD', KEYS[2], 'MINID', ARGV[b + 1] .. '-0', seq .. '-0',
                    unpack(fields(ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6])))
                  head = seq
                  last = seq
                  oldest = ARGV[b + 1]
                  if term then
                    redis.call('DEL', KEYS[3])
                    redis.call('PEXPIRE', KEYS[2], redis.call('HGET', KEYS[1], 'ret'))
                  end
                end
              end
              return done(1)
              """);

  /**
   * KEYS: run record, stream, approvals. ARGV: type (R requested, S resolved, T status), approval
   * id, payload, kind, meta, coalesce key, frame blob. Returns 3 for a status dropped (best effort:
   * at most 64 between two events).
   */
  static final RedisLink.Script SIGNAL =
      new RedisLink.Script(
          FIELDS
              + """
              if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
              if redis.call('HEXISTS', KEYS[1], 'tseq') == 1 then return -1 end
              local head = redis.call('HGET', KEYS[1], 'head')
              local n = redis.call('HINCRBY', KEYS[1], 'sn', 1)
              if ARGV[1] == 'T' and n > 64 then return 3 end
              local id = head .. '-' .. n
              redis.call('XADD', KEYS[2], id, unpack(fields(ARGV[3], ARGV[4], ARGV[5], ARGV[6])))
              if ARGV[1] == 'R' then
                redis.call('HSET', KEYS[3], ARGV[2], id .. ' ' .. ARGV[7])
              elseif ARGV[1] == 'S' then
                redis.call('HDEL', KEYS[3], ARGV[2])
              end
              return 1
              """);

  /**
   * KEYS: session, run record, stream, approvals. ARGV: run, outcome bytes, terminal seq, with
   * terminal ('1'/'0'), then the terminal's payload, kind, meta, coalesce key. Returns the record's
   * retention in ms (>= 1) when this call ended the run.
   */
  static final RedisLink.Script END =
      new RedisLink.Script(
          FIELDS
              + """
              if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end
              if redis.call('HEXISTS', KEYS[2], 'tseq') == 1 then return 0 end
              local tseq = tonumber(ARGV[3])
              local ret = redis.call('HGET', KEYS[2], 'ret')
              if ARGV[4] == '1' then
                local head = tonumber(redis.call('HGET', KEYS[2], 'head'))
                if head ~= tseq - 1 then return 0 end
                redis.call('XADD', KEYS[3], tseq .. '-0', unpack(fields(ARGV[5], ARGV[6], ARGV[7], ARGV[8])))
                redis.call('HSET', KEYS[2], 'head', tseq, 'sn', 0)
                redis.call('DEL', KEYS[4])
                redis.call('PEXPIRE', KEYS[3], ret)
              end
              redis.call('HSET', KEYS[2], 'tseq', tseq, 'outcome', ARGV[2])
              redis.call('PEXPIRE', KEYS[2], ret)
              if redis.call('HGET', KEYS[1], 'running') == ARGV[1] then
                redis.call('HDEL', KEYS[1], 'running')
                redis.call('PEXPIRE', KEYS[1], ret)
              end
              return tonumber(ret)
              """);
}
