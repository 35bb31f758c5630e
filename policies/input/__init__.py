"""Input policy: refuse bad input at the edge before any work is done.

Query parameters an operation does not declare, or repeats, are a 400; a body over
the size limit a 413, one that is not JSON on a JSON operation a 415, one nested
deeper than the limit a 400, and one that does not arrive in time a 408. Only then
does the request reach idempotency, the handler and the systems of record.
"""

from policies.input.config import InputConfig
from policies.input.media import is_json_media_type
from policies.input.middleware import InputMiddleware, RouteInput, RouteInputs

__all__ = ["InputConfig", "InputMiddleware", "RouteInput", "RouteInputs", "is_json_media_type"]
