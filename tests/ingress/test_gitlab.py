"""GitLab webhooks through the real app: every fixture, the recorded delivery, tokens and signing keys."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from bot.ingress.gitlab import check_signature
from tests.conftest import SECRETS, make_settings, recording_router, services_for
from tests.ingress.helpers import wait_until_processed
from tests.peers import body_of, gitlab_docs, gitlab_headers, gitlab_payload, gitlab_webhooks, recorded_gitlab_push

TOKEN = SECRETS["GITLAB_WEBHOOK_SECRET"]
SIGNING_KEY = "whsec_" + base64.b64encode(b"k" * 32).decode()


def signed_headers(hook: str, body: bytes, key: str = SIGNING_KEY, *, stamp: int | None = None, msg_id="msg_1"):
    stamp = stamp if stamp is not None else int(time.time())
    raw = base64.b64decode(key.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(raw, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"X-Gitlab-Event": hook, "Content-Type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(stamp), "webhook-signature": f"v1,{sig}", "Idempotency-Key": msg_id}


class TestEveryFixture:
    async def test_all_payloads_are_stored_and_routed(self, serve, db):
        """Every GitLab fixture, with its X-Gitlab-Event header: 202, processed, with its normalized name."""
        router, seen = recording_router()
        settings = make_settings(**SECRETS)
        services = services_for(db, settings, router)
        client = await serve(settings, services, workers=True)
        fixtures = gitlab_docs() + gitlab_webhooks()
        for name, payload, hook in fixtures:
            resp = await client.post("/webhooks/gitlab", data=body_of(payload), headers=gitlab_headers(hook, TOKEN))
            assert resp.status == 202, (name, await resp.text())
        counts = await wait_until_processed(services, len(fixtures))
        assert counts["done"] == len(fixtures)
        assert {e.name for e in seen} >= {"push", "tag_push", "merge_request.open", "pipeline.success",
                                          "deployment.success", "note.create", "release.create"}

    async def test_recorded_delivery_with_its_own_headers(self, serve, sqlite_db):
        """The delivery recorded from a real GitLab server is accepted byte for byte."""
        headers, body = recorded_gitlab_push()
        settings = make_settings(GITLAB_WEBHOOK_SECRET=headers["X-Gitlab-Token"])
        router, _ = recording_router()
        services = services_for(sqlite_db, settings, router)
        client = await serve(settings, services)
        resp = await client.post("/webhooks/gitlab", data=body, headers=headers)
        assert resp.status == 202
        job = await services.queue.get(1)
        assert job["payload"] == body and job["repo"] == "gitlab:beenje/webhook-test"
        # No delivery id header: a digest of the body dedupes a resend.
        assert (await (await client.post("/webhooks/gitlab", data=body, headers=headers)).json())["status"] == "duplicate"


class TestTokens:
    @pytest.fixture
    async def client(self, serve, sqlite_db):
        settings = make_settings(GITLAB_WEBHOOK_SECRET="old-token,new-token")
        router, _ = recording_router()
        self.services = services_for(sqlite_db, settings, router)
        return await serve(settings, self.services)

    async def test_token_checks(self, client):
        """Either rotated token is accepted; a wrong or missing token is 401."""
        body = body_of(gitlab_payload("push.json"))
        for token, status in (("old-token", 202), ("new-token", 202), ("wrong", 401), ("", 401)):
            headers = gitlab_headers("Push Hook", token)
            if not token:
                headers.pop("X-Gitlab-Token")
            assert (await client.post("/webhooks/gitlab", data=body, headers=headers)).status == status

    @pytest.mark.parametrize("body, content_type, hook, status", [
        (b'{"object_kind": "push", ', "application/json", "Push Hook", 400),
        (b'"a string"', "application/json", "Push Hook", 400),
        (b"{}", "text/xml", "Push Hook", 415),
        (b"{}", "application/json", "", 400),
    ])
    async def test_malformed(self, client, body, content_type, hook, status):
        """Broken JSON, non-objects, wrong content types and a missing event header: precise 4xx."""
        headers = gitlab_headers(hook, "new-token")
        headers["Content-Type"] = content_type
        if not hook:
            headers.pop("X-Gitlab-Event")
        assert (await client.post("/webhooks/gitlab", data=body, headers=headers)).status == status
        assert (await self.services.queue.counts())["pending"] == 0

    async def test_unknown_hook_is_ignored(self, serve, sqlite_db):
        """A hook no handler takes (with the real handlers) is 200."""
        settings = make_settings(GITLAB_WEBHOOK_SECRET="t")
        client = await serve(settings, services_for(sqlite_db, settings))
        resp = await client.post("/webhooks/gitlab", data=body_of(gitlab_payload("emoji.json")),
                                 headers=gitlab_headers("Emoji Hook", "t"))
        assert resp.status == 200

    async def test_same_idempotency_key_twice(self, client):
        """A GitLab retry keeps its Idempotency-Key: stored once."""
        body = body_of(gitlab_payload("push.json"))
        for _ in range(2):
            assert (await client.post("/webhooks/gitlab", data=body,
                                      headers=gitlab_headers("Push Hook", "new-token", uuid_="same"))).status == 202
        assert (await self.services.queue.counts())["pending"] == 1


class TestSigningToken:
    async def test_signed_delivery(self, serve, sqlite_db):
        """With GITLAB_WEBHOOK_SIGNING_KEY the webhook-signature HMAC is required instead of the token."""
        settings = make_settings(GITLAB_WEBHOOK_SIGNING_KEY=SIGNING_KEY)
        router, _ = recording_router()
        client = await serve(settings, services_for(sqlite_db, settings, router))
        body = body_of(gitlab_payload("merge_request.json"))
        assert (await client.post("/webhooks/gitlab", data=body, headers=signed_headers("Merge Request Hook", body))).status == 202
        forged = signed_headers("Merge Request Hook", body, "whsec_" + base64.b64encode(b"x" * 32).decode())
        assert (await client.post("/webhooks/gitlab", data=body, headers=forged)).status == 401
        token_only = gitlab_headers("Merge Request Hook", "anything")
        assert (await client.post("/webhooks/gitlab", data=body, headers=token_only)).status == 401

    def test_signature_rules(self):
        """Stale timestamps, missing headers and several signatures (one valid) are handled."""
        body = b'{"object_kind":"push"}'
        now = int(time.time())
        good = signed_headers("Push Hook", body, stamp=now)
        assert check_signature(good, body, (SIGNING_KEY,), now) is None
        assert "five minutes" in check_signature(good, body, (SIGNING_KEY,), now + 600)
        several = dict(good, **{"webhook-signature": "v1,AAAA " + good["webhook-signature"]})
        assert check_signature(several, body, (SIGNING_KEY,), now) is None
        assert "required" in check_signature({"webhook-id": "m"}, body, (SIGNING_KEY,), now)
        assert check_signature(good, body + b"x", (SIGNING_KEY,), now) is not None
