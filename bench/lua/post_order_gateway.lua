-- POST /v1/orders to the gateway: the same JSON body every time, a fresh
-- Idempotency-Key (RFC 8941 sf-string) on every request, so each one is a new
-- order and none is answered from the idempotency store.
--   BENCH_AUTH    "Bearer <token>"
--   BENCH_PATH    request path ("/v1/orders")
--   BENCH_BODY    the order JSON
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path = bench.env("BENCH_PATH")
local body = bench.env("BENCH_BODY")
local auth = bench.env("BENCH_AUTH")

function request()
  return wrk.format("POST", path, {
    ["Authorization"] = auth,
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = '"bench-' .. bench.unique() .. '"',
  }, body)
end
