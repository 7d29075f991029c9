"""Operator commands: `shipbot jobs` and `shipbot audit`."""
from __future__ import annotations

import argparse
import asyncio
import re
import time
from datetime import datetime, timezone

from sqlalchemy import select

from bot.queue import DEAD, DONE, PENDING, RUNNING, JobQueue
from bot.settings import Settings
from bot.store import Database
from bot.store.tables import audit_log


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _first_line(text: str | None, width: int = 70) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


async def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    queue = JobQueue(db, max_attempts=settings.max_attempts)
    try:
        if args.action == "list":
            statuses = (PENDING, RUNNING, DEAD, DONE) if args.all else (PENDING, RUNNING, DEAD)
            rows = await queue.listing(statuses)
            counts = await queue.counts()
            print("  ".join(f"{k}: {counts[k]}" for k in (PENDING, "retrying", RUNNING, DEAD, DONE)))
            if not rows:
                print("no jobs waiting, running or dead-lettered" if not args.all else "no jobs")
            for r in rows:
                print(f"{r['id']:>6}  {r['status']:<8} tries={r['attempts']:<2} {r['name']:<32} {r['repo'] or '-':<30} "
                      f"{_first_line(r['last_error'])}")
            return 0
        if args.id is None:
            print(f"shipbot: `shipbot jobs {args.action}` needs a job id")
            return 2
        job = await queue.get(args.id)
        if job is None:
            print(f"shipbot: there is no job {args.id}")
            return 1
        if args.action == "show":
            for key in ("id", "delivery_key", "source", "event", "name", "repo", "status", "attempts",
                        "leased_by", "progress"):
                print(f"{key:>13}: {job[key]}")
            for key in ("created_at", "run_at", "lease_until", "finished_at"):
                print(f"{key:>13}: {_when(job[key])}")
            print(f"{'last_error':>13}: {job['last_error'] or '-'}")
            return 0
        if await queue.retry(args.id):
            print(f"job {args.id} is queued again; a running shipbot picks it up within seconds")
            return 0
        print(f"shipbot: job {args.id} is {job['status']}; only dead-lettered or waiting jobs can be retried")
        return 1
    finally:
        await db.dispose()


def parse_since(text: str, now: float) -> float:
    """`7d`, `12h`, `30m` ago, or an ISO date/time."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match:
        return now - int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"shipbot: --since {text!r} is neither a duration (7d, 12h) nor a date (2026-01-31)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


async def _audit(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        stmt = select(audit_log).order_by(audit_log.c.at.desc()).limit(args.limit)
        if args.repo:
            repo = args.repo if ":" in args.repo else None
            stmt = stmt.where(audit_log.c.repo == repo) if repo else stmt.where(audit_log.c.repo.like(f"%:{args.repo}"))
        if args.since:
            stmt = stmt.where(audit_log.c.at >= parse_since(args.since, time.time()))
        async with db.connect() as conn:
            rows = list((await conn.execute(stmt)).mappings())
        if not rows:
            print("no audit entries")
        for r in reversed(rows):
            print(f"{_when(r['at'])}  {r['actor'] or '-':<24} {r['decision']:<10} {r['repo'] or '-':<30} "
                  f"{r['location'] or '-':<28} {r['command'] or ''}  {_first_line(r['detail'], 80)}")
        return 0
    finally:
        await db.dispose()


def jobs_main(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_jobs(args, settings))


def audit_main(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_audit(args, settings))
