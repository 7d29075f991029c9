"""A real `shipbot serve` while the forge's API refuses connections, then answers 502, then recovers."""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict

import aiohttp
import pytest

from tests.system.github_peer import COMMENTS, MARKER, SECRET, answers, fake_github, comment_delivery
from tests.system.procs import ROOT, SHIPBOT, clean_env, free_port, start, stop, wait_ready

DELIVERIES = 12
REFUSED_SECONDS = 1.5
BAD_GATEWAY_SECONDS = 2.0
MIN_BACKOFF = 0.5  # bot.queue.backoff never waits less
# A mistyped command is answered with its usage in one comment and reads nothing first, so each
# try is a single write and retries show at the recorder. (`/help` reads the config and the
# asker's permission, retrying each read in-process, and lists what it cannot check: its first
# try outlasts a short outage.)
TYPO = "/shipbot deploi staging"


def github_env(db, recorder, **extra: str) -> dict[str, str]:
    return clean_env(SHIPBOT_DATABASE_URL=f"sqlite:///{db}", GITHUB_WEBHOOK_SECRET=SECRET,
                     GITHUB_TOKEN="ghp_faults", GITHUB_API_URL=recorder.url, **extra)


def jobs_table(db) -> list[tuple[int, str, str, int, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select id, delivery_key, status, attempts, last_error from jobs order by id").fetchall()


def failed_once(db) -> int:
    """Jobs that have failed at least once (they carry the error of their last try)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from jobs where last_error is not null").fetchone()[0]


def retries_scheduled(db) -> int:
    """Jobs that failed and wait for a try in the future: what `shipbot jobs` counts as retrying."""
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from jobs where status = 'pending' and attempts > 0 "
                            "and last_error is not null and run_at > ?", (time.time(),)).fetchone()[0]


async def wait_for_jobs(db, status: str, count: int, timeout: float) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = jobs_table(db)
        if sum(1 for r in rows if r[2] == status) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {count} jobs {status} after {timeout}s: {jobs_table(db)}")


async def send(session: aiohttp.ClientSession, port: int, delivery: str) -> int:
    body, headers = comment_delivery(delivery, TYPO)
    async with session.post(f"http://127.0.0.1:{port}/webhooks/github", data=body, headers=headers,
                            timeout=aiohttp.ClientTimeout(total=10)) as resp:
        return resp.status


def shipbot(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SHIPBOT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.system
class TestForgeOutage:
    async def test_refused_then_502_then_recovered(self, recorder, tmp_path):
        """Deliveries keep being accepted while GitHub is away; once it is back each is answered once."""
        comments = fake_github(recorder)
        db, port = tmp_path / "s.db", free_port()
        proc = start(port, github_env(db, recorder), tmp_path / "serve.log")
        statuses: dict[str, int] = {}
        waiting = 0
        try:
            await asyncio.to_thread(wait_ready, port, proc)
            await recorder.stop()  # the port is closed: connections are refused
            async with aiohttp.ClientSession() as session:
                for i in range(DELIVERIES):
                    if i == DELIVERIES // 2:
                        await asyncio.sleep(REFUSED_SECONDS)
                        await recorder.start()  # the same port, but a proxy in front answers 502
                        # The port answers again, but a proxy in front says 502 to everything.
                        bad = [recorder.on(method, "/.*", status=502, json={"message": "Bad gateway"})
                               for method in ("GET", "POST", "PATCH")]
                    statuses[f"outage-{i}"] = await send(session, port, f"outage-{i}")
                    waiting = max(waiting, retries_scheduled(db))
                    await asyncio.sleep(0.1)
                # The outage lasts until every job has met it: at most SHIPBOT_JOBS_PER_REPO (4) of
                # this one repository run at once, so the last ones may start seconds later.
                outage_ends = time.monotonic() + BAD_GATEWAY_SECONDS
                give_up = outage_ends + 60
                while time.monotonic() < outage_ends or (failed_once(db) < DELIVERIES and time.monotonic() < give_up):
                    waiting = max(waiting, retries_scheduled(db))
                    await asyncio.sleep(0.1)
            for rule in bad:
                recorder.rules.remove(rule)
            rows = await wait_for_jobs(db, "done", DELIVERIES, timeout=90)
        finally:
            stop(proc)
        assert statuses == {d: 202 for d in statuses}, "ingress does not need the forge"
        assert answers(comments) == Counter(dict.fromkeys(statuses, 1)), "every delivery answered exactly once"
        assert all(attempts > 1 for _, _, _, attempts, _ in rows), f"every job was retried: {rows}"
        assert waiting >= 1, "failed jobs waited for a later try (backoff) instead of being retried at once"
        tries = defaultdict(list)
        for call in recorder.calls("POST", COMMENTS):
            tries[MARKER.search(call.json["body"]).group(1)].append(call.at)
        gaps = [b - a for times in tries.values() for a, b in zip(times, times[1:])]
        assert all(gap >= MIN_BACKOFF for gap in gaps), f"a comment tried twice waited between: {sorted(gaps)}"

    async def test_retries_exhausted_dead_letters_then_cli_retry(self, recorder, tmp_path):
        """Jobs that fail every try are dead letters, listed with their error; `shipbot jobs retry` runs them once."""
        comments = fake_github(recorder)
        db, port = tmp_path / "s.db", free_port()
        env = github_env(db, recorder, SHIPBOT_MAX_ATTEMPTS="2")
        proc = start(port, env, tmp_path / "serve.log")
        deliveries = [f"doomed-{i}" for i in range(3)]
        try:
            await asyncio.to_thread(wait_ready, port, proc)
            await recorder.stop()
            async with aiohttp.ClientSession() as session:
                assert [await send(session, port, d) for d in deliveries] == [202] * 3
            rows = await wait_for_jobs(db, "dead", 3, timeout=60)
            listing = await asyncio.to_thread(shipbot, env, "jobs", "list")
            assert "dead: 3" in listing.stdout, listing.stdout + listing.stderr
            for job_id, _, _, attempts, error in rows:
                assert attempts == 2 and "could not be reached" in error
                line = next(li for li in listing.stdout.splitlines() if li.split()[0] == str(job_id))
                assert "dead" in line and f"GitHub at {recorder.url}" in line
            shown = await asyncio.to_thread(shipbot, env, "jobs", "show", str(rows[0][0]))
            assert "could not be reached" in shown.stdout, "the whole error is one command away"
            await recorder.start()
            for job_id, *_ in rows:
                retried = await asyncio.to_thread(shipbot, env, "jobs", "retry", str(job_id))
                assert retried.returncode == 0, retried.stdout + retried.stderr
            await wait_for_jobs(db, "done", 3, timeout=30)
        finally:
            stop(proc)
        assert answers(comments) == Counter(dict.fromkeys(deliveries, 1))
