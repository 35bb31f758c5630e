"""Server entry point: ``granian --factory gateway.asgi:create``; reads ``$Q2C_CONFIG``."""

from __future__ import annotations

import gc

from gateway.app import Gateway, create_app
from gateway.settings import load_settings
from policies.tracing import configure_logging


def create() -> Gateway:
    settings = load_settings()
    # In the worker process: JSON logs with one access line per request, and
    # no credentials or query strings from the HTTP client's own logging.
    configure_logging(settings.tracing.log_level)
    app = create_app(settings)
    # Everything built so far lives as long as the process: keep it out of the
    # collector's scans, and collect the young generation less often (the
    # request path allocates many short-lived objects; measured in bench/).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    return app
