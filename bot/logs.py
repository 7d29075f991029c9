"""Configure structured JSON logs, with every configured secret redacted."""
from __future__ import annotations

import logging
import sys
from typing import Iterable

import orjson
import structlog

REDACTED = "[redacted]"


def _redactor(secrets: Iterable[str]):
    words = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(value):
        if isinstance(value, str):
            for word in words:
                if word in value:
                    value = value.replace(word, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(scrub(v) for v in value)
        return value

    def processor(_logger, _method, event_dict):
        return scrub(event_dict) if words else event_dict

    return processor


def _dumps(obj, default=None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure(secrets: Iterable[str] = (), level: str = "INFO", stream=None) -> None:
    """JSON lines on stdout (or `stream`); stdlib loggers (aiohttp, alembic) go through the same path."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redactor(secrets),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(serializer=_dumps)],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
