"""/metrics carries DORA figures pooled across repositories: numbers only, cached, on both backends."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from prometheus_client.parser import text_string_to_metric_families

from bot import deploys
from bot.dora import record_changes
from bot.forge.base import Commit
from bot.services import build_services
from tests.conftest import make_settings
from tests.fakes import FakeForge

REPO = "github:secret-org/secret-repo"
H = 3600.0


def sha(n: int) -> str:
    return f"{n:040x}"


async def deploy(db, forge, n: int, status: str = "success", env: str = "production", ref: str = "release/secret"):
    dep_id, _ = await deploys.claim_environment(
        db, request_id=f"r{time.monotonic_ns()}", repo=REPO, env=env, ref=ref, sha=sha(n),
        requested_by="github:someone-private", source="github", reply_to=None)
    await deploys.finish_deployment(db, dep_id, status)
    if status == "success":
        await record_changes(db, forge, await deploys.get_deployment(db, id=dep_id))


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("shipbot_dora")}


async def scrape(client) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    return await response.text()


class TestDoraGauges:
    async def test_pooled_figures_without_names(self, serve, db):
        """Deploys, frequency, lead time, failure rate and restore time appear per window; no name, ref or sha."""
        now = time.time()
        forge = FakeForge("github")
        forge.repo("secret-org/secret-repo").commits = [
            Commit(sha(n), f"feat: secret {n}", date=datetime.fromtimestamp(now - (6 - n) * H, timezone.utc)
                   .isoformat()) for n in range(5, -1, -1)]
        for n in (0, 1, 2, 3):
            await deploy(db, forge, n)
        await deploy(db, forge, 4, "failure")
        await deploy(db, forge, 5)
        await deploy(db, forge, 5, env="secret-staging")
        settings = make_settings()
        client = await serve(settings, build_services(settings, db, forges={"github": forge}))
        text = await scrape(client)
        found = samples(text)
        week = (("window", "7d"),)
        assert found[("shipbot_dora_deploys", (("result", "success"), ("window", "7d")))] == 5
        assert found[("shipbot_dora_deploys", (("result", "failed"), ("window", "90d")))] == 1
        assert found[("shipbot_dora_deployment_frequency_per_week", week)] == 5
        assert found[("shipbot_dora_change_failure_ratio", week)] == 1 / 6
        assert 3 * H - 60 < found[("shipbot_dora_lead_time_seconds", (("quantile", "0.5"), ("window", "7d")))] < 3 * H + 60
        assert ("shipbot_dora_lead_time_seconds", (("quantile", "0.9"), ("window", "7d"))) not in found  # 5 commits
        assert found[("shipbot_dora_time_to_restore_seconds", week)] < 60
        for secret in ("secret", "someone-private", "release/", sha(5)[:12], "feat"):
            assert secret not in text

    async def test_cached_between_scrapes(self, serve, db):
        """A second scrape within 30 s shows the same figures; after that it reads the database again."""
        forge = FakeForge("github")
        forge.repo("secret-org/secret-repo")
        settings = make_settings()
        services = build_services(settings, db, forges={"github": forge})
        client = await serve(settings, services)
        key = ("shipbot_dora_deploys", (("result", "success"), ("window", "30d")))
        assert samples(await scrape(client))[key] == 0
        await deploy(db, forge, 1)
        assert samples(await scrape(client))[key] == 0
        services.metrics.clock = lambda: time.monotonic() + 31
        assert samples(await scrape(client))[key] == 1

    async def test_no_deploys_shows_zero_counts_and_no_figures(self, serve, db):
        """With nothing deployed the counts are 0 and the figures are absent, never a made-up 0."""
        settings = make_settings()
        client = await serve(settings, build_services(settings, db))
        found = samples(await scrape(client))
        assert found[("shipbot_dora_deploys", (("result", "success"), ("window", "7d")))] == 0
        assert not any(name == "shipbot_dora_change_failure_ratio" for name, _ in found)
