"""Cross-cutting gateway policies, one folder each, like gateway plugins.

Each policy is a config Struct validated at start-up, a pure-ASGI middleware
and, where it keeps state, a store port with memory and Redis backends. They
share one typed request context (``policies.context``); the order they run in
is declared once, in ``gateway/policy_chain.py``.
"""
