"""Receive Slack slash commands, button clicks and events through slack-bolt; store, then acknowledge."""
from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.ingress.common import LAZY, MALFORMED, SERVICES, Refused, answer, digest_id, read_body, store
from bot.sansio.commands import UsageError
from bot.sansio.events import from_slack
from bot.services import Services

# Slack rejects requests older than five minutes to stop replays:
# https://api.slack.com/authentication/verifying-requests-from-slack
REPLAY_WINDOW = 300


def build_bolt(services: Services) -> AsyncApp:
    """A Bolt app whose listeners store the event, then ack; it never calls Slack's Web API to ack."""
    settings = services.settings.slack

    async def authorize(enterprise_id=None, team_id=None, user_id=None, **_: Any) -> AuthorizeResult:
        # Bolt's default single-team authorization calls auth.test on the first request; acking
        # must not depend on Slack's API being reachable, so answer from settings.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                               bot_token=settings.bot_token or None)

    bolt = AsyncApp(
        signing_secret=settings.signing_secrets[0],
        request_verification_enabled=False,  # verified before Bolt sees it, with every rotated secret
        authorize=authorize,
        process_before_response=True,  # run our (fast) listener before answering: store, then ack
        ignoring_self_events_enabled=False,
        url_verification_enabled=True,
        ssl_check_enabled=True,
    )

    async def accept(body: dict, delivery_id: str, ack) -> BoltResponse | None:
        try:
            event = from_slack(body, delivery_id)
        except MALFORMED:
            return BoltResponse(status=400, body='{"error": "the Slack payload does not have the shape of its type"}')
        if event.name == "slash_command" and event.commands and all(
                isinstance(c, UsageError) for c in event.commands):
            # A typo needs no queue: answer it at once, only to the person who typed it.
            await ack(response_type="ephemeral",
                      text=services.render.for_chat("usage_error", errors=event.commands, event=event))
            return None
        response = await store(services, event, "slack", orjson.dumps(body))
        if response.status == 503:
            return BoltResponse(status=503, body=response.body.decode())
        if event.name == "slash_command" and response.status == 202:
            await ack(response_type="ephemeral", text=services.render.for_chat("received", event=event))
        else:
            await ack()
        return None

    @bolt.command(re.compile(".*"))
    async def slash_command(ack, body):
        return await accept(body, str(body.get("trigger_id") or _fallback_id(body)), ack)

    @bolt.action(re.compile(".*"))
    async def button(ack, body):
        action = (body.get("actions") or [{}])[0]
        delivery = body.get("trigger_id") or f"{action.get('action_id')}:{action.get('action_ts')}"
        return await accept(body, str(delivery), ack)

    @bolt.event(re.compile(".*"))
    async def slack_event(ack, body):
        return await accept(body, str(body.get("event_id") or _fallback_id(body)), ack)

    return bolt


def _fallback_id(body: dict) -> str:
    return digest_id("slack", str(body.get("type", "")), orjson.dumps(body, option=orjson.OPT_SORT_KEYS))


def verify(headers, body: bytes, secrets, now: float) -> str | None:
    """None when a configured signing secret signed this request recently, else the reason."""
    stamp, signature = headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")
    if not stamp or not signature:
        return "X-Slack-Signature and X-Slack-Request-Timestamp are required"
    try:
        sent_at = int(stamp)
    except ValueError:
        return "X-Slack-Request-Timestamp is not a number"
    if abs(now - sent_at) > REPLAY_WINDOW:
        return "X-Slack-Request-Timestamp is more than five minutes old (replay refused)"
    if any(SignatureVerifier(s).is_valid(body, stamp, signature) for s in secrets):
        return None
    return "X-Slack-Signature does not match SLACK_SIGNING_SECRET"


def _well_formed(content_type: str, body: bytes) -> bool:
    """Does the body look like something Slack sends? Bolt is not asked to parse anything else."""
    try:
        if content_type == "application/json" or body.startswith(b"{"):  # Bolt reads either as JSON
            data = orjson.loads(body)
            return isinstance(data, dict) and isinstance(data.get("type"), str)
        # Blank values kept: Bolt parses an empty `payload=` as JSON too.
        form = parse_qs(body.decode("utf-8"), strict_parsing=False, keep_blank_values=True)
    except (ValueError, UnicodeDecodeError):
        return False
    if "payload" in form:
        try:
            return isinstance(orjson.loads(form["payload"][0]), dict)
        except orjson.JSONDecodeError:
            return False
    return "command" in form or "ssl_check" in form


def _for_bolt(content_type: str, body: str) -> str:
    """The body as Bolt will read it as Slack meant it.

    Bolt takes a form body for an interaction whenever the letters "payload" occur anywhere in it
    (slack_bolt/request/internals.py: parse_body), so `/deploy payload-api staging` would reach no
    listener. Percent-encoding one letter reads the same to every form parser and not to that test.
    """
    if content_type == "application/x-www-form-urlencoded" and "payload" in body \
            and "payload" not in parse_qs(body, keep_blank_values=True):
        return body.replace("payload", "p%61yload")
    return body


async def receive(request: web.Request) -> web.Response:
    """POST /slack/events — slash commands, interactions and Events API share it."""
    services = request.app[SERVICES]
    settings = services.settings.slack
    if not settings.enabled:
        return answer(501, error="Slack is not configured; set SLACK_SIGNING_SECRET")
    try:
        body = await read_body(request, services.settings.max_body_bytes)
    except Refused as refused:
        return refused.response
    refusal = verify(request.headers, body, settings.signing_secrets, time.time())
    if refusal:
        services.metrics.delivered("slack", "unknown", "unauthorized")
        return answer(401, error=refusal)
    content_type = request.content_type.lower()
    if content_type not in ("application/x-www-form-urlencoded", "application/json"):
        return answer(415, error="expected application/x-www-form-urlencoded or application/json")
    if not _well_formed(content_type, body):
        return answer(400, error="the body is not a Slack command, interaction or event")
    lazy = request.app[LAZY]
    if "bolt" not in lazy:  # Bolt loads on the first Slack request, not at start-up
        lazy["bolt"] = build_bolt(services)
    bolt = lazy["bolt"]
    bolt_response = await bolt.async_dispatch(AsyncBoltRequest(
        body=_for_bolt(content_type, body.decode("utf-8")), query=request.query_string,
        headers=dict(request.headers)))
    if bolt_response.status == 404:  # Bolt found no listener: a kind of request we do not handle
        return answer(200, status="ignored", reason="shipbot does not handle this kind of Slack request")
    if bolt_response.status == 500:
        # Bolt's middleware raised on a payload missing fields Slack always sends (logged by Bolt).
        return answer(400, error="the Slack payload is incomplete")
    return await to_aiohttp_response(bolt_response)
