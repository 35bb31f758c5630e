-- Shared by every bench script (loaded with dofile): report one JSON line that
-- bench/run.py parses, plus the helpers for unique per-request values.
--
-- Configuration comes from environment variables set by run.py, so the same
-- scripts serve the sandbox, nginx and the gateway.

bench = {}

-- Each wrk thread has its own Lua state; setup() runs in the main state once
-- per thread and hands it a distinct number, so values made from
-- (run id, thread, counter) never repeat within one wrk run. run.py gives every
-- wrk invocation its own BENCH_RUN_ID, so they never repeat across runs either.
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("bench_thread", thread_count)
end

local counter = 0
function bench.unique()
  counter = counter + 1
  return (os.getenv("BENCH_RUN_ID") or "run") .. "-" .. tostring(bench_thread or 0)
    .. "-" .. tostring(counter)
end

function bench.env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("bench: environment variable " .. name .. " is not set")
  end
  return value
end

-- Latency in microseconds; errors.status counts responses with status > 399.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
