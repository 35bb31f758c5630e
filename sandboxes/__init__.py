"""Simulators of the systems of record's public APIs, one package per vendor.

Test doubles, not product: the gateway's request path never imports them. They back
the embedded default (``make serve``), ``q2c sandbox serve`` and the tests, reached
from the gateway only through ``gateway/embedded.py``. Each simulator follows its
vendor's public API closely enough that the vendor's own SDK works against it, and
knows nothing of the gateway's adapters.

Every vendor package exposes ``SIMULATOR`` (a :class:`sandboxes.simulator.Simulator`):
its state class, ``create_app(state)`` and the credentials an SDK presents.
"""
