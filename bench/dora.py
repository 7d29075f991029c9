"""Time the DORA reports on a busy history: what a /metrics scrape and a `/shipbot dora` cost.

    python bench/dora.py                          # 20 repositories, 3 environments, 4 deploys a day, 120 days
    python bench/dora.py --repos 50 --per-day 8
    python bench/dora.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_dora

Deploys get a realistic mix (about 1 in 12 fails, 1 in 40 is rolled back, hotfix branches now and
then) and each production success ships 1-6 commits. The table shows the median wall time of
dora_totals (every window, every repository: the /metrics scrape, which must stay well under its
5-second bound) and of dora_report for one repository over 90 days, and the process's peak RSS.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.dora import dora_report, dora_totals  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import open_database  # noqa: E402
from bot.store.tables import deployments, dora_changes  # noqa: E402

DAY = 86400.0


def history(repos: int, per_day: int, days: int, now: float, seed: int = 7) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    deploys: list[dict] = []
    changes: list[dict] = []
    next_id = 1
    for r in range(repos):
        repo = f"github:bench/service-{r}"
        for env in ("production", "staging", "qa"):
            t = now - days * DAY
            last_good: int | None = None
            while t < now:
                t += rng.expovariate(per_day / DAY)
                status = "failure" if rng.random() < 1 / 12 else "success"
                rollback_of = last_good if last_good and rng.random() < 1 / 40 else None
                ref = f"hotfix/{next_id}" if rng.random() < 1 / 30 else "main"
                deploys.append(dict(id=next_id, request_id=f"{next_id:032x}", repo=repo, environment=env, ref=ref,
                                    sha=f"{next_id:040x}", requested_by="github:bench", source="github",
                                    status=status, rollback_of=rollback_of, created_at=t - 300, updated_at=t,
                                    finished_at=t))
                if status == "success" and env == "production" and rollback_of is None:
                    for c in range(rng.randint(1, 6)):
                        changes.append(dict(deployment_id=next_id, sha=f"{next_id:034x}{c:06x}",
                                            committed_at=t - rng.expovariate(1 / (2 * DAY))))
                    last_good = next_id
                next_id += 1
    return deploys, changes


async def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--per-day", type=float, default=4.0)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="an empty database to fill (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        db = await open_database(url)
        now = time.time()
        deploys, changes = history(args.repos, args.per_day, args.days, now)
        async with db.begin() as conn:
            for i in range(0, len(deploys), 5000):
                await conn.execute(deployments.insert(), deploys[i:i + 5000])
            for i in range(0, len(changes), 5000):
                await conn.execute(dora_changes.insert(), changes[i:i + 5000])
        svc = build_services(Settings(database_url=url), db)
        totals = await timed(lambda: dora_totals(svc, now=now), args.repeat)
        one = await timed(lambda: dora_report(svc, window_days=90, repo="github:bench/service-0", now=now),
                          args.repeat)
        pooled = (await dora_totals(svc, now=now))[30]
        await db.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{db.dialect}: {len(deploys):,} deploys, {len(changes):,} shipped commits, {args.repos} repositories")
    print(f"{'dora_totals (all windows, /metrics)':<42} {totals * 1000:8.0f} ms   target < 5000 ms")
    print(f"{'dora_report (one repository, 90 days)':<42} {one * 1000:8.0f} ms")
    print(f"{'peak RSS':<42} {rss_mb:8.0f} MB")
    print(f"30 days pooled: {pooled.deployment_frequency_per_week:.1f} deploys/week, lead time median "
          f"{pooled.lead_time_median_s / 3600:.1f} h, change failure rate {pooled.change_failure_rate:.0%}, "
          f"time to restore median {pooled.time_to_restore_median_s / 3600:.1f} h")


if __name__ == "__main__":
    asyncio.run(main())
