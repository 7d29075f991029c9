"""Named mutexes in the database, so replicas serialize work on the same PR, branch or environment."""
from __future__ import annotations

import asyncio
import random
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.errors import TransientError
from bot.store import Database
from bot.store.tables import mutexes


class Busy(TransientError):
    """Someone else held the mutex for longer than we were willing to wait: retry the job later."""


async def try_acquire(db: Database, key: str, holder: str, ttl: float) -> bool:
    """Take the mutex if it is free or its holder's time ran out."""
    now = time.time()
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(mutexes)
    stmt = (insert.values(key=key, holder=holder, expires_at=now + ttl)
            .on_conflict_do_update(index_elements=["key"], set_={"holder": holder, "expires_at": now + ttl},
                                   where=mutexes.c.expires_at < now)
            .returning(mutexes.c.holder))
    async with db.begin() as conn:
        return (await conn.execute(stmt)).first() is not None


@asynccontextmanager
async def held(db: Database, key: str, holder: str, *, ttl: float = 120.0, wait: float = 30.0) -> AsyncIterator[None]:
    """`async with held(db, "test-report:github:o/r#12", worker): …` — waits up to `wait` seconds.

    The ttl bounds how long a crashed holder blocks others; work inside must finish well within it.
    """
    deadline = time.monotonic() + wait
    pause = 0.01
    while not await try_acquire(db, key, holder, ttl):
        if time.monotonic() >= deadline:
            raise Busy(f"another worker is busy with {key}; will retry", retry_after=5)
        await asyncio.sleep(pause * (1 + random.random()))
        pause = min(pause * 2, 0.5)
    try:
        yield
    finally:
        async with db.begin() as conn:
            await conn.execute(delete(mutexes).where(mutexes.c.key == key, mutexes.c.holder == holder))


async def extend(db: Database, key: str, holder: str, ttl: float) -> bool:
    async with db.begin() as conn:
        result = await conn.execute(update(mutexes).where(mutexes.c.key == key, mutexes.c.holder == holder)
                                    .values(expires_at=time.time() + ttl))
        return result.rowcount == 1
