"""PostgreSQL stopped and started again while deliveries pour in (a private cluster, never the shared one)."""
from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter

import aiohttp
import asyncpg
import pytest

from tests.peers import slack_headers, slash_command_body
from tests.system.github_peer import SECRET, answers, fake_github, comment_delivery
from tests.system.pgcluster import Cluster, pg_bin
from tests.system.procs import ROOT, SHIPBOT, clean_env, free_port, start, stop, wait_ready

DOWN_SECONDS = 3.0
PACE = 0.05  # seconds between deliveries
REQUEST_BOUND = 15.0  # no request may take longer, database down or not
TIMED_OUT = -1


async def send(session: aiohttp.ClientSession, port: int, delivery: str) -> int:
    body, headers = comment_delivery(delivery)
    try:
        async with session.post(f"http://127.0.0.1:{port}/webhooks/github", data=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=REQUEST_BOUND)) as resp:
            return resp.status
    except asyncio.TimeoutError:
        return TIMED_OUT


async def slash_command(session: aiohttp.ClientSession, port: int, response_url: str) -> int:
    body = slash_command_body("/shipbot", "help", response_url=response_url)
    async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=slack_headers(body, SECRET),
                            timeout=aiohttp.ClientTimeout(total=REQUEST_BOUND)) as resp:
        return resp.status


async def readiness(session: aiohttp.ClientSession, port: int) -> int:
    async with session.get(f"http://127.0.0.1:{port}/readyz", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        return resp.status


@pytest.fixture
def cluster():
    binaries = pg_bin()
    if binaries is None:
        pytest.skip("PostgreSQL's initdb is not installed (looked in /usr/lib/postgresql/*/bin and on PATH)")
    made = Cluster(binaries)
    try:
        made.init()
        made.start()
        yield made
    finally:
        made.destroy()


@pytest.mark.system
class TestPostgresRestart:
    async def test_restart_under_load(self, cluster, recorder, tmp_path):
        """Every delivery gets 202 or 503, /readyz follows the database, and every 202 is answered once."""
        comments = fake_github(recorder, delay=0.5)  # jobs are running when the database goes
        env = clean_env(SHIPBOT_DATABASE_URL=cluster.url, GITHUB_WEBHOOK_SECRET=SECRET,
                        GITHUB_TOKEN="ghp_faults", GITHUB_API_URL=recorder.url, SLACK_SIGNING_SECRET=SECRET,
                        SLACK_API_URL=recorder.url + "/api")
        recorder.on("POST", "/commands/.*", body=b"ok")  # where Slack's response_url points here
        migrated = subprocess.run([*SHIPBOT, "migrate"], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=60)
        assert migrated.returncode == 0, migrated.stderr
        port = free_port()
        proc = start(port, env, tmp_path / "serve.log")
        statuses: dict[str, int] = {}
        try:
            await asyncio.to_thread(wait_ready, port, proc)
            async with aiohttp.ClientSession() as session:
                done = asyncio.Event()

                async def load() -> None:
                    while not done.is_set():
                        delivery = f"load-{len(statuses)}"
                        statuses[delivery] = await send(session, port, delivery)
                        await asyncio.sleep(PACE)

                loader = asyncio.create_task(load())
                await asyncio.sleep(1.0)
                await asyncio.to_thread(cluster.stop, "fast")
                down_until, ready_while_down = time.monotonic() + DOWN_SECONDS, []
                slack_while_down = await slash_command(session, port, recorder.url + "/commands/T1/1/a")
                while time.monotonic() < down_until:
                    ready_while_down.append(await readiness(session, port))
                    await asyncio.sleep(0.3)
                await asyncio.to_thread(cluster.start)
                deadline, ready_after = time.monotonic() + 30, None
                while ready_after != 200 and time.monotonic() < deadline:
                    ready_after = await readiness(session, port)
                    await asyncio.sleep(0.1)
                slack_after = await slash_command(session, port, recorder.url + "/commands/T1/2/b")
                await asyncio.sleep(1.0)
                done.set()
                await loader
                # The senders deliver again what was refused, as GitHub's redelivery would.
                redelivered = {d: await send(session, port, d) for d, s in statuses.items() if s == 503}
            accepted = {d for d, s in statuses.items() if s == 202} | {d for d, s in redelivered.items() if s == 202}
            conn = await asyncpg.connect(cluster.url)
            try:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    done_count, not_done = await conn.fetchrow(
                        "SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status <> 'done') "
                        "FROM jobs")
                    if done_count >= len(accepted) and not not_done:
                        break
                    await asyncio.sleep(0.2)
                rows = await conn.fetch("SELECT delivery_key, status FROM jobs")
                jobs = {r["delivery_key"]: r["status"] for r in rows}
            finally:
                await conn.close()
        finally:
            stop(proc)
        codes = Counter(statuses.values())
        assert set(codes) <= {202, 503}, f"only 202 or 503, never an error or a hang: {codes}"
        assert codes[503] >= 1 and codes[202] >= 1, f"some refused while the database was down: {codes}"
        assert set(redelivered.values()) <= {202}, f"redeliveries after recovery are accepted: {redelivered}"
        assert ready_while_down and set(ready_while_down) == {503}, f"/readyz while down: {ready_while_down}"
        assert ready_after == 200
        assert (slack_while_down, slack_after) == (503, 200), "Slack is told too, then acknowledged"
        assert {f"github:{d}" for d in accepted} <= set(jobs), "every acknowledged delivery is stored"
        assert set(jobs.values()) == {"done"}, f"every stored job ran: {Counter(jobs.values())}"
        assert answers(comments) == Counter(dict.fromkeys(accepted, 1)), "each answered exactly once"
