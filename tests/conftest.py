"""Shared fixtures: settings, a real database per test (SQLite and PostgreSQL), the real app over HTTP."""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.routing import Router
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store import Database, open_database

SECRETS = {
    "GITHUB_WEBHOOK_SECRET": "gh-webhook-secret",
    "GITLAB_WEBHOOK_SECRET": "gl-webhook-secret",
    "SLACK_SIGNING_SECRET": "slack-signing-secret",
}
PG_ADMIN_DSN = os.environ.get("SHIPBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
# GitHub's OpenAPI description served by Prism: the `prism` and `github_api` fixtures.
pytest_plugins = ("tests.prism",)


def make_settings(db_url: str = "sqlite:///unused.db", **env: str) -> Settings:
    """Settings as `shipbot serve` would read them from this environment."""
    return Settings.from_env({"SHIPBOT_DATABASE_URL": db_url, **env})


async def create_pg_database() -> str:
    name = f"shipbot_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend (async driver URL)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/shipbot.db"
        return
    url = await create_pg_database()
    yield url.replace("postgresql://", "postgresql+asyncpg://", 1)
    await drop_pg_database(url)


@pytest.fixture
async def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/shipbot.db"


@pytest.fixture
async def db(database_url) -> AsyncIterator[Database]:
    database = await open_database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(sqlite_url) -> AsyncIterator[Database]:
    database = await open_database(sqlite_url)
    yield database
    await database.dispose()


@pytest.fixture
async def serve() -> AsyncIterator[Callable]:
    """Start the real app on 127.0.0.1 and return a client: `client = await serve(settings, services)`."""
    clients: list[TestClient] = []

    async def start(settings: Settings, services: Services | None = None, *, workers: bool = False) -> TestClient:
        client = TestClient(TestServer(create_app(settings, services, workers=workers), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


def recording_router() -> tuple[Router, list]:
    """A router that takes every event and remembers it: for ingress tests of routing alone."""
    seen: list = []
    router = Router()

    @router.on("*")
    async def remember(ctx) -> None:
        seen.append(ctx.event)

    return router, seen


def services_for(db: Database, settings: Settings, router: Router | None = None) -> Services:
    return build_services(settings, db, router=router)


@pytest.fixture
async def recorder():
    """A recording HTTP server on 127.0.0.1 (see tests/recorder.py), stopped after the test."""
    from tests.recorder import RecordingServer

    server = await RecordingServer().start()
    yield server
    await server.stop()


async def deliver(services: Services, source: str, header: str, payload: dict, delivery_id: str | None = None) -> dict:
    """Run one payload through the real queue, routing and worker (no HTTP); return the job row."""
    import json as _json

    from bot.queue import NewJob
    from bot.sansio.events import normalize
    from bot.worker import Worker

    delivery_id = delivery_id or uuid.uuid4().hex
    event = normalize(source, header, payload, delivery_id)
    await services.queue.enqueue(NewJob(f"{source}:{delivery_id}", source, header, event.name,
                                        str(event.repo) if event.repo else None, _json.dumps(payload).encode()))
    from sqlalchemy import select

    from bot.store.tables import jobs

    worker = Worker(services, name="test-worker")
    deadline = time.monotonic() + 30
    while True:
        for job in await services.queue.claim("test-worker", 100):
            await worker.process(job)
        async with services.db.connect() as conn:
            row = (await conn.execute(select(jobs).where(jobs.c.delivery_key == f"{source}:{delivery_id}"))
                   ).mappings().one()
        # Not claimed yet: other deliveries of the same repository hold its SHIPBOT_JOBS_PER_REPO slots.
        if row["attempts"] or time.monotonic() > deadline:
            return dict(row)
        await asyncio.sleep(0.01)


@pytest.fixture
async def fake_services(sqlite_db):
    """Services on a real SQLite store with the shared FakeForge for both forges and a recording chat."""
    from bot.chat.base import RecordingChat
    from tests.fakes import FakeForge

    def build(router: Router | None = None, **env: str) -> Services:
        settings = make_settings(**{"GITHUB_WEBHOOK_SECRET": "s", **env})
        return build_services(settings, sqlite_db, router=router,
                              forges={"github": FakeForge("github"), "gitlab": FakeForge("gitlab")},
                              chat=RecordingChat())

    return build
