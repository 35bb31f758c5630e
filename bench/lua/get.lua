-- GET with fixed headers (the URL, query included, is wrk's argument).
--   BENCH_AUTH    full Authorization header value ("Bearer ..." or "Basic ...")
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.headers["Authorization"] = bench.env("BENCH_AUTH")
wrk.headers["Accept"] = "application/json"
