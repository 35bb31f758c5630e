"""Business rules per domain. No transport here: no litestar, httpx or redis imports."""
