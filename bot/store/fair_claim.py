"""Choose which due jobs a worker claims next: oldest first, but fairly between repositories.

One repository that sends a thousand events (a bulk label change, a mass re-run) must not make
every other repository wait behind it. So the claim takes the oldest due job of every repository
before the second of any (round-robin, repositories in the order of their oldest job), and never
takes a repository past `per_repo` jobs running at once. Jobs without a repository (Slack
commands that name none yet) are each their own group: never capped.

It runs as a few small queries rather than one window function over every due job, which costs
hundreds of milliseconds per claim once tens of thousands of jobs wait.
"""
from __future__ import annotations

import functools

from sqlalchemy import Float, Integer, String, and_, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import jobs

PENDING, RUNNING = "pending", "running"


def due_parts(now: float):
    """Pending jobs whose time has come, and running jobs whose worker stopped renewing the lease.

    Two conditions asked separately, never OR-ed: each walks the (status, repo, run_at) index,
    where an OR makes the database read every row, done ones and their payloads included.
    """
    return (and_(jobs.c.status == PENDING, jobs.c.run_at <= now),
            and_(jobs.c.status == RUNNING, jobs.c.lease_until < now))


def quotas(waiting: list[tuple[str | None, int]], running: dict[str, int], limit: int,
           per_repo: int) -> dict[str | None, int]:
    """How many jobs to take from each repository: round-robin over `waiting` (repo, due jobs), capped.

    `waiting` is in the order repositories should be served (oldest job first); None stands for
    the jobs without a repository, which are taken before any second job of a repository.
    """
    taken: dict[str | None, int] = {}
    left = limit
    for repo, count in waiting:
        if repo is None and left:
            taken[None] = min(count, left)
            left -= taken[None]
    # Round k gives one more job to each repository with fewer than k running or taken, so a
    # repository that is busy already waits for the others to catch up.
    for level in range(1, per_repo + 1):
        for repo, count in waiting:
            if not left:
                break
            have = taken.get(repo, 0)
            if repo is not None and have < count and running.get(repo, 0) + have < level:
                taken[repo] = have + 1
                left -= 1
    return {repo: n for repo, n in taken.items() if n}


# The repositories with pending jobs, one index probe each (a "loose index scan": neither SQLite
# nor PostgreSQL skips through an index on its own, https://wiki.postgresql.org/wiki/Loose_indexscan),
# and for each its oldest due job and how many are due, counted no further than needed. A GROUP BY
# over the pending jobs reads every one of them, and a flood leaves tens of thousands waiting.
PENDING_BY_REPO = text("""
WITH RECURSIVE repos(repo) AS (
    SELECT MIN(repo) FROM jobs WHERE status = 'pending'
    UNION ALL
    SELECT (SELECT MIN(repo) FROM jobs WHERE status = 'pending' AND repo > repos.repo)
    FROM repos WHERE repos.repo IS NOT NULL
)
SELECT repo,
       (SELECT MIN(run_at) FROM jobs WHERE status = 'pending' AND repo = repos.repo AND run_at <= :now),
       (SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE status = 'pending' AND repo = repos.repo
                              AND run_at <= :now LIMIT :enough) AS due)
FROM repos WHERE repo IS NOT NULL
UNION ALL
SELECT NULL,
       (SELECT MIN(run_at) FROM jobs WHERE status = 'pending' AND repo IS NULL AND run_at <= :now),
       (SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE status = 'pending' AND repo IS NULL
                              AND run_at <= :now LIMIT :enough) AS due)
""")


_NOW = bindparam("now", type_=Float)
_REPO = bindparam("repo", type_=String)
_COUNT = bindparam("count", type_=Integer)
# Built once: building a statement costs about as much as running it on a small queue.
RUNNING_BY_REPO = (select(jobs.c.repo, func.count())
                   .where(jobs.c.status == RUNNING, jobs.c.lease_until >= _NOW, jobs.c.repo.is_not(None))
                   .group_by(jobs.c.repo))
EXPIRED_BY_REPO = (select(jobs.c.repo, func.count(), func.min(jobs.c.run_at))
                   .where(due_parts(_NOW)[1]).group_by(jobs.c.repo))


@functools.lru_cache(maxsize=None)
def _pick(part: int, without_repo: bool):
    """The first `count` due jobs of one repository (`repo`), of due_parts(now)[part]."""
    same_repo = jobs.c.repo.is_(None) if without_repo else jobs.c.repo == _REPO
    return (select(jobs.c.id).where(due_parts(_NOW)[part], same_repo).order_by(jobs.c.run_at, jobs.c.id)
            .limit(_COUNT).with_for_update(skip_locked=True))


async def fair_claim_ids(conn: AsyncConnection, now: float, limit: int, per_repo: int) -> list[int]:
    """The ids of up to `limit` due jobs to lease now, fairly per repository, locked on PostgreSQL."""
    running = dict((await conn.execute(RUNNING_BY_REPO, {"now": now})).all())
    counts: dict[str | None, int] = {}
    oldest: dict[str | None, float] = {}
    # quotas() never takes more than `limit` from a repository, nor more than per_repo once.
    found = (await conn.execute(PENDING_BY_REPO, {"now": now, "enough": max(limit, per_repo)})).all()
    expired = (await conn.execute(EXPIRED_BY_REPO, {"now": now})).all()
    for repo, at, count in [*found, *((repo, at, count) for repo, count, at in expired)]:
        if count:
            counts[repo] = counts.get(repo, 0) + count
            oldest[repo] = min(at, oldest.get(repo, at))
    waiting = sorted(counts.items(), key=lambda item: oldest[item[0]])
    wanted = quotas(waiting, running, limit, per_repo)
    if not wanted:
        return []
    # One small query per repository: FOR UPDATE SKIP LOCKED (PostgreSQL) cannot lock through a
    # UNION, and per repository it passes over jobs another replica is claiming to the next ones.
    chosen: list[int] = []
    for repo, n in wanted.items():
        for part in range(2):
            if n <= 0:
                break
            found = (await conn.execute(_pick(part, repo is None), {"now": now, "repo": repo, "count": n})).scalars().all()
            chosen += found
            n -= len(found)
    return chosen
