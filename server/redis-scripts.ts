/**
 * The Lua scripts of the Redis room store. Each touches the keys of one room only, all under the
 * room's hash tag `{room}`, so it runs atomically on a single Redis or on the one Cluster shard
 * that owns the room. Messages are published from inside the scripts, so a room's messages
 * leave Redis in the order its changes were made.
 */

/**
 * Compare-and-set of a room's seats.
 * KEYS[1] the room hash (`v`: version, `seats`: JSON array, `''` when empty).
 * ARGV[1] expected version · ARGV[2] new seats JSON (`''`: none; the hash stays as a tombstone
 * so that versions never repeat) · ARGV[3] tombstone lifetime, ms · ARGV[4] queue key prefix ·
 * ARGV[5] peerId whose queue to hand back (or `''`) · ARGV[6] n, then n peerIds whose queues to
 * empty · then channel, payload pairs to publish.
 * Returns 0 on a version conflict, else {1, previous seats JSON, queued signals...}.
 */
export const WRITE_ROOM = `
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
local previous = redis.call('HGET', KEYS[1], 'seats') or ''
redis.call('HSET', KEYS[1], 'v', version + 1, 'seats', ARGV[2])
if ARGV[2] == '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
local prefix = ARGV[4]
if previous ~= '' then
  local kept = {}
  if ARGV[2] ~= '' then
    for _, seat in ipairs(cjson.decode(ARGV[2])) do kept[seat.peerId] = true end
  end
  for _, seat in ipairs(cjson.decode(previous)) do
    if not kept[seat.peerId] then
      redis.call('DEL', prefix .. seat.peerId)
      redis.call('HDEL', KEYS[1], 'qb:' .. seat.peerId)
    end
  end
end
local result = {1, previous}
if ARGV[5] ~= '' then
  local key = prefix .. ARGV[5]
  for _, item in ipairs(redis.call('LRANGE', key, 0, -1)) do result[#result + 1] = item end
  redis.call('DEL', key)
  redis.call('HDEL', KEYS[1], 'qb:' .. ARGV[5])
end
local n = tonumber(ARGV[6])
for i = 1, n do
  redis.call('DEL', prefix .. ARGV[6 + i])
  redis.call('HDEL', KEYS[1], 'qb:' .. ARGV[6 + i])
end
for i = 7 + n, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return result
`;

/**
 * Relays a signal to the other seat of a room.
 * KEYS[1] the room hash. ARGV[1] sender peerId · ARGV[2] sender link · ARGV[3] the `signal`
 * frame (JSON), sent to a live receiver or queued for a held one · ARGV[4] queue limit ·
 * ARGV[5] node channel prefix · ARGV[6] queue key prefix · ARGV[7] sent-at stamp · ARGV[8]
 * byte limit of the seat's queue (its total is the room hash's `qb:<peerId>`) · ARGV[9] bytes
 * the sender may still queue.
 * Returns delivered | queued | peer-absent | not-seated.
 */
export const RELAY_SIGNAL = `
local raw = redis.call('HGET', KEYS[1], 'seats')
if not raw or raw == '' then return 'not-seated' end
local sender, other
for _, seat in ipairs(cjson.decode(raw)) do
  if seat.peerId == ARGV[1] then sender = seat else other = seat end
end
if not sender or sender.link ~= ARGV[2] then return 'not-seated' end
if not other then return 'peer-absent' end
if other.link ~= '' then
  local node = string.match(other.link, '^([^/]*)/')
  redis.call('PUBLISH', ARGV[5] .. node, other.link .. '\\n' .. ARGV[7] .. '\\n' .. ARGV[3])
  return 'delivered'
end
local queue = ARGV[6] .. other.peerId
local size = #ARGV[3]
if size > tonumber(ARGV[9]) or redis.call('LLEN', queue) >= tonumber(ARGV[4]) then return 'peer-absent' end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'qb:' .. other.peerId) or '0')
if bytes + size > tonumber(ARGV[8]) then return 'peer-absent' end
redis.call('RPUSH', queue, ARGV[3])
redis.call('HINCRBY', KEYS[1], 'qb:' .. other.peerId, size)
return 'queued'
`;

/**
 * Adds a member to a set unless the set is full (rooms against maxRooms).
 * KEYS[1] the set · ARGV[1] member · ARGV[2] limit. Returns 1 if it is (now) a member.
 */
export const ADMIT_TO_SET = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
`;
