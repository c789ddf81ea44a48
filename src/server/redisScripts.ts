/**
 * @internal The Lua scripts behind {@link RedisSignalingState}: each state
 * operation is one script, so Redis runs it as one atomic step.
 *
 * Every script gets `ARGV[1]` = the key prefix and `ARGV[2]` = the calling
 * node's id; the rest is per script. Keys (P = the prefix):
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P hosts` | hash | look-alike key of a host name → host socket id |
 * | `P names` | hash | host socket id → host name (as listed) |
 * | `P keys` | hash | host socket id → look-alike key of its name |
 * | `P member` | hash | member socket id → its group's id (its host's socket id, also after the host left) |
 * | `P group:<hostId>` | sorted set | the group's members, scored by join order; kept after the host left until the last member leaves |
 * | `P seq` | counter | the join order |
 * | `P owner` | hash | socket id (hosting or member) → id of the node it is connected to |
 * | `P node:<nodeId>` | set | the sockets of that node that host or are members |
 * | `P hostsver` | counter | bumped whenever a host name is claimed or released (list caches compare it) |
 * | `P nodes` | set | node ids that have registered |
 * | `P alive:<nodeId>` | string with a TTL | the node's heartbeat |
 *
 * Keys are built inside the scripts, so this needs a standalone Redis (or a
 * Redis Cluster where every key of the prefix lives in one slot, e.g. a
 * prefix like `{rxpeer}:`).
 */

const PRELUDE = `
local P = ARGV[1]
local NODE = ARGV[2]
local K_HOSTS = P .. 'hosts'
local K_NAMES = P .. 'names'
local K_KEYS = P .. 'keys'
local K_MEMBER = P .. 'member'
local K_OWNER = P .. 'owner'
local K_NODES = P .. 'nodes'
local K_SEQ = P .. 'seq'
local K_VER = P .. 'hostsver'
local function kGroup(h) return P .. 'group:' .. h end
local function kNode(n) return P .. 'node:' .. n end
local function kAlive(n) return P .. 'alive:' .. n end

local function own(sid)
  local prev = redis.call('HGET', K_OWNER, sid)
  if prev and prev ~= NODE then redis.call('SREM', kNode(prev), sid) end
  redis.call('HSET', K_OWNER, sid, NODE)
  redis.call('SADD', kNode(NODE), sid)
end

local function disown(sid)
  local node = redis.call('HGET', K_OWNER, sid)
  if node then
    redis.call('SREM', kNode(node), sid)
    redis.call('HDEL', K_OWNER, sid)
  end
end

-- the host first (while it is there), then the members in join order
local function groupList(h)
  local list = redis.call('ZRANGE', kGroup(h), 0, -1)
  if redis.call('HEXISTS', K_NAMES, h) == 1 then table.insert(list, 1, h) end
  return list
end

-- takes a member out of group h; returns who is left; a group whose host left goes with its last member
local function leaveGroup(sid, h)
  redis.call('ZREM', kGroup(h), sid)
  local left = groupList(h)
  if #left == 0 then redis.call('DEL', kGroup(h)) end
  return left
end

local function addMember(sid, h)
  redis.call('ZADD', kGroup(h), redis.call('INCR', K_SEQ), sid)
  redis.call('HSET', K_MEMBER, sid, h)
  own(sid)
end

local function remove(sid)
  local name = redis.call('HGET', K_NAMES, sid)
  if name then
    -- the members stay a group without their host until the last one leaves
    local members = redis.call('ZRANGE', kGroup(sid), 0, -1)
    if #members == 0 then redis.call('DEL', kGroup(sid)) end
    local key = redis.call('HGET', K_KEYS, sid) or name
    redis.call('HDEL', K_NAMES, sid)
    redis.call('HDEL', K_KEYS, sid)
    if redis.call('HGET', K_HOSTS, key) == sid then redis.call('HDEL', K_HOSTS, key) end
    redis.call('INCR', K_VER)
    disown(sid)
    return { kind = 'host', name = name, members = members }
  end
  local h = redis.call('HGET', K_MEMBER, sid)
  if h then
    redis.call('HDEL', K_MEMBER, sid)
    local remaining = leaveGroup(sid, h)
    disown(sid)
    return { kind = 'member', hostId = h, remaining = remaining }
  end
  disown(sid)
  return { kind = 'none' }
end

-- the group a socket is in: its own id for a host, its host's (also one that left) for a member
local function groupOf(sid)
  if redis.call('HEXISTS', K_NAMES, sid) == 1 then return sid end
  local h = redis.call('HGET', K_MEMBER, sid)
  if h then return h end
  return false
end
`;

const script = (body: string): string => `${PRELUDE}\n${body}`;

/** ARGV[3] socket id, ARGV[4] name, ARGV[5] its look-alike key. */
export const CLAIM = script(`
local sid, name, key = ARGV[3], ARGV[4], ARGV[5]
local cur = redis.call('HGET', K_NAMES, sid)
if cur then
  if cur == name then return cjson.encode({ kind = 'already-yours' }) end
  return cjson.encode({ kind = 'hosting-other', current = cur })
end
local h = redis.call('HGET', K_MEMBER, sid)
if h then return cjson.encode({ kind = 'member', hostId = h }) end
if redis.call('HSETNX', K_HOSTS, key, sid) == 0 then return cjson.encode({ kind = 'taken' }) end
redis.call('HSET', K_NAMES, sid, name)
redis.call('HSET', K_KEYS, sid, key)
redis.call('INCR', K_VER)
own(sid)
return cjson.encode({ kind = 'claimed' })
`);

/** ARGV[3] member id, ARGV[4] host id, ARGV[5] the most sockets in a group (host included), or 0 for no cap. */
export const JOIN = script(`
local sid, h, max = ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('HEXISTS', K_NAMES, sid) == 1 then return cjson.encode({ kind = 'is-host' }) end
if redis.call('HEXISTS', K_NAMES, h) == 0 then return cjson.encode({ kind = 'not-a-host' }) end
local prev = redis.call('HGET', K_MEMBER, sid)
if prev == h then return cjson.encode({ kind = 'already-member' }) end
if max > 0 and redis.call('ZCARD', kGroup(h)) + 2 > max then return cjson.encode({ kind = 'full' }) end
local result = { kind = 'joined' }
if prev then
  result.left = { hostId = prev, remaining = leaveGroup(sid, prev) }
end
addMember(sid, h)
return cjson.encode(result)
`);

/** ARGV[3] socket id. */
export const REMOVE = script(`
return cjson.encode(remove(ARGV[3]))
`);

/** ARGV[3] socket id; returns the group id or nil. */
export const GROUP_OF = script(`
return groupOf(ARGV[3])
`);

/** ARGV[3] host id; returns [host, ...members] or []. */
export const GROUP_MEMBERS = script(`
if redis.call('HEXISTS', K_NAMES, ARGV[3]) == 0 then return {} end
return groupList(ARGV[3])
`);

/**
 * ARGV[3] the version of the list the caller holds (`P hostsver`). Returns
 * [version] when it is still current (O(1)), else [version, [id, name, id, name, …]].
 */
export const LIST_HOSTS = script(`
local v = redis.call('GET', K_VER) or '0'
if v == ARGV[3] then return { v } end
return { v, redis.call('HGETALL', K_NAMES) }
`);

/** ARGV[3] look-alike key; returns the host id or nil. */
export const LOOKUP_HOST = script(`
return redis.call('HGET', K_HOSTS, ARGV[3])
`);

/** ARGV[3] socket id; returns the name it hosts or nil. */
export const HOST_NAME_OF = script(`
return redis.call('HGET', K_NAMES, ARGV[3])
`);

/** Returns [hosts, members]. */
export const SIZE = script(`
return { redis.call('HLEN', K_NAMES), redis.call('HLEN', K_MEMBER) }
`);

const REAP_DEAD = `
local reaped, dead = {}, {}
for _, n in ipairs(redis.call('SMEMBERS', K_NODES)) do
  if n ~= NODE and redis.call('EXISTS', kAlive(n)) == 0 then
    for _, sid in ipairs(redis.call('SMEMBERS', kNode(n))) do
      local d = remove(sid)
      if d.kind ~= 'none' then
        d.id = sid
        table.insert(reaped, d)
      end
    end
    redis.call('DEL', kNode(n))
    redis.call('SREM', K_NODES, n)
    table.insert(dead, n)
  end
end
`;

/**
 * The heartbeat, every `heartbeatMs`: ARGV[3] the TTL in ms. Renews this
 * node's key (telling whether it had expired or vanished), then reaps every
 * node whose key is gone: its sockets are removed as if they disconnected.
 */
export const TICK = script(`
local existed = redis.call('EXISTS', kAlive(NODE))
redis.call('SET', kAlive(NODE), '1', 'PX', ARGV[3])
redis.call('SADD', K_NODES, NODE)
${REAP_DEAD}
return cjson.encode({ existed = existed, reaped = reaped, dead = dead })
`);

/**
 * Re-asserts this node's sockets after Redis was away (or lost its data):
 * ARGV[3] the TTL in ms, ARGV[4] JSON `{ live, hosts: [[id, name, key]], members: [[id, hostId]] }`.
 * Sockets Redis lists for this node that are no longer live are removed;
 * live hosts get their names back unless another socket took them
 * (`conflicts`); live members rejoin their host's group if that host exists,
 * or are `pending` (its node may not have re-asserted yet). Returns the roles
 * Redis now holds for every live socket.
 */
export const RECONCILE = script(`
local data = cjson.decode(ARGV[4])
local live = {}
for _, sid in ipairs(data.live) do live[sid] = true end
local departed, conflicts, pending, roles = {}, {}, {}, {}
for _, sid in ipairs(redis.call('SMEMBERS', kNode(NODE))) do
  if not live[sid] then
    local d = remove(sid)
    if d.kind ~= 'none' then
      d.id = sid
      table.insert(departed, d)
    end
  end
end
for _, pair in ipairs(data.hosts) do
  local sid, name, key = pair[1], pair[2], pair[3] or pair[2]
  local cur = redis.call('HGET', K_NAMES, sid)
  if cur == name then
    own(sid)
  elseif not cur and redis.call('HEXISTS', K_MEMBER, sid) == 0 then
    local holder = redis.call('HGET', K_HOSTS, key)
    if holder and holder ~= sid then
      table.insert(conflicts, { sid, name })
    else
      redis.call('HSET', K_HOSTS, key, sid)
      redis.call('HSET', K_NAMES, sid, name)
      redis.call('HSET', K_KEYS, sid, key)
      redis.call('INCR', K_VER)
      own(sid)
    end
  end
end
for _, pair in ipairs(data.members) do
  local sid, h = pair[1], pair[2]
  local cur = redis.call('HGET', K_MEMBER, sid)
  if cur == h then
    own(sid)
  elseif not cur and redis.call('HEXISTS', K_NAMES, sid) == 0 then
    -- back into the group: its host's, or one whose host left that still has members
    if redis.call('HEXISTS', K_NAMES, h) == 1 or redis.call('EXISTS', kGroup(h)) == 1 then
      addMember(sid, h)
    else
      table.insert(pending, sid)
    end
  end
end
redis.call('SET', kAlive(NODE), '1', 'PX', ARGV[3])
redis.call('SADD', K_NODES, NODE)
for _, sid in ipairs(data.live) do
  local name = redis.call('HGET', K_NAMES, sid)
  if name then
    table.insert(roles, { sid, 'host', name, redis.call('HGET', K_KEYS, sid) or name })
  else
    local h = redis.call('HGET', K_MEMBER, sid)
    if h then table.insert(roles, { sid, 'member', h }) end
  end
end
return cjson.encode({ departed = departed, conflicts = conflicts, pending = pending, roles = roles })
`);

/** A node that closes: removes whatever of its sockets is left and its heartbeat. */
export const LEAVE = script(`
local departed = {}
for _, sid in ipairs(redis.call('SMEMBERS', kNode(NODE))) do
  local d = remove(sid)
  if d.kind ~= 'none' then
    d.id = sid
    table.insert(departed, d)
  end
end
redis.call('DEL', kNode(NODE), kAlive(NODE))
redis.call('SREM', K_NODES, NODE)
return cjson.encode({ departed = departed })
`);
