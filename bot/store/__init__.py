"""Open the database (SQLite by default, PostgreSQL for replicas) and migrate it."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; every replica must use the same one.
MIGRATION_LOCK_KEY = 0x5_41_1B_07
# Seconds to wait for a new PostgreSQL connection (asyncpg waits 60 by default). A host that
# swallows packets then costs a 503 within GitHub's 10 s webhook timeout, not a hung request.
CONNECT_TIMEOUT = 5.0
# SQLite: after a flood has grown the WAL and it rewinds, the file is cut back to this size.
WAL_KEEP_BYTES = 64 * 1024 * 1024


class Database:
    """One async engine for the process, with the settings each backend needs."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # One connection: writes are serialized in-process instead of spinning on SQLite's
            # busy lock; other processes (the CLI) wait up to the busy timeout.
            self.engine: AsyncEngine = create_async_engine(
                url, pool_size=1, max_overflow=0, pool_timeout=60, connect_args={"timeout": 30})
            _configure_sqlite(self.engine.sync_engine)
            self._reader = self.engine.execution_options(shipbot_reads_only=True)
        else:
            self.engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800,
                connect_args={"timeout": CONNECT_TIMEOUT})
            self._reader = self.engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def begin(self):
        """A transaction: `async with db.begin() as conn: …`."""
        return self.engine.begin()

    def connect(self):
        """For reading: on SQLite its transaction does not take the write lock (see "begin" below)."""
        return self._reader.connect()

    async def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrate(self) -> list[str]:
        """Bring the schema up to date; safe when several replicas run it at once."""
        if await self._at_head():
            return []  # the common start-up: no need to load Alembic at all
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # Held until commit; a second replica waits, then finds nothing to do.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            return await conn.run_sync(_upgrade)

    async def _at_head(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        except Exception:  # no table yet (or no database): let the real migration say what is wrong
            return False
        return current == [head_revision()]

    async def dispose(self) -> None:
        await self.engine.dispose()


def head_revision() -> str:
    """The newest migration, read from the files without importing Alembic."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        rev = re.search(r'^revision = "([^"]+)"', source, re.M)
        down = re.search(r'^down_revision = "([^"]+)"', source, re.M)
        if rev:
            revisions.add(rev.group(1))
        if down:
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"migrations must form one line; heads: {sorted(heads)}")
    return heads.pop()


def _upgrade(sync_conn) -> list[str]:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    before = MigrationContext.configure(sync_conn).get_current_revision()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")
    after = MigrationContext.configure(sync_conn).get_current_revision()
    return [] if before == after else [f"{before or 'empty'} -> {after}"]


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # WAL: readers never block the writer. NORMAL survives a process crash (kill -9);
        # a power loss may drop the last commits, which is what PostgreSQL is for.
        # https://www.sqlite.org/pragma.html#pragma_synchronous
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")  # see sqlite_writer.py
        cur.close()

    @event.listens_for(engine, "begin")
    def begin_immediate(conn):
        # Take the write lock at BEGIN: a deferred transaction that later writes can fail with
        # SQLITE_BUSY at once instead of waiting (https://www.sqlite.org/lang_transaction.html).
        # Database.connect() is for reads; holding the write lock there would stall every
        # acknowledgement (bot/store/sqlite_writer.py) for as long as the read takes.
        reads_only = conn.get_execution_options().get("shipbot_reads_only")
        conn.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


async def open_database(url: str) -> Database:
    """Open and migrate; used by `shipbot serve` and the tests."""
    db = Database(url)
    await db.migrate()
    return db


__all__ = ["Database", "open_database"]
