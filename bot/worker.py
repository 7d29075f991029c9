"""Claim stored jobs and run every handler that takes them; retry, or dead-letter with a reason."""
from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Awaitable, Callable, TypeVar

import orjson
import structlog

from bot.context import Context
from bot.errors import BotError, CommandError, TransientError
from bot.queue import DEAD, Job
from bot.sansio.events import normalize
from bot.services import Services

log = structlog.get_logger("shipbot.worker")
T = TypeVar("T")

PRUNE_EVERY = 3600.0
# While ingress takes much of the loop (bot/ingest_load.py), acknowledging comes first; jobs wait,
# but one is started this often so a long flood cannot starve them.
BUSY_PAUSE = 0.05
BUSY_MIN_INTERVAL = 1.0
# Waits between tries to record a job's outcome while the database is away (seconds).
RECORD_RETRY_FIRST, RECORD_RETRY_CAP = 0.5, 5.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Runs jobs concurrently (up to `concurrency`), each holding a lease it renews while it runs."""

    def __init__(self, services: Services, *, name: str | None = None, concurrency: int | None = None,
                 poll_interval: float = 1.0, handler_timeout: float = 600.0) -> None:
        self.services = services
        self.name = name or worker_name()
        self.concurrency = concurrency or services.settings.worker_concurrency
        self.poll_interval = poll_interval
        self.handler_timeout = handler_timeout
        self.active: set[asyncio.Task] = set()
        self._stopping = asyncio.Event()
        self._last_prune = -PRUNE_EVERY  # due at once, however long ago the machine's monotonic clock began
        self._last_run: dict[int, float] = {}
        self._last_claim = 0.0

    async def run(self) -> None:
        """Claim and run jobs until stop() is called."""
        queue = self.services.queue
        failures = 0
        while not self._stopping.is_set():
            free = self.concurrency - len(self.active)
            jobs: list[Job] = []
            if queue.ingest_busy() and time.monotonic() - self._last_claim < BUSY_MIN_INTERVAL:
                await self._pause(BUSY_PAUSE)
                continue
            if queue.ingest_busy():
                free = min(free, 1)
            if free > 0:
                self._last_claim = time.monotonic()
                queue.new_work.clear()
                try:
                    jobs = await queue.claim(self.name, free)
                    failures = 0
                    await self._maybe_prune()
                    self._start_periodic()
                except Exception as exc:  # database unreachable: keep trying, never crash the service
                    failures += 1
                    log.warning("claim_failed", error=str(exc).splitlines()[0] if str(exc) else repr(exc))
                    await self._pause(min(30.0, 0.5 * 2 ** min(failures, 6)))
                    continue
            for job in jobs:
                task = asyncio.create_task(self.process(job), name=f"job-{job.id}")
                self.active.add(task)
                task.add_done_callback(self.active.discard)
            if not jobs:
                await self._wait_for_work()

    async def _wait_for_work(self) -> None:
        waiters = [asyncio.ensure_future(self.services.queue.new_work.wait()),
                   asyncio.ensure_future(self._stopping.wait())]
        if self.active:
            waiters.append(asyncio.ensure_future(asyncio.wait(set(self.active), return_when=asyncio.FIRST_COMPLETED)))
        done, pending = await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            try:
                removed = await self.services.queue.prune(self.services.settings.retention_days)
            except Exception as exc:  # jobs just claimed must still start; pruning waits for the next round
                log.warning("prune_failed", error=str(exc).splitlines()[0] if str(exc) else repr(exc))
                return
            if removed:
                log.info("pruned_jobs", removed=removed, retention_days=self.services.settings.retention_days)

    def _start_periodic(self) -> None:
        """Start each periodic task that is due, in the background, never two of one at once."""
        now = time.monotonic()
        for index, (every, fn) in enumerate(self.services.router.periodic):
            if now - self._last_run.get(index, -every) < every:
                continue
            self._last_run[index] = now
            task = asyncio.create_task(self._periodic(fn), name=f"periodic-{fn.__name__}")
            self.active.add(task)
            task.add_done_callback(self.active.discard)

    async def _periodic(self, fn) -> None:
        try:
            await fn(self.services, log.bind(task=fn.__qualname__))
        except Exception:
            log.exception("periodic_task_failed", task=fn.__qualname__)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; give running jobs `grace` seconds, then cancel them (their leases expire)."""
        self._stopping.set()
        if self.active:
            await asyncio.wait(set(self.active), timeout=grace)
        for task in list(self.active):
            task.cancel()
        await asyncio.gather(*self.active, return_exceptions=True)

    async def _heartbeat(self, job: Job) -> None:
        queue = self.services.queue
        while True:
            await asyncio.sleep(queue.lease_seconds / 3)
            try:
                if not await queue.extend_lease(job, self.name):
                    log.warning("lease_lost", job=job.id, delivery_id=job.delivery_id)
                    return
            except Exception as exc:
                log.warning("lease_renewal_failed", job=job.id, error=str(exc).splitlines()[0])

    async def process(self, job: Job) -> None:
        """Run every handler not yet done for this job; record the outcome."""
        services, queue, metrics = self.services, self.services.queue, self.services.metrics
        jlog = log.bind(delivery_id=job.delivery_id, job=job.id, event=job.name, attempt=job.attempts)
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            try:
                event = normalize(job.source, job.event, orjson.loads(job.payload), job.delivery_id)
            except Exception as exc:
                await self._record(job, lambda: queue.fail(job, self.name, f"stored payload cannot be read: {exc!r}",
                                                            retry_after=None))
                return
            self._remember_installation(event)
            errors: list[str] = []
            retry_after: float | None = None
            routes = services.router.routes(event)
            for index, route in enumerate(routes):
                if job.progress.get(route.key) in ("done", "refused", "failed"):
                    continue
                ctx = Context(event, route.command, services, jlog.bind(handler=route.key), route.key, job.attempts)
                outcome, error, wait = await self._run_handler(ctx, route)
                if error:
                    errors.append(f"{route.key}: {error}")
                    retry_after = max(filter(None, (retry_after, wait)), default=None)
                else:
                    job.progress[route.key] = outcome
                    if index < len(routes) - 1:  # after the last one, complete() or fail() records it
                        await self._record(job, lambda: queue.save_progress(job, self.name))
            if errors:
                status = await self._record(job, lambda: queue.fail(job, self.name, "\n".join(errors),
                                                                    retry_after=retry_after))
                metrics.job_retries.inc()
                jlog.warning("job_failed", status=status, errors=errors)
                if status == DEAD:
                    metrics.jobs_finished.labels("dead").inc()
                    await self._tell_dead(event, job, errors)
            else:
                await self._record(job, lambda: queue.complete(job, self.name))
                metrics.jobs_finished.labels("done").inc()
                metrics.job_latency.observe(max(0.0, time.time() - job.created_at))
        finally:
            heartbeat.cancel()

    async def _record(self, job: Job, write: Callable[[], Awaitable[T]]) -> T | None:
        """Write a job's outcome, waiting out a database outage: the work is done, and losing its
        record would leave the job leased until the lease expires, then run it again."""
        gave_up_at = time.monotonic() + self.services.queue.lease_seconds
        delay = RECORD_RETRY_FIRST
        while True:
            try:
                return await write()
            except Exception as exc:
                error = str(exc).splitlines()[0] if str(exc) else repr(exc)
                if self._stopping.is_set() or time.monotonic() + delay > gave_up_at:
                    # The lease runs out; another worker takes the job over and finds what was done.
                    log.error("job_outcome_not_recorded", job=job.id, delivery_id=job.delivery_id, error=error)
                    return None
                log.warning("job_outcome_write_failed", job=job.id, error=error, retry_in=delay)
                await self._pause(delay)
                delay = min(RECORD_RETRY_CAP, delay * 2)

    def _remember_installation(self, event) -> None:
        """A GitHub App event names its installation: saves looking it up before the first API call."""
        forge = self.services.forges.get("github")
        forge = getattr(forge, "inner", None) or forge
        if event.installation_id and event.repo and hasattr(forge, "remember_installation"):
            forge.remember_installation(event.repo, event.installation_id)

    async def _run_handler(self, ctx: Context, route) -> tuple[str, str | None, float | None]:
        """Run one handler in isolation. Returns (outcome, retryable error, retry-after)."""
        try:
            await asyncio.wait_for(route.handler(ctx), self.handler_timeout)
            return "done", None, None
        except CommandError as exc:
            await self._answer(ctx, "refused", exc.message)
            return "refused", None, None
        except TransientError as exc:
            self.services.metrics.handler_errors.labels(route.key.split("#")[0]).inc()
            ctx.log.warning("handler_transient_error", error=exc.message, retry_after=exc.retry_after)
            return "", exc.message, exc.retry_after
        except BotError as exc:
            # The forge or Slack said no in a way a retry will not change (404, 403, 422, a bad
            # .shipbot.yml, a channel shipbot is not in): tell the asker.
            self.services.metrics.handler_errors.labels(route.key.split("#")[0]).inc()
            ctx.log.warning("handler_refused_by_platform", error=exc.message, status=getattr(exc, "status", None))
            await self._answer(ctx, "failed", exc.message)
            return "failed", None, None
        except asyncio.TimeoutError:
            self.services.metrics.handler_errors.labels(route.key.split("#")[0]).inc()
            ctx.log.error("handler_timeout", timeout=self.handler_timeout)
            return "", f"timed out after {self.handler_timeout:.0f}s", None
        except Exception as exc:  # a bug or an unexpected failure: log it, retry later
            self.services.metrics.handler_errors.labels(route.key.split("#")[0]).inc()
            ctx.log.exception("handler_crashed")
            return "", f"{type(exc).__name__}: {exc}", None

    async def _answer(self, ctx: Context, template: str, message: str) -> None:
        """Tell the asker in plain words; record the decision when it answered a command."""
        try:
            if ctx.command is not None:
                await ctx.audit(template, message)
            await ctx.reply(template, message=message, delivery_id=ctx.event.delivery_id)
        except Exception:
            ctx.log.exception("reply_failed")

    async def _tell_dead(self, event, job: Job, errors: list[str]) -> None:
        if event.reply_to is None:
            return
        ctx = Context(event, next((c for c in event.commands), None), self.services, log.bind(job=job.id),
                      "gave-up", job.attempts)
        await self._answer(ctx, "gave_up", f"shipbot gave up after {job.attempts} tries. An operator can run "
                                           f"`shipbot jobs retry {job.id}` once the cause is fixed.")
