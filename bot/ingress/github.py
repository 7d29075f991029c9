"""Receive GitHub webhooks: verify X-Hub-Signature-256 with gidgethub, normalize, store."""
from __future__ import annotations

from urllib.parse import parse_qs

import orjson
from aiohttp import web
from gidgethub import ValidationFailure
from gidgethub.sansio import validate_event

from bot.ingress.common import MALFORMED, SERVICES, Refused, answer, digest_id, malformed, read_body, store
from bot.ingress.routing_view import GITHUB_ROUTING_FIELDS, routing_view
from bot.sansio.events import from_github

JSON_TYPES = ("application/json", "application/x-www-form-urlencoded")


async def receive(request: web.Request) -> web.Response:
    """POST /webhooks/github — https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries"""
    services = request.app[SERVICES]
    settings = services.settings.github
    if not settings.enabled:
        return answer(501, error="GitHub webhooks are not configured; set GITHUB_WEBHOOK_SECRET")
    try:
        body = await read_body(request, services.settings.max_body_bytes)
    except Refused as refused:
        return refused.response
    headers = request.headers  # case-insensitive
    signature = headers.get("X-Hub-Signature-256")
    if signature is None:
        return answer(401, error="X-Hub-Signature-256 is missing; set the webhook's secret on GitHub")
    event_name = headers.get("X-GitHub-Event")
    if not event_name:
        return answer(400, error="X-GitHub-Event header is missing")
    if not _signed(body, signature, settings.webhook_secrets):
        return answer(401, error="signature does not match; check GITHUB_WEBHOOK_SECRET")
    # hashing 25 MB bodies only when GitHub gave no id
    delivery_id = headers.get("X-GitHub-Delivery") or digest_id("github", event_name, body)
    kind = request.content_type.lower()
    data = _decoded(body, kind, request.charset)
    if isinstance(data, web.Response):
        return data
    if event_name == "ping":
        services.metrics.delivered("github", "ping", "ignored")
        return answer(200, status="pong", zen=data.get("zen"))
    try:
        event = from_github(event_name, data, delivery_id)
    except MALFORMED:
        return malformed("GitHub", event_name)
    raw = body if kind == "application/json" else orjson.dumps(data)
    return await store(services, event, event_name, raw)


def _signed(body: bytes, signature: str, secrets) -> bool:
    # Two secrets while one is rotated: the delivery is genuine if either signs it.
    for secret in secrets:
        try:
            validate_event(body, signature=signature, secret=secret)
            return True
        except ValidationFailure:
            continue
    return False


def _decoded(body: bytes, kind: str, charset: str | None) -> dict | web.Response:
    """The fields routing needs, as a dict (bot/ingress/routing_view.py); form-encoded deliveries
    are parsed whole, since what is stored for them is their JSON."""
    if kind not in JSON_TYPES:
        return answer(415, error="expected Content-Type application/json")
    try:
        text = body if charset in (None, "utf-8", "utf8") else body.decode(charset)
        if kind == "application/x-www-form-urlencoded":
            data = orjson.loads(parse_qs(text if isinstance(text, str) else text.decode())["payload"][0])
        else:
            data = routing_view(text, GITHUB_ROUTING_FIELDS)
    except (ValueError, KeyError, LookupError):  # bad JSON or encoding, unknown charset, no payload field
        return answer(400, error="the body is not a valid webhook payload")
    if not isinstance(data, dict):
        return answer(400, error="the body is not a JSON object")
    return data
