"""The worker's writes to a job, built once: building and compiling one took ~0.2 ms, more than
running it, for each of the two or three writes of every job."""
from __future__ import annotations

import functools

from sqlalchemy import Float, bindparam, or_, update

from bot.store.fair_claim import RUNNING, due_parts
from bot.store.tables import jobs

STATEMENTS: set = set()  # what the two functions below built: JobQueue keeps their compiled SQL


@functools.lru_cache(maxsize=None)
def lease_statement(count: int, still_due: bool):
    """Lease `count` chosen jobs (parameters id0..idN, worker, lease_until; now when still_due)."""
    stmt = (update(jobs).where(jobs.c.id.in_([bindparam(f"id{i}") for i in range(count)]))
            .values(status=RUNNING, leased_by=bindparam("worker"), lease_until=bindparam("lease_until"),
                    attempts=jobs.c.attempts + 1)
            .returning(jobs.c.id, jobs.c.delivery_key, jobs.c.source, jobs.c.event, jobs.c.name,
                       jobs.c.repo, jobs.c.payload, jobs.c.attempts, jobs.c.progress, jobs.c.created_at))
    if still_due:
        stmt = stmt.where(or_(*due_parts(bindparam("now", type_=Float))))
    STATEMENTS.add(stmt)
    return stmt


@functools.lru_cache(maxsize=None)
def mine_statement(columns: tuple[str, ...]):
    """Set `columns` (parameters new_<column>) of a job this worker holds (job_id, worker)."""
    stmt = (update(jobs).where(jobs.c.id == bindparam("job_id"), jobs.c.leased_by == bindparam("worker"),
                               jobs.c.status == RUNNING)
            .values({column: bindparam(f"new_{column}", type_=jobs.c[column].type) for column in columns}))
    STATEMENTS.add(stmt)
    return stmt
