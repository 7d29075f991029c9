"""Health, readiness and metrics endpoints of the real app."""
from __future__ import annotations

from bot.services import build_services
from bot.store import Database
from tests.conftest import SECRETS, make_settings, services_for
from tests.peers import body_of, github_example, github_headers


class TestProbes:
    async def test_healthz_and_readyz(self, serve, sqlite_db):
        """healthz says the process is up and in dry-run; readyz checks the database."""
        settings = make_settings(**SECRETS)
        client = await serve(settings, services_for(sqlite_db, settings))
        health = await (await client.get("/healthz")).json()
        assert health == {"status": "ok", "dry_run": True, "sources": ["github", "gitlab", "slack"]}
        assert (await client.get("/readyz")).status == 200

    async def test_readyz_fails_without_database(self, serve):
        """With the database unreachable readyz is 503 (and healthz still 200)."""
        settings = make_settings()
        db = Database("postgresql+asyncpg://postgres@127.0.0.1:1/none")
        client = await serve(settings, build_services(settings, db))
        assert (await client.get("/readyz")).status == 503
        assert (await client.get("/healthz")).status == 200
        await db.dispose()


class TestMetrics:
    async def test_counts_without_names(self, serve, sqlite_db):
        """/metrics counts deliveries and queue depth, and never shows repository names."""
        settings = make_settings(**SECRETS)
        client = await serve(settings, services_for(sqlite_db, settings))
        example = github_example("issue_comment", "created")
        example["comment"]["body"] = "/help"
        body = body_of(example)
        await client.post("/webhooks/github", data=body, headers=github_headers("issue_comment", body, SECRETS["GITHUB_WEBHOOK_SECRET"]))
        text = await (await client.get("/metrics")).text()
        assert 'shipbot_deliveries_total{event="issue_comment",outcome="stored",source="github"} 1.0' in text
        assert 'shipbot_queue_jobs{status="pending"} 1.0' in text
        assert example["repository"]["full_name"] not in text and example["sender"]["login"] not in text
