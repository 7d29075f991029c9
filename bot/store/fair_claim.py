"""Choose which due jobs a worker claims next: oldest first, but fairly between repositories.

One repository that sends a thousand events (a bulk label change, a mass re-run) must not make
every other repository wait behind it. So the due jobs of each repository are ranked by age
and the claim takes rank 1 of every repository before rank 2 of any (round-robin), and never
takes a repository past `per_repo` jobs running at once. Jobs without a repository (Slack
commands that name none yet) are each their own group: never capped, and ranked first.
"""
from __future__ import annotations

from sqlalchemy import Select, String, and_, cast, func, or_, select

from bot.store.tables import jobs

PENDING, RUNNING = "pending", "running"


def due_jobs(now: float):
    """Pending jobs whose time has come, and running jobs whose worker stopped renewing the lease."""
    return or_(and_(jobs.c.status == PENDING, jobs.c.run_at <= now),
               and_(jobs.c.status == RUNNING, jobs.c.lease_until < now))


def fair_claim_ids(now: float, limit: int, per_repo: int) -> Select:
    """The ids of up to `limit` due jobs to lease now, locked (PostgreSQL) and skipping locked ones."""
    running = (select(jobs.c.repo, func.count().label("n"))
               .where(jobs.c.status == RUNNING, jobs.c.lease_until >= now, jobs.c.repo.is_not(None))
               .group_by(jobs.c.repo).subquery("running"))
    group = func.coalesce(jobs.c.repo, cast(jobs.c.id, String))
    ranked = (select(jobs.c.id, jobs.c.repo,
                     func.row_number().over(partition_by=group, order_by=(jobs.c.run_at, jobs.c.id)).label("rank"))
              .where(due_jobs(now)).subquery("ranked"))
    busy = func.coalesce(running.c.n, 0)
    # FOR UPDATE OF jobs: only the rows of the outer query are locked; window functions are
    # not allowed at the level that locks (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
    return (select(jobs.c.id)
            .join(ranked, ranked.c.id == jobs.c.id)
            .outerjoin(running, running.c.repo == ranked.c.repo)
            .where(due_jobs(now), ranked.c.rank + busy <= per_repo)
            .order_by(ranked.c.rank + busy, jobs.c.run_at, jobs.c.id)
            .limit(limit)
            .with_for_update(of=jobs, skip_locked=True))
