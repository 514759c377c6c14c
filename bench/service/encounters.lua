-- bench/service/encounters.lua — wrk script of `make bench-service`: gate
-- captures posted to POST /v1/encounters as multipart/form-data (fields
-- manifest_id, gate, image), as a gate camera submits them.
--
-- Environment (bench/service/run sets it):
--   FG_CAPTURES   file with one image path per line (read once per wrk thread)
--   FG_MANIFEST   the staged flight's manifest id
--   FG_TOKEN      a gate token
--   FG_REQUESTS   total number of encounters to submit (over all threads)
--   FG_THREADS    wrk's -t (to split the requests and the captures)
--   FG_DONE_DIR   a directory where each thread leaves "done.<n>" once all of its
--                 requests are answered (the driver then stops wrk with SIGINT:
--                 wrk itself would sleep for the whole -d)
--   FG_RESULT     where done() writes its JSON summary
--   FG_KEY_PREFIX (optional) give every request its own Idempotency-Key,
--                 PREFIX-THREAD-N, as a gate does (bench/cluster/run)
--
-- Request k (k = 0..N-1; thread t sends k = t, t+T, t+2T, ...) carries capture
-- k mod C, so the library reference (bench_service_lib, one atomic counter over
-- k) sees the same multiset of captures. The count bound: a thread reserves
-- a request in delay() (wrk calls it once before every request, and request()
-- then sends the reserved one) and, once its share is reserved, delays the
-- connection for an hour; when the last answer has come it stops itself. The time bound is wrk's -d; a run cut short by it
-- leaves requests unanswered, which the driver reports.
--
-- done() writes: ok (2xx), non2xx, socket errors, wrk's latency percentiles
-- (microseconds, all requests), and the window from this run's first request
-- to its last answer (CLOCK_MONOTONIC via LuaJIT's ffi), over which
-- throughput = ok / window.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } fg_timespec;
  int clock_gettime(int clk, fg_timespec *ts);
]]
local ts = ffi.new("fg_timespec")
local function now_s()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local function env(name)
  local v = os.getenv(name)
  if not v or v == "" then error("encounters.lua: " .. name .. " is not set") end
  return v
end

-- ---- main state: number the threads ------------------------------------------------

local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- ---- each thread ---------------------------------------------------------------------

local requests = {}   -- the prepared HTTP requests, one per capture
local bodies, headers = {}, {} -- with FG_KEY_PREFIX: formatted per request instead
local key_prefix = nil
local quota, reserved, answered = 0, 0, 0
local queue = {}     -- reserved request numbers (1-based, this thread) not yet sent
ok, non2xx, t_first, t_last = 0, 0, 0, 0 -- globals: read by done() through thread:get

function init(args)
  local T = tonumber(env("FG_THREADS"))
  local N = tonumber(env("FG_REQUESTS"))
  local manifest, token = env("FG_MANIFEST"), env("FG_TOKEN")
  local me = tonumber(wrk.thread:get("tid"))
  quota = math.floor(N / T) + ((me < N % T) and 1 or 0)
  local boundary = "fgbench7MA4YWxkTrZu0gW"
  local paths = {}
  for line in io.lines(env("FG_CAPTURES")) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  local C = #paths
  -- this thread's k = me + T*j, capture k mod C, in the order it sends them
  local order = {}
  for j = 0, quota - 1 do order[#order + 1] = (me + T * j) % C + 1 end
  local cache = {}
  local kp = os.getenv("FG_KEY_PREFIX")
  if kp and kp ~= "" then key_prefix = kp .. "-" .. me .. "-" end
  for i, c in ipairs(order) do
    if not cache[c] then
      local f = assert(io.open(paths[c], "rb"))
      local img = f:read("*a")
      f:close()
      local body = table.concat({
        "--", boundary, "\r\n",
        'Content-Disposition: form-data; name="manifest_id"\r\n\r\n', manifest, "\r\n",
        "--", boundary, "\r\n",
        'Content-Disposition: form-data; name="gate"\r\n\r\n', "B12\r\n",
        "--", boundary, "\r\n",
        'Content-Disposition: form-data; name="image"; filename="capture.jpg"\r\n',
        "Content-Type: image/jpeg\r\n\r\n", img, "\r\n",
        "--", boundary, "--\r\n"})
      headers = {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
      }
      bodies[c] = body
      cache[c] = wrk.format("POST", "/v1/encounters", headers, body)
    end
    requests[i] = key_prefix and c or cache[c]
  end
end

function delay()
  if reserved < quota then
    reserved = reserved + 1
    queue[#queue + 1] = reserved
    return 0
  end
  return 3600 * 1000
end

function request()
  -- wrk calls request() once on thread 1 before the run (to check the
  -- request): only requests that delay() reserved are counted
  local j = table.remove(queue, 1)
  if not j then -- the check: never sent
    if not key_prefix then return requests[1] end
    return wrk.format("POST", "/v1/encounters", headers, bodies[requests[1]])
  end
  if t_first == 0 then t_first = now_s() end
  if not key_prefix then return requests[j] end
  headers["Idempotency-Key"] = key_prefix .. j
  return wrk.format("POST", "/v1/encounters", headers, bodies[requests[j]])
end

function response(status, headers, body)
  answered = answered + 1
  t_last = now_s()
  if status >= 200 and status < 300 then ok = ok + 1 else non2xx = non2xx + 1 end
  if reserved >= quota and answered >= reserved then
    local f = io.open(env("FG_DONE_DIR") .. "/done." .. wrk.thread:get("tid"), "w")
    if f then f:write(answered, "\n"); f:close() end
    wrk.thread:stop()
  end
end

-- ---- main state: the summary ---------------------------------------------------------

function done(summary, latency, reqs)
  local s = { ok = 0, non2xx = 0, first = math.huge, last = 0 }
  for _, t in ipairs(threads) do
    s.ok = s.ok + (t:get("ok") or 0)
    s.non2xx = s.non2xx + (t:get("non2xx") or 0)
    local f, l = t:get("t_first") or 0, t:get("t_last") or 0
    if f > 0 and f < s.first then s.first = f end
    if l > s.last then s.last = l end
  end
  local window = (s.last > s.first) and (s.last - s.first) or 0
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local out = string.format(
    '{"ok": %d, "non2xx": %d, "socket_errors": %d, "errors_detail": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, ' ..
    '"wrk_requests": %d, "window_s": %.6f, "throughput_rps": %.3f, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f, "min": %d}}\n',
    s.ok, s.non2xx, socket, e.connect, e.read, e.write, e.timeout, e.status,
    summary.requests, window, window > 0 and s.ok / window or 0,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, latency.min)
  local f = assert(io.open(env("FG_RESULT"), "w"))
  f:write(out)
  f:close()
  io.write(out)
end
