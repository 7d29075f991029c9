"""Benchmark the board's data: how long one `/api/board` snapshot takes as history grows.

Fills a fresh SQLite database with REPOS repositories x 3 environments and DEPLOYS deploys per
environment (plus one lock each), then times `board_snapshot` (what every board refresh runs) and
prints the median and p95 over a number of rounds, and the document's size.

    .venv/bin/python bench/board.py [--repos 20] [--deploys 500] [--rounds 30]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.board.data import board_snapshot  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import open_database  # noqa: E402
from bot.store.tables import deployments, locks  # noqa: E402

ENVIRONMENTS = ("staging", "qa", "production")


async def fill(db, repos: int, per_env: int, now: float) -> None:
    rows, held = [], []
    for r in range(repos):
        repo = f"github:bench/repo{r}"
        for env in ENVIRONMENTS:
            for n in range(per_env):
                start = now - (per_env - n) * 3600
                rows.append(dict(request_id=f"{repo}-{env}-{n}", repo=repo, environment=env, ref="main",
                                 sha=f"{n:040x}", requested_by="slack:U1", source="slack",
                                 status="failure" if n % 9 == 0 else "success", created_at=start,
                                 updated_at=start + 60, finished_at=start + 60))
            held.append(dict(repo=repo, environment=env, owner="slack:U2", reason="bench", created_at=now,
                             expires_at=now + 3600))
    async with db.begin() as conn:
        await conn.execute(insert(deployments), rows)
        await conn.execute(insert(locks), held)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        db = await open_database(url)
        try:
            now = time.time()
            await fill(db, args.repos, args.deploys, now)
            svc = build_services(Settings(database_url=url), db)
            timings = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                doc = await board_snapshot(svc)
                timings.append(time.perf_counter() - started)
            size = len(json.dumps(doc))
            await svc.queue.close()
        finally:
            await db.dispose()
    timings.sort()
    total = args.repos * len(ENVIRONMENTS) * args.deploys
    print(f"board snapshot, SQLite, {args.repos} repositories x {len(ENVIRONMENTS)} environments, "
          f"{total} deploys in all")
    print(f"  median {statistics.median(timings) * 1000:.1f} ms, p95 "
          f"{timings[int(0.95 * (len(timings) - 1))] * 1000:.1f} ms over {args.rounds} rounds; "
          f"document {size / 1024:.0f} KiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--deploys", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args()))
