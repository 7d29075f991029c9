"""The migrations and the table definitions the code queries agree; named mutexes work on both backends."""
from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store.mutex import Busy, held, try_acquire
from bot.store.tables import metadata


class TestSchema:
    async def test_migrated_schema_matches_tables(self, db):
        """After `shipbot migrate` the database has exactly the tables, columns and indexes in tables.py."""
        async with db.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
        assert diff == []


class TestMutex:
    async def test_one_holder_at_a_time(self, db):
        """Concurrent holders of one key run one after the other."""
        inside, peak = 0, 0

        async def work(name: str) -> None:
            nonlocal inside, peak
            async with held(db, "pr:github:o/r#1", name):
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.02)
                inside -= 1

        await asyncio.gather(*(work(f"w{i}") for i in range(5)))
        assert peak == 1

    async def test_expired_holder_is_replaced_and_waiting_is_bounded(self, db):
        """A crashed holder's mutex frees itself after its ttl; a live one makes others give up with Busy."""
        assert await try_acquire(db, "k", "crashed", ttl=0.05)
        await asyncio.sleep(0.1)
        assert await try_acquire(db, "k", "next", ttl=60)
        with pytest.raises(Busy):
            async with held(db, "k", "third", wait=0.2):
                pass


class TestHead:
    def test_head_without_alembic_matches_alembic(self):
        """The start-up shortcut finds the same head revision Alembic does."""
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        from bot.store import MIGRATIONS, head_revision

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()
