"""Deploy state on both backends: the one-deploy guard, locks and confirmations under concurrency."""
from __future__ import annotations

import asyncio

from bot import deploys

REPO = "github:octo/widget"


async def claim(db, request_id: str, env: str = "staging"):
    return await deploys.claim_environment(db, request_id=request_id, repo=REPO, env=env, ref="main", sha="a" * 40,
                                           requested_by="github:octocat", source="github", reply_to=None)


class TestOneDeployPerEnvironment:
    async def test_racing_claims_let_exactly_one_in(self, db):
        """Ten simultaneous requests for one environment: one claims it, the rest see who holds it."""
        results = await asyncio.gather(*(claim(db, f"r{i}") for i in range(10)))
        winners = [dep_id for dep_id, _ in results if dep_id is not None]
        assert len(winners) == 1
        assert all(holder["id"] == winners[0] for dep_id, holder in results if dep_id is None)
        assert len(await deploys.history(db, [REPO], limit=20)) == 1  # losers leave no record behind

    async def test_finishing_frees_and_a_retry_reuses_its_record(self, db):
        """A deploy that never started frees its environment; the same request id claims its own row again."""
        dep_id, _ = await claim(db, "r1")
        assert await deploys.finish_deployment(db, dep_id, "error", description="could not start")
        assert not await deploys.finish_deployment(db, dep_id, "error")
        again, holder = await claim(db, "r1")
        assert (again, holder) == (dep_id, None)
        assert (await deploys.get_deployment(db, id=dep_id))["status"] == "starting"
        await deploys.update_deployment(db, dep_id, forge_id="99")
        await deploys.finish_deployment(db, dep_id, "success")
        assert await claim(db, "r1") == (dep_id, None)  # started already: returned, never claimed twice
        assert await deploys.active_deploy(db, REPO, "staging") is None

    async def test_fast_ci_is_not_overwritten(self, db):
        """A final status that arrives before shipbot recorded the forge's id is kept, not reset to queued."""
        dep_id, _ = await claim(db, "r1")
        await deploys.finish_deployment(db, dep_id, "success")
        await deploys.record_started(db, dep_id, forge_id="7", run_url=None, environment_url=None)
        row = await deploys.get_deployment(db, id=dep_id)
        assert (row["status"], row["forge_id"]) == ("success", "7")

    async def test_environments_are_independent(self, db):
        """Holding staging does not hold production."""
        assert (await claim(db, "s"))[0] is not None and (await claim(db, "p", "production"))[0] is not None


class TestLocksAndConfirmations:
    async def test_racing_locks(self, db):
        """Of five people locking at once, one takes the lock and the others are told it is held."""
        results = await asyncio.gather(*(deploys.take_lock(db, REPO, "staging", owner=f"slack:U{i}", owner_reply=None,
                                                           reason=None, ttl=60, steal=False) for i in range(5)))
        assert sorted(outcome for outcome, _ in results) == ["held"] * 4 + ["taken"]

    async def test_confirmation_is_used_once(self, db):
        """Two clicks on Confirm at once: exactly one uses the confirmation."""
        await deploys.save_confirmation(db, code="abcdefgh", kind="slack", repo=REPO, requested_by="slack:U1",
                                        request={"env": "production"}, ttl=60)
        used = await asyncio.gather(*(deploys.use_confirmation(db, "abcdefgh", "confirmed") for _ in range(2)))
        assert sorted(used) == [False, True]
        assert (await deploys.get_confirmation(db, "abcdefgh"))["request"] == {"env": "production"}
