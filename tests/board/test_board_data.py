"""What the board shows: per environment the deploy running, the one in flight, the lock; history; the queue."""
from __future__ import annotations

import time

from sqlalchemy import insert, select

from bot.board import sample
from bot.board.data import board_snapshot
from bot.deploys import claim_environment, finish_deployment, take_lock
from bot.queue import JobQueue, NewJob
from bot.services import build_services
from bot.store.tables import audit_log, deployments, releases
from tests.conftest import make_settings


def services(db, **env):
    return build_services(make_settings(**env), db)


async def deploy(db, repo, env, ref, status, *, who="slack:U1", run_url=None):
    dep_id, _ = await claim_environment(db, request_id=f"r-{time.monotonic_ns()}", repo=repo, env=env, ref=ref,
                                        sha="b" * 40, requested_by=who, source="slack", reply_to=None)
    if status != "in_progress":
        await finish_deployment(db, dep_id, status, run_url=run_url)
    return dep_id


def env_of(snapshot, repo, name):
    [entry] = [r for r in snapshot["repositories"] if r["repo"] == repo]
    return next(e for e in entry["environments"] if e["name"] == name)


class TestSnapshot:
    async def test_running_latest_in_flight_and_lock(self, db):
        """Per environment: the last success is what runs, a newer failure is the latest attempt, locks show."""
        svc = services(db)
        repo = "github:octo/widget"
        await deploy(db, repo, "production", "v1.0.0", "success", run_url="https://ci.example/1")
        await deploy(db, repo, "production", "v1.1.0", "failure")
        await deploy(db, repo, "staging", "main", "in_progress")
        await take_lock(db, repo, "production", owner="slack:U2", owner_reply=None, reason="migrating", ttl=3600,
                        steal=False)
        snap = await board_snapshot(svc)
        prod = env_of(snap, repo, "production")
        assert prod["current"]["ref"] == "v1.0.0" and prod["current"]["run_url"] == "https://ci.example/1"
        assert prod["latest"]["ref"] == "v1.1.0" and prod["latest"]["status"] == "failure"
        assert prod["lock"]["owner"] == "slack:U2" and prod["lock"]["reason"] == "migrating"
        staging = env_of(snap, repo, "staging")
        assert staging["current"] is None and staging["in_progress"]["ref"] == "main"
        [entry] = snap["repositories"]
        assert [e["name"] for e in entry["environments"]] == ["staging", "production"]
        assert [d["ref"] for d in entry["deploys"]] == ["main", "v1.1.0", "v1.0.0"]
        assert "reply_to" not in entry["deploys"][0] and "chat_message" not in entry["deploys"][0]

    async def test_expired_lock_is_not_shown_and_limit_applies(self, db):
        svc = services(db)
        repo = "gitlab:group/api"
        for n in range(4):
            await deploy(db, repo, "staging", f"r{n}", "success")
        await take_lock(db, repo, "staging", owner="x", owner_reply=None, reason=None, ttl=-1, steal=False)
        snap = await board_snapshot(svc, limit=2)
        assert env_of(snap, repo, "staging")["lock"] is None
        assert [d["ref"] for d in snap["repositories"][0]["deploys"]] == ["r3", "r2"]
        assert snap["repositories"][0]["forge"] == "gitlab" and snap["repositories"][0]["path"] == "group/api"

    async def test_queue_health(self, db):
        """Pending, retrying and dead-lettered jobs are counted; any dead letter makes the queue unhealthy."""
        svc = services(db)
        assert (await board_snapshot(svc))["queue"]["health"] == "ok"
        for n in range(2):
            await svc.queue.enqueue(NewJob(f"k{n}", "github", "push", "push", "github:o/r", b"{}"))
        [job, other] = await svc.queue.claim("w", 2)
        await svc.queue.fail(job, "w", "boom")
        queue = (await board_snapshot(svc))["queue"]
        assert queue["pending"] == 1 and queue["retrying"] == 1 and queue["running"] == 1
        assert queue["health"] == "retrying"
        await JobQueue(db, max_attempts=1).fail(other, "w", "gave up")
        assert (await board_snapshot(svc))["queue"] == {"pending": 1, "retrying": 1, "running": 0, "dead": 1,
                                                          "health": "dead_letters"}

    async def test_digest_changes_with_content_only(self, db):
        svc = services(db)
        first, second = await board_snapshot(svc, now=1000.0), await board_snapshot(svc, now=2000.0)
        assert first["digest"] == second["digest"] and first["generated_at"] != second["generated_at"]
        await deploy(db, "github:o/r", "staging", "main", "success")
        assert (await board_snapshot(svc))["digest"] != first["digest"]


class TestSampleData:
    async def test_added_marked_and_removed_exactly(self, db):
        """Sample rows are flagged as such, and --remove leaves real rows, even in the same repository, alone."""
        svc = services(db)
        added = await sample.add_samples(db)
        assert added > 10 and await sample.add_samples(db) == 0
        real = await deploy(db, sample.SAMPLE_REPOS[0], "qa", "main", "success", who="slack:U9")
        async with db.begin() as conn:
            await conn.execute(insert(releases).values(repo=sample.SAMPLE_REPOS[0], tag="v9.0.0", version="9.0.0",
                                                       released_by="github:someone", prerelease=False,
                                                       released_at=time.time()))
        snap = await board_snapshot(svc)
        assert snap["sample_data"] is True
        webshop = snap["repositories"][[r["repo"] for r in snap["repositories"]].index(sample.SAMPLE_REPOS[0])]
        assert webshop["sample"] and env_of(snap, sample.SAMPLE_REPOS[0], "production")["lock"]["sample"]
        assert {d["sample"] for d in webshop["deploys"]} == {True, False}
        assert env_of(snap, sample.SAMPLE_REPOS[0], "staging")["in_progress"]["sample"]

        removed = await sample.remove_samples(db)
        assert removed == added
        async with db.connect() as conn:
            left = (await conn.execute(select(deployments.c.id))).scalars().all()
            tags = (await conn.execute(select(releases.c.tag))).scalars().all()
            decisions = (await conn.execute(select(audit_log.c.decision))).scalars().all()
        assert left == [real] and tags == ["v9.0.0"]
        assert decisions == ["sample_data_added", "sample_data_removed"]
        assert await sample.remove_samples(db) == 0

    async def test_only_a_new_database_gets_them_on_first_start(self, db):
        assert await sample.database_is_new(db)
        await sample.add_samples(db)
        await sample.remove_samples(db)
        assert not await sample.database_is_new(db)  # the audit log remembers: removed ones do not come back


class TestEscaping:
    async def test_hostile_values_are_text_and_bad_links_are_not_links(self, serve, sqlite_db):
        """A ref with markup is escaped; a `javascript:` run URL from a payload is never an href."""
        await deploy(sqlite_db, "github:o/r", "staging", "<img src=x onerror=alert(1)>", "success",
                     run_url="javascript:alert(1)")
        settings = make_settings()
        client = await serve(settings, build_services(settings, sqlite_db))
        html = await (await client.get("/board")).text()
        assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "javascript:" not in html


class TestMetrics:
    async def test_sample_production_has_figures_and_staging_says_what_is_not_measured(self, db):
        """The board carries each environment's DORA metrics for the window, with reasons where data is thin."""
        svc = services(db)
        await sample.add_samples(db)
        snap = await board_snapshot(svc, window_days=30)
        assert snap["window_days"] == 30
        webshop = next(r for r in snap["repositories"] if r["repo"] == sample.SAMPLE_REPOS[0])
        production = next(m for m in webshop["metrics"] if m["environment"] == "production")
        assert production["production"] and production["deployment_frequency_per_week"] > 0
        assert production["change_failure_rate"] == 0.2 and production["time_to_restore_median_s"] > 0
        assert production["lead_time_median_s"] > 0 and len(production["daily"]) == 30
        assert "window_end" not in production
        staging = next(m for m in webshop["metrics"] if m["environment"] == "staging")
        assert staging["lead_time_median_s"] is None and "production" in staging["lead_time_median_reason"]
        week = await board_snapshot(svc, window_days=7)
        api = next(r for r in week["repositories"] if r["repo"] == sample.SAMPLE_REPOS[1])
        [quiet] = [m for m in api["metrics"] if m["environment"] == "staging"]
        assert quiet["deployment_frequency_per_week"] is None
        assert quiet["deployment_frequency_reason"] == "fewer than 2 successful deploys in the last 7 days"

    async def test_page_draws_charts_and_never_a_number_without_data(self, serve, sqlite_db):
        """Inline SVG bars per day; a thin metric reads "too little data" with its reason, not a figure."""
        await sample.add_samples(sqlite_db)
        settings = make_settings()
        client = await serve(settings, build_services(settings, sqlite_db))
        html = await (await client.get("/board?window=30")).text()
        assert html.count('role="img"') >= 4 and '<rect class="bar"' in html and '<rect class="bar-bad"' in html
        assert "Delivery metrics, last 30 days" in html and 'aria-current="page">30 days' in html
        assert "too little data</span><br><span class=\"small\">fewer than 5 finished deploys" in html
        assert "<svg" in html and "<script src" not in html
