"""Write accepted deliveries to SQLite with the stdlib driver, in the event loop or in a thread of its own.

The ingest path is the one place where per-statement overhead shows: acknowledging a webhook
waits for its row to be committed. A plain sqlite3 connection commits a batch in a fraction of a
millisecond; the async engine stays for everything else. Both use WAL, so readers never wait,
and writers take turns on SQLite's lock.

A small batch is written right in the event loop when the write lock is free at once: handing it
to a thread and back costs more CPU (two thread switches and a wake-up of the loop) than the
write itself. When another connection (the worker, the CLI, another process) holds the lock, or
the batch is large, the dedicated thread writes it, waiting up to the busy timeout if need be.
"""
from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

from bot.store import WAL_KEEP_BYTES
from bot.store.payloads import pack

T = TypeVar("T")
IN_LOOP_ROWS = 64  # bigger batches go to the thread, so the loop never stalls for more than ~3 ms
INSERT = ("INSERT OR IGNORE INTO jobs (delivery_key, source, event, name, repo, payload, status, attempts, run_at,"
          " created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)")


def _busy(exc: Exception) -> bool:
    """Another connection holds the lock: https://www.sqlite.org/rescode.html#busy"""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteBatchWriter:
    """Insert batches of jobs (payloads as received, stored packed); returns the delivery keys that were new."""

    def __init__(self, path: str, checkpoint_every: float = 1.0) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipbot-ingest")
        # One connection per side, so a batch the loop gave up on can wait in the thread.
        self._conns: dict[str, sqlite3.Connection] = {}
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, args=(checkpoint_every,),
                                              name="shipbot-checkpoint", daemon=True)
        self._checkpointer.start()

    def _connect(self, timeout: float) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=timeout, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (copying the WAL into the database, with an fsync) run in a thread of their
        # own, not in the commit an acknowledgement waits for: https://www.sqlite.org/wal.html#ckpt
        conn.execute("PRAGMA wal_autocheckpoint=0")
        # Under a flood the WAL cannot rewind (writes never pause), so it grows by tens of MB a second;
        # once it has been copied and rewinds, the file is cut back instead of keeping its peak size.
        conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        return conn

    def _checkpoint_loop(self, every: float) -> None:
        # Copying a second of deliveries into the database takes milliseconds of CPU; at the lowest
        # priority it runs while the event loop waits instead of delaying acknowledgements. On Linux
        # a thread has its own nice value: https://man7.org/linux/man-pages/man2/setpriority.2.html#BUGS
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        conn: sqlite3.Connection | None = None
        while not self._stop.wait(every):
            try:
                conn = conn or sqlite3.connect(self.path, isolation_level=None, timeout=5)
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # never waits for, nor blocks, writers
            except sqlite3.Error:
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _transaction(self, work: Callable[[sqlite3.Connection], T], side: str) -> T:
        """Run `work` in one write transaction on this side's connection."""
        conn = self._conns.get(side)
        if conn is None:
            # The loop's connection never waits for the lock: the thread's waits up to 30 s.
            conn = self._conns[side] = self._connect(0 if side == "loop" else 30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = work(conn)
            conn.execute("COMMIT")
            return result
        except Exception as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if not _busy(exc):  # a fresh connection next time, in case this one is broken
                conn.close()
                del self._conns[side]
            raise

    async def _write(self, work: Callable[[sqlite3.Connection], T], in_loop: bool = True) -> T:
        """In the loop when the lock is free at once, else in the thread, waiting for the lock."""
        if in_loop:
            try:
                return self._transaction(work, "loop")
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._transaction, work, "thread")

    async def insert(self, rows: Sequence[tuple]) -> set[str]:
        """Commit the rows (one transaction); returns the delivery keys that were new."""
        def work(conn: sqlite3.Connection) -> set[str]:
            new = set()
            for row in rows:
                row = (*row[:5], pack(row[5]), *row[6:])
                if conn.execute(INSERT, row).rowcount == 1:
                    new.add(row[0])
            return new
        return await self._write(work, len(rows) <= IN_LOOP_ROWS)

    async def execute(self, sql: str, params: Sequence) -> tuple[list[tuple], int]:
        """One statement in its own transaction: (rows it returned, rows it changed).

        The worker's updates (claim, lease, outcome) come here too. Through the async engine each
        holds SQLite's write lock across several turns of a busy event loop, and every
        acknowledgement waits behind it; here the lock is held for the statement alone.
        """
        def work(conn: sqlite3.Connection) -> tuple[list[tuple], int]:
            cursor = conn.execute(sql, params)
            return cursor.fetchall(), cursor.rowcount
        return await self._write(work)

    def close(self) -> None:
        self._stop.set()

        def shut() -> None:
            for conn in self._conns.values():
                conn.close()
            self._conns.clear()
        self._pool.submit(shut).result()
        self._pool.shutdown(wait=True)
