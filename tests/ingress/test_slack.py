"""Slack through the real slack-bolt app: signed as Slack signs, acknowledged fast, stored first."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import pytest

from tests.conftest import SECRETS, make_settings, recording_router, services_for
from tests.ingress.helpers import wait_until_processed
from tests.peers import block_actions_body, slack_headers, slash_command_body

SECRET = SECRETS["SLACK_SIGNING_SECRET"]


@pytest.fixture
async def slack(serve, db):
    # SLACK_API_URL points at a closed port: acknowledging must not need Slack's Web API.
    settings = make_settings(SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN="xoxb-test-token",
                             SLACK_API_URL="http://127.0.0.1:9/api")
    router, seen = recording_router()
    services = services_for(db, settings, router)
    client = await serve(settings, services, workers=True)
    return client, services, seen


async def post(client, body: bytes, **kw):
    return await client.post("/slack/events", data=body, headers=slack_headers(body, SECRET, **kw))


class TestSlashCommands:
    async def test_command_is_stored_then_acknowledged_fast(self, slack):
        """A signed /deploy is acknowledged in well under Slack's 3 seconds and processed after the ack."""
        client, services, seen = slack
        started = time.monotonic()
        resp = await post(client, slash_command_body("/deploy", "staging"))
        elapsed = time.monotonic() - started
        assert resp.status == 200 and elapsed < 3
        assert "Working on `/deploy staging`" in (await resp.json())["text"]
        await wait_until_processed(services, 1)
        assert seen[0].commands[0].name == "deploy" and seen[0].actor.principal == "slack:U0123ABC"

    async def test_long_form(self, slack):
        """`/shipbot deploy widget@v1.2 to production` is the same command."""
        client, services, seen = slack
        assert (await post(client, slash_command_body("/shipbot", "deploy widget@v1.2 to production"))).status == 200
        await wait_until_processed(services, 1)
        assert seen[0].commands[0].args == ("widget@v1.2", "to", "production")

    async def test_the_word_payload_in_a_command(self, slack):
        """`/deploy payload-api to staging` is a command, though Bolt alone would take it for an interaction."""
        client, services, seen = slack
        assert (await post(client, slash_command_body("/deploy", "payload-api to staging"))).status == 200
        await wait_until_processed(services, 1)
        assert seen[0].commands[0].args == ("payload-api", "to", "staging")

    async def test_typo_is_answered_at_once_and_not_stored(self, slack):
        """A command shipbot cannot understand is explained in the ack itself, only to its author."""
        client, services, _ = slack
        resp = await post(client, slash_command_body("/shipbot", "deploi staging"))
        data = await resp.json()
        assert resp.status == 200 and data["response_type"] == "ephemeral" and "did you mean /deploy" in data["text"]
        assert (await services.queue.counts())["pending"] == 0

    async def test_retry_of_the_same_command_is_stored_once(self, slack):
        """The same trigger_id twice is one job."""
        client, services, _ = slack
        body = slash_command_body("/deploy", "staging", trigger_id="trigger-1")
        assert (await post(client, body)).status == 200
        assert (await post(client, body)).status == 200
        counts = await wait_until_processed(services, 1)
        assert counts["done"] + counts["pending"] + counts["running"] == 1


class TestInteractions:
    async def test_button_click(self, slack):
        """A block_actions click is stored and routed by its action_id."""
        client, services, seen = slack
        assert (await post(client, block_actions_body("deploy_confirm", "req-1"))).status == 200
        await wait_until_processed(services, 1)
        assert seen[0].name == "block_actions.deploy_confirm" and seen[0].reply_to.thread_ts

    async def test_url_verification_challenge(self, slack):
        """Slack's Events API handshake gets its challenge back (Bolt answers it)."""
        client, _, _ = slack
        body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "token": "x"}).encode()
        resp = await post(client, body, content_type="application/json")
        assert resp.status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in await resp.text()

    async def test_event_callback(self, slack):
        """An app_mention event is stored under its event_id."""
        client, services, seen = slack
        body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "Ev123", "event_time": 1,
                           "event": {"type": "app_mention", "user": "U1", "text": "<@U0BOT> help", "channel": "C1",
                                     "ts": "1.1"}}).encode()
        assert (await post(client, body, content_type="application/json")).status == 200
        await wait_until_processed(services, 1)
        assert seen[0].delivery_id == "Ev123" and seen[0].commands[0].name == "help"


class TestRefusals:
    async def test_stale_timestamp(self, slack):
        """A request signed more than five minutes ago is refused (replay window)."""
        client, services, _ = slack
        resp = await post(client, slash_command_body("/deploy", "staging"), timestamp=int(time.time()) - 400)
        assert resp.status == 401 and "five minutes" in (await resp.json())["error"]

    async def test_wrong_secret_and_missing_headers(self, slack):
        """Another app's secret or no signature at all: 401, nothing stored."""
        client, services, _ = slack
        body = slash_command_body("/deploy", "production")
        resp = await client.post("/slack/events", data=body, headers=slack_headers(body, "someone-elses-secret"))
        assert resp.status == 401
        resp = await client.post("/slack/events", data=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status == 401
        assert (await services.queue.counts())["pending"] == 0

    @pytest.mark.parametrize("body, content_type, status", [
        (b"hello=world", "application/x-www-form-urlencoded", 400),
        (urlencode({"payload": "{not json"}).encode(), "application/x-www-form-urlencoded", 400),
        (b"command=0&payload=", "application/x-www-form-urlencoded", 400),  # found by schemathesis: was a 500
        (b'["array"]', "application/json", 400),
        (b"command=/deploy", "text/plain", 415),
        (b"channel_id=&command=0&payload=", "application/x-www-form-urlencoded", 400),
        (b"{&command=/deploy", "application/x-www-form-urlencoded", 400),
    ])
    async def test_malformed(self, slack, body, content_type, status):
        """Signed but malformed bodies are 400, wrong content types 415."""
        client, _, _ = slack
        assert (await post(client, body, content_type=content_type)).status == status

    async def test_unhandled_interaction_kind_is_ignored(self, slack):
        """Kinds shipbot does not take (a view submission) get 200; an incomplete one 400, never 500."""
        client, _, _ = slack
        view = {"id": "V1", "type": "modal", "callback_id": "x", "team_id": "T1", "state": {"values": {}},
                "hash": "1.a", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
        payload = {"type": "view_submission", "team": {"id": "T1", "domain": "d"}, "api_app_id": "A1",
                   "user": {"id": "U1", "username": "u", "team_id": "T1"}, "view": view, "token": "x",
                   "trigger_id": "1.2.3"}
        assert (await post(client, urlencode({"payload": json.dumps(payload)}).encode())).status == 200
        del payload["view"]["type"]
        assert (await post(client, urlencode({"payload": json.dumps(payload)}).encode())).status == 400

    async def test_not_configured(self, serve, sqlite_db):
        """Without SLACK_SIGNING_SECRET the route says which variable to set."""
        settings = make_settings(GITHUB_WEBHOOK_SECRET="x")
        client = await serve(settings, services_for(sqlite_db, settings))
        resp = await client.post("/slack/events", data=b"command=/deploy")
        assert resp.status == 501 and "SLACK_SIGNING_SECRET" in (await resp.json())["error"]
