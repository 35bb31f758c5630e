"""A private redis-server for fault tests (one implementation, in tests/faults/servers.py:
paused, resumed, killed, shut down without saving and restarted empty, never the shared
one)."""

from tests.faults.servers import PrivateRedis, private_redis

__all__ = ["PrivateRedis", "private_redis"]
