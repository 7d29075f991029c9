"""DORA records on both backends: the commits each production deploy shipped first, and reports read back."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot import deploys
from bot.dora import MAX_COMMITS_PER_DEPLOY, dora_report, dora_totals, record_changes
from bot.errors import TransientError
from bot.forge.base import Commit
from bot.services import build_services
from bot.store.tables import dora_changes
from tests.conftest import make_settings
from tests.fakes import FakeForge

REPO = "github:octo/widget"
NOW = time.time()
H = 3600.0


def commit(n: int, hours_ago: float | None) -> Commit:
    date = None if hours_ago is None else datetime.fromtimestamp(NOW - hours_ago * H, timezone.utc).isoformat()
    return Commit(f"{n:040x}", f"fix: change {n}", date=date)


def sha(n: int) -> str:
    return f"{n:040x}"


@pytest.fixture
def forge() -> FakeForge:
    forge = FakeForge("github")
    # Newest first: 5 is the newest commit, 0 the oldest. Commit 3 has an unreadable date.
    forge.repo("octo/widget").commits = [commit(5, 1), commit(4, 2), Commit(sha(3), "x", date="yesterday"),
                                         commit(2, 10), commit(1, 20), commit(0, 30)]
    return forge


async def deploy(db, n: int, status: str = "success", env: str = "production", rollback_of=None,
                 ref: str = "main") -> dict:
    dep_id, _ = await deploys.claim_environment(
        db, request_id=f"req-{time.monotonic_ns()}", repo=REPO, env=env, ref=ref, sha=sha(n),
        requested_by="github:octocat", source="github", reply_to=None, rollback_of=rollback_of)
    await deploys.finish_deployment(db, dep_id, status)
    return await deploys.get_deployment(db, id=dep_id)


async def shipped(db) -> dict[int, dict[str, float | None]]:
    async with db.connect() as conn:
        rows = (await conn.execute(select(dora_changes))).mappings().all()
    found: dict[int, dict[str, float | None]] = {}
    for r in rows:
        found.setdefault(r["deployment_id"], {})[r["sha"]] = r["committed_at"]
    return found


class TestRecordChanges:
    async def test_first_deploy_is_the_baseline_then_new_commits_are_kept(self, db, forge):
        """The first deploy records nothing; the next one records the commits since, with their times."""
        first = await deploy(db, 1)
        assert await record_changes(db, forge, first) == 0
        second = await deploy(db, 4)
        assert await record_changes(db, forge, second) == 3
        kept = (await shipped(db))[second["id"]]
        assert set(kept) == {sha(4), sha(3), sha(2)}
        assert kept[sha(4)] == pytest.approx(NOW - 2 * H) and kept[sha(3)] is None

    async def test_rollback_then_forward_keeps_first_deploys(self, db, forge):
        """A rollback ships nothing; the deploy after it records only commits never shipped before."""
        await deploy(db, 1)
        bad = await deploy(db, 4)
        await record_changes(db, forge, bad)
        back = await deploy(db, 1, rollback_of=bad["id"])
        assert await record_changes(db, forge, back) == 0
        again = await deploy(db, 5)
        assert await record_changes(db, forge, again) == 1
        assert set((await shipped(db))[again["id"]]) == {sha(5)}

    async def test_recording_twice_adds_nothing(self, db, forge):
        """A retried job records the same deploy again without duplicates or errors."""
        await deploy(db, 1)
        second = await deploy(db, 2)
        await record_changes(db, forge, second)
        assert await record_changes(db, forge, second) == 0
        assert len((await shipped(db))[second["id"]]) == 1

    async def test_a_forge_failure_is_raised_to_the_caller(self, db, forge):
        """The forge failing is the caller's to log; nothing half-written is left."""
        await deploy(db, 1)
        second = await deploy(db, 2)
        forge.fail_next["compare"] = TransientError("GitHub answered 502")
        with pytest.raises(TransientError):
            await record_changes(db, forge, second)
        assert await shipped(db) == {}

    async def test_huge_ranges_are_capped(self, db):
        """A compare of thousands of commits keeps the newest MAX_COMMITS_PER_DEPLOY."""
        forge = FakeForge("github")
        forge.repo("octo/widget").commits = [commit(n, n / 100) for n in range(1500, 0, -1)] + [commit(0, 20)]
        await deploy(db, 0)
        last = await deploy(db, 1500)
        assert await record_changes(db, forge, last) == MAX_COMMITS_PER_DEPLOY


class TestReport:
    async def test_report_reads_the_database(self, db, forge):
        """Deploys and shipped commits come back as metrics per environment; staging gets frequency only."""
        await deploy(db, 0)
        for n in (2, 4, 5):
            await record_changes(db, forge, await deploy(db, n))
        await deploy(db, 5, status="failure")
        await deploy(db, 1, env="staging")
        await deploy(db, 2, env="staging")
        svc = build_services(make_settings(), db, forges={"github": forge})
        prod, staging = await dora_report(svc, window_days=7)
        assert (prod.repo, prod.environment, staging.environment) == (REPO, "production", "staging")
        assert prod.deploys == 4 and prod.failed_deploys == 1 and prod.changes == 5 and prod.failed_changes == 1
        # Commit 2 (10h), 1 (20h) by the deploy of 2; 4 (2h) with 3 (no date) by 4; 5 (1h) by 5.
        assert prod.lead_time_changes == 4
        assert staging.deploys == 2 and not staging.production
        assert await dora_report(svc, repo="github:other/repo") == []
        totals = await dora_totals(svc)
        assert totals[7].deploys == 4 and totals[90].lead_time_changes == 4

    async def test_config_names_production(self, db, forge):
        """An environment flagged `production: true` in .shipbot.yml is measured as production."""
        forge.repo("octo/widget").files["main", ".shipbot.yml"] = (
            "deploy:\n  environments:\n    live: {production: true}\ndora:\n  hotfix_window: 1h\n")
        await deploy(db, 1, env="live")
        svc = build_services(make_settings(), db, forges={"github": forge})
        (live,) = await dora_report(svc, window_days=30)
        assert live.production and live.changes == 1
