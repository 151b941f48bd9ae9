"""The Lua scripts the Redis backend runs server-side, one per atomic step.

Each mirrors a pure rule in base.py (after_failure, bucket_take, budget_fits):
Redis runs a script alone, so read-decide-write is one step for every host.
Numbers go back as strings: Redis would truncate a Lua number to an integer.
"""

# KEYS[1] cooldown hash. ARGV: name, now, reason, forget_after, max_cooldown,
# decide(1), decide(2), ... (the schedule; failures past its end reuse the last).
FAIL = """
local now = tonumber(ARGV[2])
local forget = tonumber(ARGV[4])
local max_cd = tonumber(ARGV[5])
local failures, old_until, old_seconds = 0, 0, 0
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local ok, old = pcall(cjson.decode, raw)
  if ok and type(old) == 'table' then
    old_until = tonumber(old['until']) or 0
    old_seconds = tonumber(old['seconds']) or max_cd
    if old_until + forget > now then failures = tonumber(old['failures']) or 0 end
  end
end
failures = failures + 1
local n = #ARGV - 5
local s = tonumber(ARGV[5 + math.min(failures, n)]) or 0
s = math.max(0, math.min(s, max_cd))
local left = math.max(0, math.min(old_until - now, old_seconds))
local new_until = now + math.max(s, left)
local entry = cjson.encode({['until'] = new_until, seconds = new_until - now,
                            reason = ARGV[3], since = now, failures = failures})
redis.call('HSET', KEYS[1], ARGV[1], entry)
-- forget streaks nobody will read again, so the hash stays small
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, e = pcall(cjson.decode, all[i + 1])
  if not ok or type(e) ~= 'table' or (tonumber(e['until']) or 0) + forget <= now then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return entry
"""

# KEYS[1] cursor hash. ARGV: key, wrap.
NEXT_CURSOR = """
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if v >= tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], 0) end
return v - 1
"""

# KEYS[1] bucket hash. ARGV: amount, rate, per. Returns the seconds to wait.
# Server time: every host paces against the same clock.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local amount, rate, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local refill = rate / per
local h = redis.call('HMGET', KEYS[1], 'tokens', 't')
local tokens, stamp = tonumber(h[1]), tonumber(h[2])
if tokens == nil or stamp == nil then
  tokens = rate
else
  tokens = math.min(rate, tokens + math.max(0, now - stamp) * refill)
end
local need = math.min(amount, rate)
local wait = 0
if tokens >= need then tokens = tokens - amount else wait = (need - tokens) / refill end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           't', string.format('%.17g', now))
-- a full bucket is the same as none: let it vanish then
redis.call('PEXPIRE', KEYS[1], math.ceil(((rate - tokens) / refill + 1) * 1000))
return string.format('%.17g', wait)
"""

# KEYS[1] the day's spend, KEYS[2] the day's reservations hash.
# ARGV: id, amount, limit, ttl, pid, host, keep_seconds. Returns 1 held, 0 refused.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local amount, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local spent = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local held = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local ok, r = pcall(cjson.decode, all[i + 1])
  if ok and type(r) == 'table' and (tonumber(r['expires']) or 0) > now then
    held = held + (tonumber(r['amount']) or 0)
  else
    redis.call('HDEL', KEYS[2], all[i])
  end
end
if spent + held + amount > limit + 1e-9 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({amount = amount,
           expires = now + tonumber(ARGV[4]), pid = tonumber(ARGV[5]), host = ARGV[6]}))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
return 1
"""

# KEYS[1] the day's spend, KEYS[2] the day's reservations. ARGV: id, cost, keep_seconds.
SETTLE = """
redis.call('HDEL', KEYS[2], ARGV[1])
local cost = tonumber(ARGV[2])
if cost > 0 then
  redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return 1
"""
