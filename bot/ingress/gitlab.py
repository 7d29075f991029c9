"""Receive GitLab webhooks: check the secret token (or the signing-token HMAC), normalize, store."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time

import orjson
from aiohttp import web

from bot.ingress.common import MALFORMED, SERVICES, Refused, answer, digest_id, malformed, read_body, store
from bot.sansio.events import from_gitlab

# Standard Webhooks allows five minutes of clock skew: https://www.standardwebhooks.com/
TOLERANCE_SECONDS = 300


async def receive(request: web.Request) -> web.Response:
    """POST /webhooks/gitlab — https://docs.gitlab.com/ee/user/project/integrations/webhooks.html"""
    services = request.app[SERVICES]
    settings = services.settings.gitlab
    if not settings.enabled:
        return answer(501, error="GitLab webhooks are not configured; set GITLAB_WEBHOOK_SECRET")
    try:
        body = await read_body(request, services.settings.max_body_bytes)
    except Refused as refused:
        return refused.response
    headers = request.headers
    if settings.signing_keys:
        refusal = check_signature(headers, body, settings.signing_keys, time.time())
    else:
        refusal = check_token(headers.get("X-Gitlab-Token"), settings.webhook_secrets)
    if refusal:
        return answer(401, error=refusal)
    hook = headers.get("X-Gitlab-Event")
    if not hook:
        return answer(400, error="X-Gitlab-Event header is missing")
    if request.content_type.lower() != "application/json":
        return answer(415, error="expected Content-Type application/json")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return answer(400, error="the body is not valid JSON")
    if not isinstance(payload, dict):
        return answer(400, error="the body is not a JSON object")
    # Idempotency-Key stays the same when GitLab retries a delivery; the event UUID may not.
    delivery = (headers.get("Idempotency-Key") or headers.get("X-Gitlab-Event-UUID")
                or digest_id("gitlab", hook, body))
    try:
        event = from_gitlab(hook, payload, delivery)
    except MALFORMED:
        return malformed("GitLab", hook)
    return await store(services, event, hook, body)


def check_token(token: str | None, secrets) -> str | None:
    """None when the X-Gitlab-Token matches a configured secret, else the reason."""
    if not token:
        return "X-Gitlab-Token is missing; set the webhook's secret token on GitLab"
    given = token.encode()
    if any(hmac.compare_digest(given, s.encode()) for s in secrets):
        return None
    return "X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET"


def check_signature(headers, body: bytes, keys, now: float) -> str | None:
    """Verify GitLab's signing token (Standard Webhooks): HMAC-SHA256 of `id.timestamp.body`."""
    msg_id, stamp, signatures = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                 headers.get("webhook-signature"))
    if not (msg_id and stamp and signatures):
        return "webhook-id, webhook-timestamp and webhook-signature are required (signing token)"
    try:
        sent_at = int(stamp)
    except ValueError:
        return "webhook-timestamp is not a number"
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        return "webhook-timestamp is more than five minutes away; check the clocks"
    signed = f"{msg_id}.{stamp}.".encode() + body
    given = [part.split(",", 1)[1] for part in signatures.split() if part.startswith("v1,")]
    for key in keys:
        secret = key[len("whsec_"):] if key.startswith("whsec_") else key
        try:
            raw_key = base64.b64decode(secret, validate=True)
        except ValueError:  # binascii.Error: not base64, use the text itself
            raw_key = secret.encode()
        expected = base64.b64encode(hmac.new(raw_key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, g) for g in given):
            return None
    return "webhook-signature does not match GITLAB_WEBHOOK_SIGNING_KEY"
