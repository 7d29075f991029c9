"""Add and remove the board's sample records (`shipbot sample-data`), so a new user sees what it shows.

Every sample row is marked twice, so `--remove` deletes exactly these and nothing a real repository
wrote: the repository is one of SAMPLE_REPOS (under `example/`), and deploys carry a `sample-`
request id, releases `released_by = sample-data`, the lock a reason starting with `[sample data]`.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import time

from sqlalchemy import delete, func, insert, select

from bot.store.tables import active_deploys, audit_log, deployments, dora_changes, jobs, locks, releases

SAMPLE_REPOS = ("github:example/webshop", "gitlab:example/platform/api")
REQUEST_PREFIX = "sample-"
SAMPLE_ACTOR = "sample-data"
LOCK_REASON_PREFIX = "[sample data]"
DAY = 86400.0

# (repo, environment, days ago, ref, status, who): the story a new user reads on the board.
_DEPLOYS = [
    *[(SAMPLE_REPOS[0], "staging", d, "main", "success", "slack:example-alice") for d in (20, 18, 15, 13, 9, 6, 4)],
    (SAMPLE_REPOS[0], "staging", 2, "feat/search", "failure", "github:example-bob"),
    (SAMPLE_REPOS[0], "staging", 1.9, "feat/search", "success", "github:example-bob"),
    (SAMPLE_REPOS[0], "production", 16, "v1.4.0", "success", "slack:example-alice"),
    (SAMPLE_REPOS[0], "production", 12, "v1.4.1", "failure", "slack:example-alice"),
    (SAMPLE_REPOS[0], "production", 11.9, "v1.4.0", "success", "slack:example-alice"),
    (SAMPLE_REPOS[0], "production", 11, "v1.4.1", "success", "github:example-bob"),
    (SAMPLE_REPOS[0], "production", 3, "v1.5.0", "success", "slack:example-alice"),
    (SAMPLE_REPOS[1], "staging", 10, "main", "success", "gitlab:example-carol"),
    (SAMPLE_REPOS[1], "staging", 5, "main", "success", "gitlab:example-carol"),
    (SAMPLE_REPOS[1], "production", 9, "v0.9.0", "success", "gitlab:example-carol"),
]
_RELEASES = [(SAMPLE_REPOS[0], "v1.4.0", 16.2), (SAMPLE_REPOS[0], "v1.4.1", 12.1), (SAMPLE_REPOS[0], "v1.5.0", 3.1),
             (SAMPLE_REPOS[1], "v0.9.0", 9.1)]


def is_sample_repo(repo: str) -> bool:
    return repo in SAMPLE_REPOS


def is_sample_deploy(row: dict) -> bool:
    return row.get("repo") in SAMPLE_REPOS and str(row.get("request_id", "")).startswith(REQUEST_PREFIX)


def is_sample_release(row: dict) -> bool:
    return row.get("repo") in SAMPLE_REPOS and row.get("released_by") == SAMPLE_ACTOR


def is_sample_lock(row: dict) -> bool:
    return row.get("repo") in SAMPLE_REPOS and str(row.get("reason") or "").startswith(LOCK_REASON_PREFIX)


def _sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def _url(repo: str, kind: str, n: int) -> str:
    return f"https://example.com/{repo.split(':', 1)[1]}/{kind}/{n}"


async def add_samples(db, now: float | None = None) -> int:
    """Insert the sample records (once: none are added while some are present). Returns rows added."""
    now = time.time() if now is None else now
    async with db.begin() as conn:
        present = (await conn.execute(select(func.count()).select_from(deployments).where(
            deployments.c.repo.in_(SAMPLE_REPOS), deployments.c.request_id.like(REQUEST_PREFIX + "%")))).scalar_one()
        if present:
            return 0
        added = 0
        for n, (repo, env, days, ref, status, who) in enumerate(_DEPLOYS, start=1):
            start = now - days * DAY
            version = ref[1:] if ref.startswith("v") else None
            dep_id = (await conn.execute(insert(deployments).values(
                request_id=f"{REQUEST_PREFIX}{n:03d}", repo=repo, environment=env, ref=ref, sha=_sha(f"{repo}{ref}{n}"),
                version=version, requested_by=who, source=repo.split(":", 1)[0], status=status,
                description="sample record", forge_id=str(9000 + n), run_url=_url(repo, "runs", 9000 + n),
                created_at=start, updated_at=start + 240, finished_at=start + 240))).inserted_primary_key[0]
            added += 1
            if status == "success" and env == "production":
                # The commits it shipped, hours to days old: what the lead time is measured from.
                for c, hours in enumerate((3, 9, 20, 46)[: 2 + n % 3]):
                    await conn.execute(insert(dora_changes).values(
                        deployment_id=dep_id, sha=_sha(f"commit{n}-{c}"), committed_at=start - hours * 3600))
        flying = (await conn.execute(insert(deployments).values(
            request_id=f"{REQUEST_PREFIX}999", repo=SAMPLE_REPOS[0], environment="staging", ref="main",
            sha=_sha("in-flight"), requested_by="slack:example-alice", source="github", status="in_progress",
            description="sample record", forge_id="9999", run_url=_url(SAMPLE_REPOS[0], "runs", 9999),
            created_at=now - 90, updated_at=now - 60))).inserted_primary_key[0]
        await conn.execute(insert(active_deploys).values(repo=SAMPLE_REPOS[0], environment="staging",
                                                         deployment_id=flying, since=now - 90))
        for repo, tag, days in _RELEASES:
            await conn.execute(insert(releases).values(
                repo=repo, tag=tag, version=tag[1:], sha=_sha(f"{repo}{tag}"), url=_url(repo, "releases", tag),
                released_by=SAMPLE_ACTOR, prerelease=False, released_at=now - days * DAY))
        await conn.execute(insert(locks).values(
            repo=SAMPLE_REPOS[0], environment="production", owner="slack:example-alice",
            reason=f"{LOCK_REASON_PREFIX} release freeze while the demo runs", created_at=now - 1800,
            expires_at=now + 3 * 3600))
        await _audit(conn, now, "sample_data_added", f"{added + 1} deploys, {len(_RELEASES)} releases, 1 lock")
        return added + 1 + len(_RELEASES) + 1


async def remove_samples(db, now: float | None = None) -> int:
    """Delete exactly the sample records. Returns rows removed."""
    now = time.time() if now is None else now
    async with db.begin() as conn:
        ids = select(deployments.c.id).where(deployments.c.repo.in_(SAMPLE_REPOS),
                                             deployments.c.request_id.like(REQUEST_PREFIX + "%"))
        await conn.execute(delete(active_deploys).where(active_deploys.c.deployment_id.in_(ids)))
        await conn.execute(delete(dora_changes).where(dora_changes.c.deployment_id.in_(ids)))
        removed = (await conn.execute(delete(deployments).where(deployments.c.id.in_(ids)))).rowcount
        removed += (await conn.execute(delete(releases).where(releases.c.repo.in_(SAMPLE_REPOS),
                                                              releases.c.released_by == SAMPLE_ACTOR))).rowcount
        removed += (await conn.execute(delete(locks).where(locks.c.repo.in_(SAMPLE_REPOS),
                                                           locks.c.reason.like(LOCK_REASON_PREFIX + "%")))).rowcount
        if removed:
            await _audit(conn, now, "sample_data_removed", f"{removed} rows")
        return removed


async def database_is_new(db) -> bool:
    """Nothing has ever been recorded: no deploy, release, lock, job or audit entry."""
    async with db.connect() as conn:
        for table in (deployments, releases, locks, jobs, audit_log):
            if (await conn.execute(select(func.count()).select_from(table))).scalar_one():
                return False
    return True


async def _audit(conn, now: float, decision: str, detail: str) -> None:
    await conn.execute(insert(audit_log).values(at=now, source="cli", actor="shipbot sample-data",
                                                command="sample-data", decision=decision, detail=detail))


def sample_data_main(args: argparse.Namespace, settings) -> int:
    """`shipbot sample-data [--remove | --if-new]`."""
    from bot.store import open_database

    async def run() -> int:
        db = await open_database(settings.database_url)
        try:
            if args.remove:
                removed = await remove_samples(db)
                print(f"removed {removed} sample records" if removed else "there are no sample records")
                return 0
            if args.if_new and not (settings.dry_run and await database_is_new(db)):
                return 0  # only a first local start in dry-run gets them, and only once
            added = await add_samples(db)
            print(f"added {added} sample records to the board (repositories under example/); "
                  "remove them with: shipbot sample-data --remove" if added else "the sample records are there already")
            return 0
        finally:
            await db.dispose()

    return asyncio.run(run())
