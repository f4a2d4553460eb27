--[[
  A queue library's "move job to finished" step, in the shape of bull's
  moveToFinished and BullMQ's moveToFinished: the benchmark's 200-line script
  (bench/scripting.mjs). Several reads and writes through redis.call, table
  manipulation, cjson, string handling, a loop that trims the finished set.
  It must run forever under redis-benchmark with a random job id, so it
  creates the job it is asked to finish when it does not exist, and keeps
  every collection it grows bounded.

  Input:
    KEYS[1] active list        KEYS[2] completed zset   KEYS[3] job hash
    KEYS[4] meta hash          KEYS[5] events list      KEYS[6] metrics hash
    KEYS[7] stalled set
    ARGV[1] job id             ARGV[2] return value (a string)
    ARGV[3] keep at most (completed jobs kept)
  Output: a JSON document describing what was done.
]]
local rcall = redis.call
local activeKey, completedKey, jobKey = KEYS[1], KEYS[2], KEYS[3]
local metaKey, eventsKey, metricsKey, stalledKey = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local jobId = ARGV[1]
local returnValue = ARGV[2]
local keepAtMost = tonumber(ARGV[3]) or 100

-- The time of the step: Redis's TIME (seconds, microseconds) as milliseconds.
local function nowMs()
  local t = rcall("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Default job options, merged under what the job was created with.
local DEFAULT_OPTS = {
  attempts = 1,
  backoff = { type = "fixed", delay = 0 },
  removeOnComplete = false,
  removeOnFail = false,
  priority = 0,
  lifo = false,
}

local function merge(into, from)
  local out = {}
  for k, v in pairs(into) do out[k] = v end
  if type(from) == "table" then
    for k, v in pairs(from) do
      if type(v) == "table" and type(out[k]) == "table" then
        out[k] = merge(out[k], v)
      else
        out[k] = v
      end
    end
  end
  return out
end

-- Reads a job hash into a table of fields (HGETALL's flat array, paired up).
local function readJob(key)
  local flat = rcall("HGETALL", key)
  local job = {}
  for i = 1, #flat, 2 do
    job[flat[i]] = flat[i + 1]
  end
  return job
end

-- Creates the job the benchmark asks for when it is not there yet.
local function ensureJob(key, id, ts)
  if rcall("EXISTS", key) == 1 then
    return false
  end
  local opts = {
    attempts = 3,
    backoff = { type = "exponential", delay = 1000 },
    removeOnComplete = (tonumber(id) or 0) % 7 == 0,
    jobId = id,
    tags = { "bench", "queue", "finish" },
  }
  rcall("HSET", key,
    "name", "process-order",
    "data", cjson.encode({ orderId = id, items = { 1, 2, 3 }, total = 42.5 }),
    "opts", cjson.encode(opts),
    "timestamp", ts,
    "attemptsMade", 0,
    "processedOn", ts)
  rcall("LPUSH", activeKey, id)
  return true
end

-- Parses a job's options, tolerating a missing or damaged field.
local function jobOptions(job)
  local ok, decoded = pcall(cjson.decode, job.opts or "{}")
  if not ok or type(decoded) ~= "table" then
    decoded = {}
  end
  return merge(DEFAULT_OPTS, decoded)
end

-- Counts this step in the metrics hash, per minute bucket, keeping 10 buckets.
local function collectMetrics(ts)
  local minute = math.floor(ts / 60000)
  local field = "completed:" .. minute
  local count = rcall("HINCRBY", metricsKey, field, 1)
  rcall("HINCRBY", metricsKey, "completed:total", 1)
  if count == 1 then
    -- A new bucket: drop buckets older than ten minutes.
    local fields = rcall("HKEYS", metricsKey)
    local stale = {}
    for _, f in ipairs(fields) do
      local m = tonumber(string.match(f, "^completed:(%d+)$"))
      if m and m < minute - 10 then
        table.insert(stale, f)
      end
    end
    if #stale > 0 then
      rcall("HDEL", metricsKey, unpack(stale))
    end
  end
  return count
end

-- Keeps at most `max` completed jobs: the oldest are removed with their hashes.
local function trimCompleted(max)
  local count = rcall("ZCARD", completedKey)
  local removed = 0
  if count > max then
    local excess = rcall("ZRANGE", completedKey, 0, count - max - 1)
    for _, id in ipairs(excess) do
      rcall("DEL", (string.gsub(jobKey, "[^:]+$", id)))
      removed = removed + 1
    end
    rcall("ZREMRANGEBYRANK", completedKey, 0, count - max - 1)
  end
  return removed
end

-- Appends an event to the bounded events list, as a JSON record.
local function emit(event, fields)
  fields.event = event
  rcall("LPUSH", eventsKey, cjson.encode(fields))
  rcall("LTRIM", eventsKey, 0, 999)
end

-- The step itself.
local ts = nowMs()
local created = ensureJob(jobKey, jobId, ts)
local job = readJob(jobKey)
local opts = jobOptions(job)

-- The job must be active (it is, once created); a stalled mark is cleared.
local removedFromActive = rcall("LREM", activeKey, -1, jobId)
rcall("SREM", stalledKey, jobId)

local attemptsMade = (tonumber(job.attemptsMade) or 0) + 1
local processedOn = tonumber(job.processedOn) or ts
local duration = ts - processedOn

-- Builds the fields written back to the job, in a stable order.
local updates = {
  "returnvalue", returnValue,
  "finishedOn", ts,
  "attemptsMade", attemptsMade,
  "duration", duration,
}
local tags = opts.tags or {}
if #tags > 0 then
  table.insert(updates, "tags")
  table.insert(updates, table.concat(tags, ","))
end

local kept = true
if opts.removeOnComplete == true then
  rcall("DEL", jobKey)
  kept = false
else
  rcall("HSET", jobKey, unpack(updates))
  rcall("ZADD", completedKey, ts, jobId)
end

local removed = trimCompleted(keepAtMost)
local bucket = collectMetrics(ts)

-- Queue-wide bookkeeping: counters in the meta hash.
rcall("HINCRBY", metaKey, "finished", 1)
if created then
  rcall("HINCRBY", metaKey, "created", 1)
end
local paused = rcall("HGET", metaKey, "paused") == "1"
local waiting = rcall("LLEN", activeKey)
if waiting > 1000 then
  -- Keep the active list bounded under a random workload.
  rcall("LTRIM", activeKey, 0, 999)
end

emit("completed", { jobId = jobId, returnvalue = returnValue, prev = "active" })

-- A summary of what was done, for the caller.
local summary = {
  jobId = jobId,
  created = created,
  kept = kept,
  attemptsMade = attemptsMade,
  attemptsLeft = math.max(0, (tonumber(opts.attempts) or 1) - attemptsMade),
  backoff = opts.backoff and opts.backoff.type or "none",
  removedFromActive = removedFromActive,
  trimmed = removed,
  bucketCount = bucket,
  paused = paused,
  activeLength = waiting,
}
local keys = {}
for k in pairs(summary) do
  table.insert(keys, k)
end
table.sort(keys)
local ordered = {}
for _, k in ipairs(keys) do
  table.insert(ordered, k .. "=" .. tostring(summary[k]))
end
return cjson.encode({ done = table.concat(ordered, ";"), at = ts })
