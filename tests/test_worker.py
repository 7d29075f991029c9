"""The worker: handlers isolated from each other, retries that skip finished handlers, dead letters."""
from __future__ import annotations

import time

import orjson
from sqlalchemy import select, update

from bot.errors import CommandError, TransientError
from bot.forge.base import NotFound
from bot.queue import DEAD, DONE, PENDING, NewJob
from bot.routing import Router
from bot.store.tables import audit_log, jobs
from bot.worker import Worker
from tests.conftest import make_settings, services_for
from tests.peers import github_example, gitlab_payload

COMMENT = github_example("issue_comment", "created")


def comment_job(body: str, key: str = "d1") -> NewJob:
    payload = orjson.loads(orjson.dumps(COMMENT))
    payload["comment"]["body"] = body
    payload["issue"]["pull_request"] = {"url": "x"}
    return NewJob(f"github:{key}", "github", "issue_comment", "issue_comment.created", "github:o/r",
                  orjson.dumps(payload))


async def run_once(services, worker: Worker):
    for job in await services.queue.claim(worker.name, 10):
        await worker.process(job)


async def make_due(db):
    async with db.begin() as conn:
        await conn.execute(update(jobs).values(run_at=0))


class TestIsolation:
    async def test_a_failing_handler_does_not_stop_the_others_and_is_not_rerun_needlessly(self, db):
        """One handler crashing leaves the others done; the retry runs only the one that failed."""
        calls = {"flaky": 0, "steady": 0}
        router = Router()

        @router.on("issue_comment")
        async def flaky(ctx):
            calls["flaky"] += 1
            if calls["flaky"] == 1:
                raise RuntimeError("first time fails")

        @router.on("issue_comment.created")
        async def steady(ctx):
            calls["steady"] += 1

        services = services_for(db, make_settings(), router)
        worker = Worker(services, name="w")
        await services.queue.enqueue(comment_job("hello"))
        await run_once(services, worker)
        assert calls == {"flaky": 1, "steady": 1}
        row = await services.queue.get(1)
        assert row["status"] == PENDING and "first time fails" in row["last_error"]
        await make_due(db)
        await run_once(services, worker)
        assert calls == {"flaky": 2, "steady": 1}
        assert (await services.queue.get(1))["status"] == DONE
        await services.queue.close()


class TestAnswers:
    async def test_command_error_is_answered_and_audited_not_retried(self, db):
        """A refusal is told to the asker on the PR, written to the audit log, and the job is done."""
        router = Router()
        from bot.routing import Help

        @router.command("deploy", help=Help("deploy", "/deploy <env>"))
        async def deploy(ctx):
            raise CommandError("you may not deploy to production; ask one of: github:octocat")

        services = services_for(db, make_settings(), router)
        await services.queue.enqueue(comment_job("/deploy production"))
        await run_once(services, Worker(services, name="w"))
        assert (await services.queue.get(1))["status"] == DONE
        [write] = services.writes.writes
        assert write.action == "create_comment" and "may not deploy to production" in write.data["body"]
        assert "> /deploy production" in write.data["body"]
        async with db.connect() as conn:
            [entry] = (await conn.execute(select(audit_log))).mappings().all()
        assert entry["decision"] == "refused" and entry["actor"].startswith("github:")
        await services.queue.close()

    async def test_answer_on_a_gitlab_issue_goes_to_the_issue(self, db):
        """A GitLab issue note is answered on that issue, not on the merge request with the same number."""
        router = Router()
        from bot.routing import Help

        @router.command("deploy", help=Help("deploy", "/deploy <env>"))
        async def deploy(ctx):
            raise CommandError("you may not deploy to production")

        payload = gitlab_payload("comment-issue-event.json")
        payload["object_attributes"]["note"] = "/deploy production"
        services = services_for(db, make_settings(), router)
        await services.queue.enqueue(NewJob("gitlab:n1", "gitlab", "Note Hook", "note.create",
                                            "gitlab:gitlab-org/gitlab-test", orjson.dumps(payload)))
        await run_once(services, Worker(services, name="w"))
        [write] = services.writes.writes
        assert write.action == "create_comment" and write.data["number"] == payload["issue"]["iid"]
        assert write.data["on_change_request"] is False
        await services.queue.close()

    async def test_forge_refusal_is_explained_without_retry(self, db):
        """A 404 from the forge is not worth retrying: the asker hears what failed."""
        router = Router()

        @router.on("issue_comment")
        async def reads_missing_thing(ctx):
            raise NotFound("the branch 'nope' does not exist in o/r")

        services = services_for(db, make_settings(), router)
        await services.queue.enqueue(comment_job("/help"))
        await run_once(services, Worker(services, name="w"))
        assert (await services.queue.get(1))["status"] == DONE
        assert any("does not exist" in w.data.get("body", "") for w in services.writes.writes)
        await services.queue.close()

    async def test_transient_error_waits_for_retry_after_then_dead_letters(self, db):
        """Rate limits retry no sooner than Retry-After; after max attempts the asker is told and it is dead."""
        router = Router()

        @router.on("issue_comment")
        async def rate_limited(ctx):
            raise TransientError("GitHub rate limit", retry_after=90)

        services = services_for(db, make_settings(SHIPBOT_MAX_ATTEMPTS="2"), router)
        worker = Worker(services, name="w")
        await services.queue.enqueue(comment_job("/help"))
        await run_once(services, worker)
        row = await services.queue.get(1)
        assert row["status"] == PENDING and row["run_at"] >= time.time() + 80
        await make_due(db)
        await run_once(services, worker)
        row = await services.queue.get(1)
        assert row["status"] == DEAD and "rate limit" in row["last_error"]
        assert any("shipbot jobs retry 1" in w.data.get("body", "") for w in services.writes.writes)
        await services.queue.close()


class TestUnreadablePayload:
    async def test_a_damaged_stored_payload_is_a_failed_job_with_the_reason(self, db):
        """A compressed payload that no longer inflates fails its own job (kept for an operator), no other."""
        from bot.store.payloads import pack

        ran = []
        router = Router()

        @router.on("issue_comment.created")
        async def record(ctx):
            ran.append(ctx.event.delivery_id)

        services = services_for(db, make_settings(), router)
        await services.queue.enqueue(comment_job("hello", key="fine"))
        async with db.begin() as conn:
            await conn.execute(jobs.insert().values(
                delivery_key="github:damaged", source="github", event="issue_comment", name="issue_comment.created",
                repo="github:o/r", payload=pack(comment_job("hi").payload)[:-8], status=PENDING, attempts=0,
                run_at=0, created_at=0))
        await run_once(services, Worker(services, name="w"))
        assert ran == ["fine"]
        damaged = await services.queue.get(2)
        assert damaged["status"] == PENDING and "stored payload cannot be read" in damaged["last_error"]
        await services.queue.close()


class TestPeriodic:
    async def test_periodic_tasks_run_from_the_worker_loop(self, sqlite_db):
        """A task registered with @router.every runs while the worker runs, and a crash in it is contained."""
        import asyncio

        router = Router()
        calls = []

        @router.every(3600)
        async def hourly(services, log):
            calls.append("hourly")

        @router.every(3600)
        async def broken(services, log):
            raise RuntimeError("boom")

        services = services_for(sqlite_db, make_settings(), router)
        worker = Worker(services, name="w", poll_interval=0.05)
        runner = asyncio.create_task(worker.run())
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.02)
        await worker.stop()
        await runner
        assert calls == ["hourly"]


class TestIngressFirst:
    async def test_worker_yields_while_deliveries_pour_in_then_drains(self, sqlite_db):
        """While deliveries keep arriving the worker starts few jobs; once they stop it drains the rest."""
        import asyncio

        router = Router()

        @router.on("issue_comment")
        async def work(ctx):
            pass

        services = services_for(sqlite_db, make_settings(), router)
        for i in range(20):
            await services.queue.enqueue(comment_job("hi", key=f"k{i}"))
        worker = Worker(services, name="w", poll_interval=0.05)
        runner = asyncio.create_task(worker.run())
        for _ in range(10):  # 0.5 s of requests always in flight
            services.queue.load.add(0.05)
            await asyncio.sleep(0.05)
        during = (await services.queue.counts())["done"]
        for _ in range(100):
            if (await services.queue.counts())["done"] == 20:
                break
            await asyncio.sleep(0.05)
        await worker.stop()
        await runner
        assert 1 <= during <= 2, during
        assert (await services.queue.counts())["done"] == 20
        await services.queue.close()


    async def test_a_steady_trickle_of_deliveries_does_not_hold_jobs_back(self, sqlite_db):
        """Deliveries that take a small share of the loop (dozens a second) never make the worker wait."""
        import asyncio

        router = Router()

        @router.on("issue_comment")
        async def work(ctx):
            pass

        services = services_for(sqlite_db, make_settings(), router)
        for i in range(20):
            await services.queue.enqueue(comment_job("hi", key=f"k{i}"))
        worker = Worker(services, name="w", poll_interval=0.05)
        runner = asyncio.create_task(worker.run())
        for _ in range(10):  # 0.5 s at 50 deliveries a second of 1 ms each: 5 % of the loop
            services.queue.load.add(0.001 * 2.5)
            await asyncio.sleep(0.05)
        during = (await services.queue.counts())["done"]
        await worker.stop()
        await runner
        assert during == 20
        await services.queue.close()


class TestRetriedReplies:
    async def test_a_retry_edits_the_answer_it_already_gave(self, fake_services):
        """A handler that answered and then failed answers again on retry by editing, never posting twice."""
        from tests.fakes import FakeForge  # noqa: F401  (the fake_services forges)

        router = Router()
        attempts = []

        @router.on("issue_comment")
        async def answer_then_fail(ctx):
            attempts.append(ctx.attempt)
            await ctx.reply("refused", message=f"attempt {ctx.attempt}")
            if ctx.attempt == 1:
                raise RuntimeError("crashed after answering")

        services = fake_services(router=router)
        forge = services.forges["github"]
        forge.repo("Codertocat/Hello-World")
        await services.queue.enqueue(comment_job("hello"))
        worker = Worker(services, name="w")
        await run_once(services, worker)
        await make_due(services.db)
        await run_once(services, worker)
        assert attempts == [1, 2]
        [comment] = forge.repo("Codertocat/Hello-World").comments[COMMENT["issue"]["number"]]
        assert "attempt 2" in comment.body and "<!-- shipbot:reply" in comment.body


class TestStoreFaults:
    async def test_jobs_claimed_before_a_failed_prune_still_run(self, sqlite_db):
        """Pruning old jobs fails right after a claim (the database refuses deletes): the claimed job runs now."""
        import asyncio

        from sqlalchemy import insert, text

        router, handled = Router(), []

        @router.on("issue_comment")
        async def work(ctx):
            handled.append(ctx.event.delivery_id)

        services = services_for(sqlite_db, make_settings(), router)
        async with sqlite_db.begin() as conn:
            await conn.execute(insert(jobs).values(delivery_key="github:old", source="github", event="push",
                                                   name="push", payload=b"{}", status=DONE, attempts=1, run_at=0,
                                                   created_at=0))
            await conn.execute(text("CREATE TRIGGER refuse_deletes BEFORE DELETE ON jobs "
                                    "BEGIN SELECT RAISE(ABORT, 'deletes are refused'); END"))
        await services.queue.enqueue(comment_job("hi", key="fresh"))
        worker = Worker(services, name="w", poll_interval=0.05)
        runner = asyncio.create_task(worker.run())
        for _ in range(100):
            if handled:
                break
            await asyncio.sleep(0.05)
        await worker.stop()
        await runner
        await services.queue.close()
        assert handled == ["fresh"]
        assert (await services.queue.get(2))["status"] == DONE
