"""One noisy repository cannot starve the others: fair, capped claims on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

from hypothesis import given, settings, strategies as st

from bot.queue import PENDING, RUNNING, JobQueue, NewJob
from bot.settings import Settings, SettingsError


def job(key: str, repo: str | None) -> NewJob:
    return NewJob(f"github:{key}", "github", "push", "push", repo, b'{"ref": "refs/heads/main"}')


async def enqueue_all(queue: JobQueue, jobs: list[NewJob]) -> None:
    # In order, so every job of A is older than every job of B.
    for start in range(0, len(jobs), 100):
        await asyncio.gather(*(queue.enqueue(j) for j in jobs[start:start + 100]))


class TestFairClaim:
    async def test_a_quiet_repo_is_served_despite_a_noisy_one(self, db):
        """500 jobs of repo A then 5 of repo B: B's jobs are among the first claims; none lost or doubled."""
        queue = JobQueue(db, per_repo=4)
        await enqueue_all(queue, [job(f"a{i}", "github:noisy/a") for i in range(500)])
        await enqueue_all(queue, [job(f"b{i}", "github:quiet/b") for i in range(5)])
        first = [await queue.claim(f"w{i}", 1) for i in range(6)]
        repos = [j.repo for batch in first for j in batch]
        assert repos.count("github:quiet/b") >= 3, repos  # rank 1 of B comes right after rank 1 of A
        seen = {j.id for batch in first for j in batch}
        for worker, batch in enumerate(first):
            for claimed in batch:
                assert await queue.complete(claimed, f"w{worker}")
        while batch := await queue.claim("drain", 8):
            for claimed in batch:
                assert claimed.id not in seen, "claimed twice"
                seen.add(claimed.id)
                assert await queue.complete(claimed, "drain")
        counts = await queue.counts()
        assert len(seen) == 505 and counts[PENDING] == 0 and counts[RUNNING] == 0, counts
        await queue.close()

    async def test_running_jobs_of_one_repo_are_capped(self, db):
        """No more than `per_repo` jobs of one repository run at once; the cap frees as they finish."""
        queue = JobQueue(db, per_repo=3)
        await enqueue_all(queue, [job(f"a{i}", "github:noisy/a") for i in range(10)])
        taken = await queue.claim("w1", 8)
        assert len(taken) == 3
        assert await queue.claim("w2", 8) == [], "the cap holds across workers"
        assert await queue.complete(taken[0], "w1")
        [next_one] = await queue.claim("w2", 8)
        assert next_one.id not in {j.id for j in taken}
        assert [j.id for j in taken] == sorted(j.id for j in taken), "oldest first within a repository"
        await queue.close()

    async def test_claims_alternate_between_repos(self, db):
        """A batch claim takes the oldest job of every repository before the second of any."""
        queue = JobQueue(db, per_repo=10)
        await enqueue_all(queue, [job(f"a{i}", "github:o/a") for i in range(20)]
                          + [job(f"b{i}", "gitlab:g/b") for i in range(2)] + [job(f"c{i}", "github:o/c") for i in range(1)])
        batch = await queue.claim("w", 6)
        assert sorted(j.repo for j in batch) == ["github:o/a", "github:o/a", "github:o/a", "github:o/c",
                                                 "gitlab:g/b", "gitlab:g/b"]
        await queue.close()

    async def test_jobs_without_a_repo_are_never_capped(self, db):
        """Slack commands that name no repository are each their own group."""
        queue = JobQueue(db, per_repo=1)
        await enqueue_all(queue, [job(f"s{i}", None) for i in range(5)])
        assert len(await queue.claim("w", 8)) == 5
        await queue.close()


class TestSetting:
    def test_jobs_per_repo_comes_from_the_environment(self):
        """SHIPBOT_JOBS_PER_REPO sets the cap; default 4; below 1 stops start-up with a clear line."""
        assert Settings.from_env({}).jobs_per_repo == 4
        assert Settings.from_env({"SHIPBOT_JOBS_PER_REPO": "2"}).jobs_per_repo == 2
        try:
            Settings.from_env({"SHIPBOT_JOBS_PER_REPO": "0"})
        except SettingsError as exc:
            assert "SHIPBOT_JOBS_PER_REPO" in str(exc)
        else:
            raise AssertionError("0 must be refused")


class TestQuotas:
    def test_round_robin_counts_running_jobs_as_taken(self):
        """A repository with jobs running already waits until the others have as many."""
        from bot.store.fair_claim import quotas

        waiting = [("a", 100), ("b", 5), ("c", 1)]
        assert quotas(waiting, {}, 6, 4) == {"a": 3, "b": 2, "c": 1}
        assert quotas(waiting, {"a": 2}, 3, 4) == {"b": 2, "c": 1}
        assert quotas(waiting, {"a": 4, "b": 4}, 8, 4) == {"c": 1}
        assert quotas([(None, 3), ("a", 9)], {"a": 1}, 8, 2) == {None: 3, "a": 1}
        assert quotas([], {}, 8, 4) == {}

    @settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @given(st.lists(st.tuples(st.sampled_from([None, "a", "b", "c", "d"]), st.integers(1, 20)), max_size=5,
                    unique_by=lambda w: w[0]),
           st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 6)),
           st.integers(1, 16), st.integers(1, 6))
    def test_quotas_never_exceed_limit_waiting_or_cap(self, waiting, running, limit, per_repo):
        """Never more than asked, than waits, or than the cap allows; a free slot is never left unused."""
        from bot.store.fair_claim import quotas

        taken = quotas(waiting, running, limit, per_repo)
        counts = dict(waiting)
        assert sum(taken.values()) <= limit
        for repo, n in taken.items():
            assert 0 < n <= counts[repo]
            assert repo is None or running.get(repo, 0) + n <= per_repo
        room = sum(counts[None] if r is None else max(0, min(c, per_repo - running.get(r, 0)))
                   for r, c in counts.items())
        assert sum(taken.values()) == min(limit, room)
