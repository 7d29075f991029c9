"""Write accepted deliveries to SQLite from one dedicated thread, with the stdlib driver.

The ingest path is the one place where per-statement overhead shows: acknowledging a webhook
waits for its row to be committed. A plain sqlite3 connection in a thread of its own commits a
batch in a fraction of a millisecond; the async engine stays for everything else. Both use WAL,
so readers never wait, and writers take turns on SQLite's lock (busy_timeout).
"""
from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from bot.store.payloads import pack

INSERT = ("INSERT OR IGNORE INTO jobs (delivery_key, source, event, name, repo, payload, status, attempts, run_at,"
          " created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)")


class SqliteBatchWriter:
    """Insert batches of jobs (payloads as received, stored packed); returns the delivery keys that were new."""

    def __init__(self, path: str, checkpoint_every: float = 1.0) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipbot-ingest")
        self._conn: sqlite3.Connection | None = None
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, args=(checkpoint_every,),
                                              name="shipbot-checkpoint", daemon=True)
        self._checkpointer.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (copying the WAL into the database, with an fsync) run in a thread of their
        # own, not in the commit an acknowledgement waits for: https://www.sqlite.org/wal.html#ckpt
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    def _checkpoint_loop(self, every: float) -> None:
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

    def _insert(self, rows: Sequence[tuple]) -> set[str]:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            new = set()
            for row in rows:
                row = (*row[:5], pack(row[5]), *row[6:])  # here, off the event loop
                if conn.execute(INSERT, row).rowcount == 1:
                    new.add(row[0])
            conn.execute("COMMIT")
            return new
        except Exception:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            conn.close()
            self._conn = None
            raise

    async def insert(self, rows: Sequence[tuple]) -> set[str]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._insert, rows)

    def close(self) -> None:
        self._stop.set()

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        self._pool.submit(shut).result()
        self._pool.shutdown(wait=True)
