"""W3C Trace Context: accept, generate and propagate trace ids; echo X-Request-Id."""
