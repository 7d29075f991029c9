"""Replica scaling: one against two `shipbot serve` processes sharing a PostgreSQL database.

Each setup gets a fresh database on 127.0.0.1:5432 (dropped afterwards). Signed
`pull_request.opened` deliveries are posted with the requests alternating between the replicas'
ports; then, with no more load, the jobs the deliveries left behind are run by the replicas'
workers and counted per second. Each repeat runs both setups afresh, one after the other. The
jobs read `.shipbot.yml` from a local stand-in for the GitHub API that answers 404 (no config:
nothing more to do), so a job costs the queue and one API call.

    .venv/bin/python bench/replicas.py [--seconds 5] [--repeats 3] [--concurrency 8,64]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import ROOT, SECRET, Server, example_body  # noqa: E402

PG_ADMIN_DSN = os.environ.get("SHIPBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def create_database() -> str:
    name = f"shipbot_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


async def drop_database(url: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


async def github_stand_in() -> tuple[web.AppRunner, str]:
    """Answers every API call with 404, as GitHub does for a repository without `.shipbot.yml`."""
    async def not_found(request: web.Request) -> web.Response:
        return web.json_response({"message": "Not Found"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class Replica(Server):
    """A server the scheduler may put on any CPU: two replicas pinned to one CPU could not scale."""

    def start(self) -> None:
        cmd = [c.replace("{port}", str(self.port)) for c in self.cmd]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)


# Deliveries come from this many repositories, as several teams' traffic does: the fair claim runs
# at most SHIPBOT_JOBS_PER_REPO jobs of one repository at once, across every replica.
REPOSITORIES = 16


def per_repository(body: bytes) -> list[tuple[bytes, str]]:
    """The same delivery from REPOSITORIES repositories, each with its signature."""
    signed = []
    for i in range(REPOSITORIES):
        payload = json.loads(body)
        payload["repository"].update(id=900000 + i, name=f"repo-{i}", full_name=f"bench/repo-{i}")
        data = json.dumps(payload).encode()
        signed.append((data, "sha256=" + hmac.new(SECRET.encode(), data, hashlib.sha256).hexdigest()))
    return signed


async def spread_load(servers: list[Server], body: bytes, concurrency: int, seconds: float) -> dict:
    """Like ingest.load, with consecutive requests going to the next replica and repository."""
    bodies = per_repository(body)
    urls = [f"http://127.0.0.1:{server.port}/webhooks/github" for server in servers]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.monotonic() + seconds
    sent = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while time.monotonic() < stop_at:
            url, (data, signature), sent = urls[sent % len(urls)], bodies[sent % len(bodies)], sent + 1
            headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
                       "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
            started = time.perf_counter()
            async with session.post(url, data=data, headers=headers) as resp:
                await resp.read()
            latencies.append(time.perf_counter() - started)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1

    async def sample_rss() -> None:
        while time.monotonic() < stop_at:
            for server in servers:
                server.rss()
            await asyncio.sleep(0.1)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        began = time.monotonic()
        await asyncio.gather(sample_rss(), *(client(session) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p99": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000,
            "n": len(latencies), "statuses": {str(k): v for k, v in statuses.items()}}


async def finished_jobs(conn: asyncpg.Connection) -> tuple[int, int]:
    """(jobs run at least once and not running now, jobs still waiting for their first run)."""
    row = await conn.fetchrow("select count(*) filter (where attempts > 0 and status <> 'running'),"
                              " count(*) filter (where attempts = 0) from jobs")
    return row[0], row[1]


async def drain_rate(url: str, limit: float) -> float:
    """Jobs finished per second by the workers until no job waits for its first run (or `limit` s)."""
    conn = await asyncpg.connect(url)
    try:
        done_before, _ = await finished_jobs(conn)
        began = time.monotonic()
        while True:
            await asyncio.sleep(0.1)
            done, waiting = await finished_jobs(conn)
            if waiting == 0 or time.monotonic() - began >= limit:
                return (done - done_before) / (time.monotonic() - began)
    finally:
        await conn.close()


async def one_setup(replicas: int, body: bytes, concurrencies: list[int], seconds: float, api_url: str,
                    into: dict) -> None:
    """Start `replicas` processes on a fresh database, load them, let them drain; add the figures to `into`."""
    url = await create_database()
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("SHIPBOT_", "GITHUB_", "GITLAB_", "SLACK_", "DATABASE_URL"))}
    env = dict(base_env, SHIPBOT_DATABASE_URL=url, GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_TOKEN="bench-token",
               GITHUB_API_URL=api_url)
    servers = [Replica(f"replica{i}", [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
                                       "--port", "{port}"], env, "/readyz") for i in range(replicas)]
    try:
        for server in servers:  # one at a time: the first one creates the schema
            server.start()
            await server.wait_ready()
        await spread_load(servers, body, 8, 1.0)  # warm-up, not reported
        for c in concurrencies:
            point = await spread_load(servers, body, c, seconds)
            for key in ("rps", "p99", "statuses"):
                into["points"][str(c)][key].append(point[key])
        into["jobs_per_s"].append(await drain_rate(url, limit=max(12 * seconds, 10)))
        into["peak_rss"].append(sum(server.peak_rss for server in servers))
    finally:
        for server in servers:
            server.stop()
        await drop_database(url)


async def run(seconds: float = 5.0, repeats: int = 3, concurrencies: tuple[int, ...] = (8, 64)) -> dict:
    """Figures for one and for two replicas, keyed "1" and "2"; the setups take turns in each repeat."""
    body = example_body("pull_request", "opened")
    setups = {str(n): {"points": {str(c): {"rps": [], "p99": [], "statuses": []} for c in concurrencies},
                       "jobs_per_s": [], "peak_rss": []} for n in (1, 2)}
    runner, api_url = await github_stand_in()
    try:
        for _ in range(repeats):
            for n, into in setups.items():
                await one_setup(int(n), body, list(concurrencies), seconds, api_url, into)
    finally:
        await runner.cleanup()
    return {"seconds": seconds, "repeats": repeats, "concurrency": list(concurrencies), "setups": setups}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", default="8,64")
    args = parser.parse_args()
    figures = asyncio.run(run(args.seconds, args.repeats, tuple(int(c) for c in args.concurrency.split(","))))
    print(json.dumps(figures, indent=1))
    one, two = figures["setups"]["1"], figures["setups"]["2"]
    for c in figures["concurrency"]:
        rps = statistics.median(two["points"][str(c)]["rps"]) / statistics.median(one["points"][str(c)]["rps"])
        p99 = statistics.median(two["points"][str(c)]["p99"]) / statistics.median(one["points"][str(c)]["p99"])
        print(f"c={c}: 2 replicas / 1: req/s {rps:.2f}x, p99 {p99:.2f}x")
    jobs = statistics.median(two["jobs_per_s"]) / statistics.median(one["jobs_per_s"])
    print(f"jobs finished per second, 2 replicas / 1: {jobs:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
