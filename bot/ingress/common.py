"""Shared ingress steps: bounded body reading, precise answers, and storing before answering."""
from __future__ import annotations

import hashlib

import orjson
import structlog
from aiohttp import web

from bot.queue import NewJob, StoreUnavailable
from bot.sansio.events import Event
from bot.services import Services

log = structlog.get_logger("shipbot.ingress")

SERVICES = web.AppKey("services", Services)
LAZY = web.AppKey("lazy", dict)


def answer(http_status: int, /, **fields) -> web.Response:
    """A small JSON answer; every ingress status goes through here."""
    return web.Response(status=http_status, body=orjson.dumps(fields), content_type="application/json")


class Refused(Exception):
    """Stop handling a request and send `response`."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or Refused(413) as soon as it is known to exceed `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(_too_big(limit))
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(_too_big(limit)) from None


def _too_big(limit: int) -> web.Response:
    return answer(413, error=f"body is larger than the limit of {limit} bytes (SHIPBOT_MAX_BODY_BYTES)")


MALFORMED = (AttributeError, KeyError, TypeError, ValueError)


def malformed(source: str, name: str) -> web.Response:
    """A signed payload whose fields do not have the types its event promises."""
    return answer(400, error=f"the {source} {name} payload does not have the shape of that event")


def content_type(request: web.Request) -> str:
    return request.content_type.lower()


def digest_id(source: str, event: str, body: bytes) -> str:
    """A delivery id for senders that give none: the same bytes always get the same id."""
    return "sha256-" + hashlib.sha256(f"{source}\0{event}\0".encode() + body).hexdigest()[:40]


async def store(services: Services, event: Event, header: str, raw: bytes) -> web.Response:
    """Store the event if a handler takes it (202), else answer 200; 503 if it cannot be stored.

    `header` is what the worker hands to normalize() again: the X-GitHub-Event or X-Gitlab-Event value.
    """
    metrics = services.metrics
    if not services.router.routes(event):
        metrics.delivered(event.source, event.kind, "ignored")
        return answer(200, status="ignored", reason=f"no handler takes {event.name}")
    job = NewJob(delivery_key=f"{event.source}:{event.delivery_id}", source=event.source, event=header,
                 name=event.name, repo=str(event.repo) if event.repo else None, payload=raw)
    try:
        new = await services.queue.enqueue(job)
    except StoreUnavailable as exc:
        metrics.delivered(event.source, event.kind, "unavailable")
        log.error("store_unavailable", delivery_id=event.delivery_id, error=str(exc))
        return answer(503, error="the event could not be stored; retry later")
    outcome = "stored" if new else "duplicate"
    metrics.delivered(event.source, event.kind, outcome)
    return answer(202, status=outcome, delivery_id=event.delivery_id)

