"""Benchmark the fair claim: milliseconds per claim while many jobs wait, on SQLite (and PostgreSQL if up).

One noisy repository has most of the waiting jobs, 49 others share the rest; each claim takes one
job and leaves it running, as a worker does. Prints the mean and worst claim time per backlog size.

    .venv/bin/python bench/claim.py [--backlog 1000,20000] [--claims 50] [--postgres]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.queue import JobQueue, NewJob  # noqa: E402
from bot.store import open_database  # noqa: E402


async def measure(url: str, backlog: int, claims: int) -> tuple[float, float]:
    db = await open_database(url)
    queue = JobQueue(db)
    for start in range(0, backlog, 500):
        await asyncio.gather(*(queue.enqueue(NewJob(
            f"github:b{i}", "github", "push", "push", "github:noisy/a" if i % 5 else f"github:o/r{i % 49}", b"{}"))
            for i in range(start, min(backlog, start + 500))))
    times = []
    for _ in range(claims):
        started = time.perf_counter()
        await queue.claim("bench", 1)
        times.append((time.perf_counter() - started) * 1000)
    await queue.close()
    await db.dispose()
    return statistics.mean(times), max(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", default="1000,20000")
    parser.add_argument("--claims", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="also on the machine's PostgreSQL")
    args = parser.parse_args()
    for backlog in map(int, args.backlog.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            mean, worst = await measure(f"sqlite+aiosqlite:///{folder}/bench.db", backlog, args.claims)
        print(f"sqlite      {backlog:>7} waiting: claim mean {mean:6.2f} ms, worst {worst:6.2f} ms")
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.conftest import create_pg_database, drop_pg_database

            url = await create_pg_database()
            try:
                mean, worst = await measure(url.replace("postgresql://", "postgresql+asyncpg://", 1), backlog,
                                            args.claims)
            finally:
                await drop_pg_database(url)
            print(f"postgresql  {backlog:>7} waiting: claim mean {mean:6.2f} ms, worst {worst:6.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
