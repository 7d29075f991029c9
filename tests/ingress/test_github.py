"""GitHub webhooks through the real app: every documented example, signed as GitHub signs, and bad input."""
from __future__ import annotations

import asyncio
import json
import socket

import pytest

from bot.services import build_services
from bot.store import Database
from tests.conftest import SECRETS, make_settings, recording_router, services_for
from tests.ingress.helpers import wait_until_processed
from tests.peers import body_of, github_example, github_examples, github_headers

EVENTS = ["pull_request", "issue_comment", "check_suite", "check_run", "workflow_run", "push", "create",
          "release", "deployment", "deployment_status", "status"]
SECRET = SECRETS["GITHUB_WEBHOOK_SECRET"]


async def post(client, event: str, payload: dict | bytes, *, secret: str = SECRET, delivery: str | None = None,
               **header_overrides):
    body = payload if isinstance(payload, bytes) else body_of(payload)
    headers = github_headers(event, body, secret, delivery=delivery)
    headers.update(header_overrides)
    return await client.post("/webhooks/github", data=body, headers=headers)


class TestEveryExample:
    async def test_documented_examples_are_stored_routed_and_processed(self, serve, db):
        """Every example for the events we handle: 202, stored once, routed by event.action name."""
        router, seen = recording_router()
        settings = make_settings(**SECRETS)
        services = services_for(db, settings, router)
        client = await serve(settings, services, workers=True)
        sent = []
        for event in EVENTS:
            for example in github_examples(event):
                resp = await post(client, event, example)
                assert resp.status == 202, (event, await resp.text())
                sent.append(f"{event}.{example['action']}" if "action" in example else event)
        counts = await wait_until_processed(services, len(sent))
        assert counts["done"] == len(sent) and counts["dead"] == 0
        assert sorted(e.name for e in seen) == sorted(sent)

    async def test_ping_is_answered(self, serve, sqlite_db):
        """GitHub's ping on hook creation gets a 200 pong and nothing is stored."""
        settings = make_settings(**SECRETS)
        services = services_for(sqlite_db, settings)
        client = await serve(settings, services)
        for example in github_examples("ping"):
            resp = await post(client, "ping", example)
            assert resp.status == 200 and (await resp.json())["status"] == "pong"
        assert (await services.queue.counts())["pending"] == 0


class TestBadInput:
    @pytest.fixture
    async def app(self, serve, db):
        settings = make_settings(**SECRETS, SHIPBOT_MAX_BODY_BYTES="65536")
        router, _ = recording_router()
        services = services_for(db, settings, router)
        return await serve(settings, services), services

    async def test_wrong_and_missing_signatures(self, app):
        """A wrong secret or no signature is 401 and nothing is stored."""
        client, services = app
        example = github_example("pull_request", "opened")
        assert (await post(client, "pull_request", example, secret="not-the-secret")).status == 401
        body = body_of(example)
        resp = await client.post("/webhooks/github", data=body, headers={
            "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "x", "Content-Type": "application/json"})
        assert resp.status == 401 and "X-Hub-Signature-256" in (await resp.json())["error"]
        sha1_only = github_headers("pull_request", body, SECRET)
        sha1_only.pop("X-Hub-Signature-256")
        sha1_only["X-Hub-Signature"] = "sha1=0000"
        assert (await client.post("/webhooks/github", data=body, headers=sha1_only)).status == 401
        assert (await services.queue.counts())["pending"] == 0

    async def test_tampered_body(self, app):
        """A body changed after signing fails verification."""
        client, _ = app
        body = body_of(github_example("pull_request", "opened"))
        headers = github_headers("pull_request", body, SECRET)
        assert (await client.post("/webhooks/github", data=body + b" ", headers=headers)).status == 401

    @pytest.mark.parametrize("body, content_type, status", [
        (b'{"action": "opened", "repository": ', "application/json", 400),
        (b"not json at all", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"action": "opened"}', "text/plain", 415),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded", 400),
        (b'{"action": "opened", "number": -9223372036854775809}', "application/json", 400),  # beyond 64 bits
        (b'{"action": "opened", "number": 1e400}', "application/json", 400),
    ])
    async def test_malformed_bodies(self, app, body, content_type, status):
        """Truncated, non-JSON and non-object bodies are 400; a wrong content type is 415; never 500."""
        client, services = app
        headers = github_headers("pull_request", body, SECRET)
        headers["Content-Type"] = content_type
        resp = await client.post("/webhooks/github", data=body, headers=headers)
        assert resp.status == status, await resp.text()
        assert (await services.queue.counts())["pending"] == 0

    async def test_form_encoded_delivery_is_accepted(self, app):
        """GitHub's application/x-www-form-urlencoded content type works too."""
        from urllib.parse import urlencode
        client, services = app
        body = urlencode({"payload": json.dumps(github_example("pull_request", "opened"))}).encode()
        headers = github_headers("pull_request", body, SECRET)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        assert (await client.post("/webhooks/github", data=body, headers=headers)).status == 202

    async def test_oversized_body(self, app):
        """A body over SHIPBOT_MAX_BODY_BYTES is 413, whether announced or streamed."""
        client, services = app
        example = github_example("pull_request", "opened")
        example["pull_request"]["body"] = "x" * 70_000
        assert (await post(client, "pull_request", example)).status == 413

        async def chunks():
            yield b"{" + b" " * 70_000 + b"}"
        headers = github_headers("pull_request", b"{}", SECRET)
        resp = await client.post("/webhooks/github", data=chunks(), headers=headers)
        assert resp.status == 413
        assert (await services.queue.counts())["pending"] == 0

    async def test_missing_event_header(self, app):
        """Without X-GitHub-Event the request is malformed (400)."""
        client, _ = app
        body = body_of(github_example("pull_request", "opened"))
        headers = github_headers("pull_request", body, SECRET)
        headers.pop("X-GitHub-Event")
        assert (await client.post("/webhooks/github", data=body, headers=headers)).status == 400

    async def test_same_delivery_twice_is_stored_once(self, app):
        """A redelivery with the same X-GitHub-Delivery is acknowledged and not stored again."""
        client, services = app
        example = github_example("pull_request", "opened")
        first = await post(client, "pull_request", example, delivery="same-id")
        second = await post(client, "pull_request", example, delivery="same-id")
        assert (first.status, second.status) == (202, 202)
        assert [(await first.json())["status"], (await second.json())["status"]] == ["stored", "duplicate"]
        assert (await services.queue.counts())["pending"] == 1

    async def test_rotated_secret(self, serve, sqlite_db):
        """While GITHUB_WEBHOOK_SECRET holds old,new both sign valid deliveries."""
        settings = make_settings(GITHUB_WEBHOOK_SECRET="old-secret,new-secret")
        router, _ = recording_router()
        client = await serve(settings, services_for(sqlite_db, settings, router))
        example = github_example("push")
        assert (await post(client, "push", example, secret="old-secret")).status == 202
        assert (await post(client, "push", example, secret="new-secret")).status == 202
        assert (await post(client, "push", example, secret="other")).status == 401


class TestAnswers:
    async def test_unknown_event_is_ignored_with_200(self, serve, sqlite_db):
        """An event no handler takes is 200 and not stored."""
        settings = make_settings(**SECRETS)
        services = services_for(sqlite_db, settings)  # the real handlers
        client = await serve(settings, services)
        resp = await post(client, "star", github_example("star", "created"))
        assert resp.status == 200 and (await resp.json())["status"] == "ignored"
        assert (await services.queue.counts())["pending"] == 0

    async def test_source_not_configured(self, serve, sqlite_db):
        """Without GITHUB_WEBHOOK_SECRET the route answers 501 naming the variable."""
        settings = make_settings(GITLAB_WEBHOOK_SECRET="x")
        client = await serve(settings, services_for(sqlite_db, settings))
        resp = await post(client, "push", github_example("push"))
        assert resp.status == 501 and "GITHUB_WEBHOOK_SECRET" in (await resp.json())["error"]

    @pytest.mark.parametrize("url", ["sqlite+aiosqlite:////nonexistent-dir/shipbot.db",
                                     "postgresql+asyncpg://postgres@127.0.0.1:1/none"])
    async def test_store_unreachable_is_503_never_2xx(self, serve, url):
        """When the event cannot be stored the answer is 503, so the sender retries."""
        settings = make_settings(**SECRETS)
        router, _ = recording_router()
        db = Database(url)
        client = await serve(settings, build_services(settings, db, router=router))
        resp = await post(client, "push", github_example("push"))
        assert resp.status == 503
        await db.dispose()

    async def test_database_that_never_answers_is_503_not_a_hang(self, serve):
        """A database host that accepts the connection and then says nothing costs a 503, not a hung request."""
        settings = make_settings(**SECRETS)
        router, _ = recording_router()
        with socket.socket() as silent:  # the kernel completes the handshake; nobody ever answers
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{silent.getsockname()[1]}/none")
            client = await serve(settings, build_services(settings, db, router=router))
            # GitHub gives up after 10 s: https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds
            resp = await asyncio.wait_for(post(client, "push", github_example("push")), 10)
            assert resp.status == 503
            await db.dispose()


class TestShapes:
    async def test_signed_payload_with_wrong_field_types_is_400(self, serve, sqlite_db):
        """A correctly signed body whose fields have the wrong types is malformed (400), not a crash."""
        settings = make_settings(**SECRETS)
        client = await serve(settings, services_for(sqlite_db, settings))
        payload = {"action": "created", "repository": {"full_name": "o/r"}, "sender": {"login": "x"},
                   "issue": 5, "comment": "not an object"}
        resp = await post(client, "issue_comment", payload)
        assert resp.status == 400 and "shape" in (await resp.json())["error"]
