"""The durable queue, on SQLite and on PostgreSQL: dedupe, leases, retries, dead letters, pruning."""
from __future__ import annotations

import asyncio
import sqlite3
import time
import zlib

import orjson
import pytest
from sqlalchemy import delete, insert, select, update

from bot.queue import DEAD, DONE, PENDING, RUNNING, JobQueue, NewJob, backoff
from bot.store import Database
from bot.store.payloads import DamagedPayload, pack
from bot.store.tables import jobs


def job(key: str, name: str = "push") -> NewJob:
    return NewJob(f"github:{key}", "github", "push", name, "github:o/r", b'{"ref": "refs/heads/main"}')


class TestEnqueue:
    async def test_duplicates_are_stored_once(self, db):
        """The same delivery id twice, even in one batch, is one job."""
        queue = JobQueue(db)
        results = await asyncio.gather(*(queue.enqueue(job(str(i % 3))) for i in range(9)))
        assert sorted(results) == [False] * 6 + [True] * 3
        assert (await queue.counts())[PENDING] == 3
        assert await queue.enqueue(job("0")) is False
        await queue.close()

    async def test_many_concurrent_writers_lose_nothing(self, db):
        """500 concurrent enqueues are all stored (grouped into few transactions)."""
        queue = JobQueue(db)
        results = await asyncio.gather(*(queue.enqueue(job(f"k{i}")) for i in range(500)))
        assert all(results)
        assert (await queue.counts())[PENDING] == 500
        await queue.close()


def busy_for(seconds: float) -> None:
    """CPU work, as verifying a delivery is: a turn of the loop that runs it is a busy one."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class TestGroupCommit:
    async def test_deliveries_still_being_verified_join_the_commit(self, db):
        """Eight deliveries that reach the queue over several busy turns of the loop are one commit
        (rows of one commit share their created_at); the writer stops gathering at the first idle turn."""
        queue = JobQueue(db, gather_seconds=5.0)

        async def deliver(i: int) -> bool:
            for _ in range(i + 1):  # verifying takes this delivery i + 1 turns
                busy_for(0.0005)
                await asyncio.sleep(0)
            return await queue.enqueue(job(f"burst-{i}"))

        assert all(await asyncio.gather(*(deliver(i) for i in range(8))))
        async with db.connect() as conn:
            commits = set((await conn.execute(select(jobs.c.created_at))).scalars())
        assert len(commits) == 1
        await queue.close()

    async def test_a_lone_delivery_is_not_held_back(self, db):
        """With nothing else for the loop to do, the row is committed at once, not after gather_seconds."""
        queue = JobQueue(db, gather_seconds=30.0)
        assert await asyncio.wait_for(queue.enqueue(job("alone")), 10) is True
        assert await asyncio.wait_for(queue.enqueue(job("next")), 10) is True
        await queue.close()


class TestSqliteWriteLock:
    async def test_a_held_write_lock_makes_enqueue_wait_without_blocking_the_loop(self, sqlite_db):
        """While another connection holds SQLite's write lock, the delivery waits (the loop keeps
        running) and is stored as soon as the lock is released."""
        queue = JobQueue(sqlite_db)
        await queue.enqueue(job("before"))
        other = sqlite3.connect(sqlite_db.engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(queue.enqueue(job("during")))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not waiting.done()
        other.execute("COMMIT")
        other.close()
        assert await asyncio.wait_for(waiting, 10) is True
        assert await queue.enqueue(job("during")) is False
        assert (await queue.counts())[PENDING] == 2
        await queue.close()


    async def test_reads_and_the_workers_updates_never_hold_up_an_enqueue(self, sqlite_db):
        """A read transaction left open (the board, /metrics, a handler) does not take the write lock,
        and a claim or a job's outcome holds it only for its own statement: deliveries are stored
        at once, from within the loop."""
        queue = JobQueue(sqlite_db)
        await queue.enqueue(job("first"))
        async with sqlite_db.connect() as conn:
            await conn.execute(select(jobs.c.id))
            assert await asyncio.wait_for(queue.enqueue(job("while-reading")), 0.5) is True
            other = sqlite3.connect(sqlite_db.engine.url.database, timeout=0, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # would raise "database is locked" if the read held it
            other.execute("ROLLBACK")
            other.close()
        [claimed] = await queue.claim("w", 1)
        assert await queue.complete(claimed, "w")
        assert (await queue.counts())[DONE] == 1
        await queue.close()


class TestStoredPayloads:
    async def test_large_payloads_are_stored_compressed_and_read_back_as_received(self, db):
        """A big body takes a fraction of its size in the store; the worker and `get` see it unchanged."""
        queue = JobQueue(db)
        body = orjson.dumps({"ref": "refs/heads/main", "commits": [{"message": f"fix: thing {i}", "url": "u" * 40}
                                                                    for i in range(200)]})
        await queue.enqueue(NewJob("github:big", "github", "push", "push", "github:o/r", body))
        await queue.enqueue(job("small"))
        async with db.connect() as conn:
            stored = dict((await conn.execute(select(jobs.c.delivery_key, jobs.c.payload))).all())
        assert len(stored["github:big"]) < len(body) / 5
        assert bytes(stored["github:small"]) == job("small").payload, "small bodies are stored as they are"
        claimed = {j.delivery_key: j.payload for j in await queue.claim("w", 2)}
        assert claimed == {"github:big": body, "github:small": job("small").payload}
        assert (await queue.get(1))["payload"] == body
        await queue.close()

    async def test_rows_stored_before_compression_still_read(self, db):
        """A plain JSON payload written by an older shipbot is read as it is."""
        queue = JobQueue(db)
        body = orjson.dumps({"ref": "refs/heads/main", "padding": " " * 2000})
        async with db.begin() as conn:
            await conn.execute(insert(jobs).values(
                delivery_key="github:old", source="github", event="push", name="push", repo="github:o/r",
                payload=body, status=PENDING, attempts=0, run_at=0, created_at=0))
        [old] = await queue.claim("w", 1)
        assert old.payload == body and (await queue.get(old.id))["payload"] == body
        await queue.close()

    async def test_rows_compressed_with_zlib_by_an_earlier_version_still_read(self, db):
        """Earlier versions stored large payloads as zlib streams; they stay readable after an upgrade."""
        queue = JobQueue(db)
        body = orjson.dumps({"ref": "refs/heads/main", "padding": "p" * 2000})
        async with db.begin() as conn:
            await conn.execute(insert(jobs).values(
                delivery_key="github:zlib", source="github", event="push", name="push", repo="github:o/r",
                payload=zlib.compress(body, 1), status=PENDING, attempts=0, run_at=0, created_at=0))
        [old] = await queue.claim("w", 1)
        assert old.payload == body and (await queue.get(old.id))["payload"] == body
        await queue.close()

    async def test_damaged_compressed_payload_fails_only_its_own_job(self, db):
        """A compressed row that no longer inflates is claimed like any other; reading it raises."""
        queue = JobQueue(db)
        await queue.enqueue(job("fine"))
        async with db.begin() as conn:
            await conn.execute(insert(jobs).values(
                delivery_key="github:damaged", source="github", event="push", name="push", repo="github:o/r",
                payload=pack(b"{" + b" " * 4000 + b"}")[:-8], status=PENDING, attempts=0, run_at=0, created_at=0))
        claimed = {j.delivery_key: j for j in await queue.claim("w", 2)}
        assert claimed["github:fine"].payload == job("fine").payload
        with pytest.raises(DamagedPayload):
            claimed["github:damaged"].payload
        await queue.close()


class TestClaim:
    async def test_claims_are_exclusive(self, db):
        """Concurrent claimers never get the same job."""
        queue = JobQueue(db, per_repo=40)
        for i in range(40):
            await queue.enqueue(job(f"c{i}"))
        claimed = await asyncio.gather(*(queue.claim(f"w{i}", 5) for i in range(10)))
        ids = [j.id for batch in claimed for j in batch]
        assert len(ids) == len(set(ids)) == 40
        await queue.close()

    async def test_expired_lease_is_taken_over(self, db):
        """A job whose worker died (lease expired) is claimed again by another worker."""
        queue = JobQueue(db, lease_seconds=60)
        await queue.enqueue(job("lease"))
        [first] = await queue.claim("dead-worker", 1)
        assert await queue.claim("other", 1) == []
        async with db.begin() as conn:
            await conn.execute(update(jobs).values(lease_until=time.time() - 1))
        [again] = await queue.claim("other", 1)
        assert again.id == first.id and again.attempts == 2
        assert not await queue.complete(first, "dead-worker"), "the old worker no longer owns it"
        assert await queue.complete(again, "other")
        await queue.close()

    async def test_progress_survives_a_retry(self, db):
        """Handlers already done are remembered across attempts."""
        queue = JobQueue(db)
        await queue.enqueue(job("p"))
        [j] = await queue.claim("w", 1)
        j.progress["handlers.a"] = "done"
        assert await queue.fail(j, "w", "handlers.b: boom") == PENDING
        async with db.begin() as conn:
            await conn.execute(update(jobs).values(run_at=0))
        [again] = await queue.claim("w", 1)
        assert again.progress == {"handlers.a": "done"}
        await queue.close()


class TestFailures:
    async def test_dead_letter_after_max_attempts_then_retry(self, db):
        """After max_attempts the job is dead with its error kept; retry() queues it again."""
        queue = JobQueue(db, max_attempts=2)
        await queue.enqueue(job("d"))
        for attempt in (1, 2):
            async with db.begin() as conn:
                await conn.execute(update(jobs).values(run_at=0))
            [j] = await queue.claim("w", 1)
            status = await queue.fail(j, "w", f"forge said 502 (attempt {attempt})")
        assert status == DEAD
        row = await queue.get(j.id)
        assert row["status"] == DEAD and "attempt 2" in row["last_error"]
        assert await queue.retry(j.id)
        [again] = await queue.claim("w", 1)
        assert again.id == j.id and again.attempts == 1
        await queue.close()

    async def test_retry_waits_for_backoff(self, db):
        """A failed job is not claimable before its backoff has passed."""
        queue = JobQueue(db)
        await queue.enqueue(job("b"))
        [j] = await queue.claim("w", 1)
        await queue.fail(j, "w", "rate limited", retry_after=120)
        assert await queue.claim("w", 1) == []
        row = await queue.get(j.id)
        assert row["run_at"] >= time.time() + 110
        await queue.close()

    def test_backoff_grows_and_honours_retry_after(self):
        """Backoff is jittered, capped, and never shorter than Retry-After."""
        assert all(0.5 <= backoff(1) <= 2 for _ in range(50))
        assert max(backoff(10) for _ in range(200)) <= 900
        assert backoff(1, retry_after=60) >= 60

    async def test_store_down_means_unavailable(self, tmp_path):
        """When the database cannot be written, enqueue raises StoreUnavailable (ingress answers 503)."""
        from bot.queue import StoreUnavailable
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/missing-dir/none.db")
        queue = JobQueue(db)
        try:
            await queue.enqueue(job("x"))
        except StoreUnavailable as exc:
            assert str(exc)
        else:
            raise AssertionError("enqueue on an unreachable store must fail")
        await queue.close()
        await db.dispose()


class TestMaintenance:
    async def test_prune_removes_old_finished_jobs_only(self, db):
        """Finished jobs whose last run was due before the retention period go; pending ones stay
        whatever their age, and so does an old delivery retried within the period."""
        queue = JobQueue(db)
        for k in ("old-done", "old-pending", "new-done", "old-retried-done"):
            await queue.enqueue(job(k))
        claimed = {j.delivery_key: j for j in await queue.claim("w", 4)}
        for key in ("github:old-done", "github:new-done", "github:old-retried-done"):
            await queue.complete(claimed[key], "w")
        long_ago = time.time() - 40 * 86400
        async with db.begin() as conn:
            await conn.execute(update(jobs).where(jobs.c.delivery_key.like("github:old%"))
                               .values(created_at=long_ago, run_at=long_ago))
            await conn.execute(update(jobs).where(jobs.c.delivery_key == "github:old-retried-done")
                               .values(run_at=time.time() - 2 * 86400))
            await conn.execute(update(jobs).where(jobs.c.delivery_key == "github:old-pending").values(status=PENDING))
        assert await queue.prune(30) == 1
        async with db.connect() as conn:
            left = set((await conn.execute(select(jobs.c.delivery_key))).scalars())
        assert left == {"github:old-pending", "github:new-done", "github:old-retried-done"}
        await queue.close()

    async def test_prune_and_counts_read_the_status_index_not_the_rows(self, sqlite_db):
        """Pruning and the counts by status go through (status, repo, run_at), the jobs table's only
        index besides the delivery key's, so a backlog of large payloads is never read for them."""
        from sqlalchemy.dialects import sqlite as sqlite_dialect

        prune = delete(jobs).where(jobs.c.status.in_([DONE, DEAD]), jobs.c.run_at < 1.0)
        compiled = prune.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True})
        conn = sqlite3.connect(sqlite_db.engine.url.database)
        try:
            plans = {sql: " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
                     for sql in (str(compiled), "SELECT status, count(*) FROM jobs GROUP BY status")}
            indexes = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'")}
        finally:
            conn.close()
        assert all("ix_jobs_status_repo_run_at" in plan for plan in plans.values()), plans
        assert indexes == {"ix_jobs_status_repo_run_at", "ix_jobs_retrying", "sqlite_autoindex_jobs_1"}

    async def test_retrying_jobs_are_counted_from_their_own_index(self, db):
        """`retrying` (waiting jobs that failed before) is right on both backends; on SQLite it is read
        from the partial index that holds them alone, never from the rows of every waiting job."""
        from bot.queue import RETRYING_SQLITE

        queue = JobQueue(db)
        for k in ("fresh", "flaky", "broken"):
            await queue.enqueue(job(k))
        claimed = {j.delivery_key: j for j in await queue.claim("w", 3)}
        await queue.fail(claimed["github:flaky"], "w", "HTTP 502")
        await queue.fail(claimed["github:broken"], "w", "HTTP 502")
        await queue.complete(claimed["github:fresh"], "w")
        await queue.enqueue(job("new"))
        counts = await queue.counts()
        assert counts[PENDING] == 3 and counts["retrying"] == 2 and counts[DONE] == 1
        if db.dialect == "sqlite":
            async with db.connect() as conn:
                plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + RETRYING_SQLITE.text)).all()
            assert "COVERING INDEX ix_jobs_retrying" in " ".join(row[3] for row in plan), plan
        await queue.close()

    async def test_migrations_are_safe_to_run_concurrently(self, database_url):
        """Several replicas migrating at once end with one schema and no error."""
        dbs = [Database(database_url) for _ in range(3)]
        results = await asyncio.gather(*(d.migrate() for d in dbs))
        assert sum(1 for r in results if r) == 1, results
        for d in dbs:
            assert await d.migrate() == []
            await d.dispose()
