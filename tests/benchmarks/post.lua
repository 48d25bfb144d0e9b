-- wrk script for bench_submit.py: POST a fixed body (or GET a list of paths in turn), count
-- what happened, print it parseably.
--
--   wrk -t2 -c16 -d10s --timeout 30s -H 'Content-Type: application/json' \
--       -s post.lua http://127.0.0.1:PORT/v1/videos -- '<json body>'
--   wrk … -s post.lua http://127.0.0.1:PORT -- --get /v1/videos/video_1 /v1/videos/video_2 …
--
-- Every thread counts the requests it built (`sent`) and the responses it read, by status.
-- `done()` (run once, after all threads) sums them and prints `BENCH <key> <value>` lines;
-- latencies are in microseconds. sent - answered = requests still in flight (or lost on a
-- socket error) when wrk stopped: the server may still have acted on those. (wrk calls
-- request() once more before starting, to check the script: loadgen.py subtracts it.)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  statuses = {}
  paths = nil
  if args[1] == "--get" then
    -- GET runs: `-- --get PATH...`; each thread starts at its own place in the list.
    wrk.method = "GET"
    paths = {}
    for i = 2, #args do
      table.insert(paths, args[i])
    end
    next_path = math.random(#paths)
    return
  end
  wrk.method = "POST"
  wrk.body = args[1]
  req = wrk.format()
end

function request()
  sent = sent + 1
  if paths then
    local path = paths[next_path]
    next_path = next_path % #paths + 1
    return wrk.format(nil, path)
  end
  return req
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total_sent = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
    for code, n in pairs(thread:get("statuses") or {}) do
      by_status[code] = (by_status[code] or 0) + n
    end
  end
  local out = {}
  local function put(key, value)
    table.insert(out, string.format("BENCH %s %s", key, value))
  end
  put("duration_us", summary.duration)
  put("requests", summary.requests)
  put("bytes", summary.bytes)
  put("sent", total_sent)
  put("errors_connect", summary.errors.connect)
  put("errors_read", summary.errors.read)
  put("errors_write", summary.errors.write)
  put("errors_status", summary.errors.status)
  put("errors_timeout", summary.errors.timeout)
  for code, n in pairs(by_status) do
    put("status_" .. code, n)
  end
  put("latency_min_us", latency.min)
  put("latency_mean_us", string.format("%.1f", latency.mean))
  put("latency_max_us", latency.max)
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    put("latency_p" .. p .. "_us", latency:percentile(p))
  end
  io.write(table.concat(out, "\n") .. "\n")
end
