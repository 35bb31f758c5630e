"""Structured JSON logs: one access line per request, every other record as JSON too.

The access line is built from a fixed set of fields (route template, never the
raw path or query string; no headers, tokens or bodies), so nothing a caller
sends can put a secret into it except through the validated request id.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

import msgspec

from policies.context import current_request
from policies.tracing.context import quiet_propagation_warnings

ACCESS_LOGGER = "q2c.access"
_ACCESS_ATTRIBUTE = "q2c_access"
_INSTALLED_MARK = "_q2c_json_handler"
_URL_LOGGERS = ("httpx", "httpcore")
_encoder = msgspec.json.Encoder()

access_log = logging.getLogger(ACCESS_LOGGER)


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """RFC 3339 UTC with milliseconds (the seconds part is formatted once a second)."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
        }
        access = getattr(record, _ACCESS_ATTRIBUTE, None)
        if isinstance(access, dict):
            line.update(access)
        else:
            line["message"] = record.getMessage()
            context = current_request.get()
            if context is not None and context.trace_id:
                line["trace_id"] = context.trace_id
                line["span_id"] = context.span_id
            if record.exc_info:
                line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal; access lines show their fields as k=v."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        access = getattr(record, _ACCESS_ATTRIBUTE, None)
        if isinstance(access, dict):
            text += " " + " ".join(f"{key}={value}" for key, value in access.items())
        return text


class _AccessRecord(logging.LogRecord):
    """A LogRecord filled from a template: LogRecord.__init__ looks up the thread,
    process and caller on every call, which costs more than the rest of the line."""

    def __init__(self, fields: dict[str, Any]) -> None:  # no super().__init__: see above
        self.__dict__.update(_ACCESS_TEMPLATE)
        created = time.time()
        self.created = created
        self.msecs = (created - int(created)) * 1000
        self.q2c_access = fields


_ACCESS_TEMPLATE: dict[str, Any] = {
    "name": ACCESS_LOGGER,
    "msg": "request",
    "args": (),
    "levelname": "INFO",
    "levelno": logging.INFO,
    "pathname": "",
    "filename": "",
    "module": "",
    "exc_info": None,
    "exc_text": None,
    "stack_info": None,
    "lineno": 0,
    "funcName": "",
    "relativeCreated": 0.0,
    "thread": None,
    "threadName": None,
    "processName": None,
    "process": None,
    "taskName": None,
}


def log_request(fields: dict[str, Any]) -> None:
    """Write the access line for one finished request (fields as TracingMiddleware builds).

    Callers check ``access_enabled()`` first. Handlers, filters and propagation
    are the logging module's as usual.
    """
    access_log.handle(_AccessRecord(fields))


def access_enabled() -> bool:
    return access_log.isEnabledFor(logging.INFO)


def configure_logging(
    level: str | int = "INFO", json: bool = True, *, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record to ``stream`` (stdout) as JSON lines (or plain text).

    Idempotent: a handler installed by an earlier call is replaced. Call once at
    start-up; servers with their own log set-up (uvicorn's access log) should have
    it turned off, since the gateway writes its own access line.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _INSTALLED_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    setattr(handler, _INSTALLED_MARK, True)
    root.addHandler(handler)
    root.setLevel(numeric)
    # httpx logs every request's full URL at INFO, userinfo and query included
    # (SoR credentials, API keys in query strings): never below WARNING.
    for name in _URL_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    quiet_propagation_warnings(numeric)
    return handler
