-- POST an A_SalesOrder deep insert straight to SAP (or through nginx): the
-- body the gateway sends for the same order, with a unique
-- PurchaseOrderByCustomer per request, and the CSRF token + session cookie
-- that run.py fetched once with "X-CSRF-Token: Fetch".
--   BENCH_AUTH         "Basic ..."
--   BENCH_PATH         the entity set path
--   BENCH_BODY_HEAD    JSON up to the reference value
--   BENCH_BODY_TAIL    JSON after it
--   BENCH_CSRF_TOKEN, BENCH_COOKIE
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path = bench.env("BENCH_PATH")
local head = bench.env("BENCH_BODY_HEAD")
local tail = bench.env("BENCH_BODY_TAIL")
local headers = {
  ["Authorization"] = bench.env("BENCH_AUTH"),
  ["Accept"] = "application/json",
  ["Content-Type"] = "application/json",
  ["X-CSRF-Token"] = bench.env("BENCH_CSRF_TOKEN"),
  ["Cookie"] = bench.env("BENCH_COOKIE"),
}

function request()
  -- PurchaseOrderByCustomer holds at most 35 characters; run.py keeps run ids short.
  local reference = "B" .. bench.unique()
  return wrk.format("POST", path, headers, head .. reference .. tail)
end
