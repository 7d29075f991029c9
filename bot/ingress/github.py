"""Receive GitHub webhooks: verify X-Hub-Signature-256 with gidgethub, normalize, store."""
from __future__ import annotations

import orjson
from aiohttp import web
from gidgethub import BadRequest, ValidationFailure
from gidgethub.sansio import Event as GitHubEvent

from bot.ingress.common import MALFORMED, SERVICES, Refused, answer, digest_id, malformed, read_body, store
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
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "x-hub-signature-256" not in headers:
        return answer(401, error="X-Hub-Signature-256 is missing; set the webhook's secret on GitHub")
    event_name = headers.get("x-github-event")
    if not event_name:
        return answer(400, error="X-GitHub-Event header is missing")
    if "x-github-delivery" not in headers:  # hashing 25 MB bodies only when GitHub gave no id
        headers["x-github-delivery"] = digest_id("github", event_name, body)
    gh_event = _verified(headers, body, settings.webhook_secrets)
    if isinstance(gh_event, web.Response):
        return gh_event
    if event_name == "ping":
        services.metrics.deliveries.labels("github", "ping", "ignored").inc()
        return answer(200, status="pong", zen=gh_event.data.get("zen"))
    try:
        event = from_github(event_name, gh_event.data, gh_event.delivery_id)
    except MALFORMED:
        return malformed("GitHub", event_name)
    raw = body if request.content_type.lower() == "application/json" else orjson.dumps(gh_event.data)
    return await store(services, event, event_name, raw)


def _verified(headers: dict[str, str], body: bytes, secrets) -> GitHubEvent | web.Response:
    # Two secrets while one is rotated: the delivery is genuine if either signs it.
    for secret in secrets:
        try:
            gh_event = GitHubEvent.from_http(headers, body, secret=secret)
        except ValidationFailure:
            continue
        except BadRequest:
            if headers.get("content-type", "").split(";")[0].strip().lower() not in JSON_TYPES:
                return answer(415, error="expected Content-Type application/json")
            return answer(400, error="the body is not a valid webhook payload")
        except (ValueError, KeyError, UnicodeDecodeError):
            return answer(400, error="the body is not a valid webhook payload")
        if not isinstance(gh_event.data, dict):
            return answer(400, error="the body is not a JSON object")
        return gh_event
    return answer(401, error="signature does not match; check GITHUB_WEBHOOK_SECRET")
