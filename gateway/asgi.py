"""Server entry point: ``granian --factory gateway.asgi:create``; reads ``$Q2C_CONFIG``."""

from __future__ import annotations

from gateway.app import Gateway, create_app
from gateway.settings import load_settings
from policies.tracing import configure_logging


def create() -> Gateway:
    settings = load_settings()
    # In the worker process: JSON logs with one access line per request, and
    # no credentials or query strings from the HTTP client's own logging.
    configure_logging(settings.tracing.log_level)
    return create_app(settings)
