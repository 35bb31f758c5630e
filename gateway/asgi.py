"""Server entry point: ``granian --factory gateway.asgi:create``; reads ``$Q2C_CONFIG``."""

from __future__ import annotations

from gateway.app import Gateway, create_app
from gateway.settings import load_settings


def create() -> Gateway:
    return create_app(load_settings())
