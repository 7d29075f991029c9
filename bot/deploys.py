"""Keep deploy state in the database: environment locks, deploy records, the one-deploy guard, confirmations."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.sansio.events import ReplyTarget, RepoRef
from bot.store import Database
from bot.store.tables import active_deploys, confirmations, deployments, locks


def _upsert(db: Database, table):
    return (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(table)


def target_json(target: ReplyTarget | None) -> str | None:
    """A reply target as JSON, to answer the same place later (a status change, a stolen lock)."""
    if target is None:
        return None
    data = asdict(target)
    data["repo"] = str(target.repo) if target.repo else None
    return json.dumps(data)


def target_from_json(text: str | None) -> ReplyTarget | None:
    if not text:
        return None
    data = json.loads(text)
    if data.get("repo"):
        forge, _, path = data["repo"].partition(":")
        data["repo"] = RepoRef(forge, path)
    return ReplyTarget(**data)


# Locks ----------------------------------------------------------------------------------------

async def take_lock(db: Database, repo: str, env: str, *, owner: str, owner_reply: str | None, reason: str | None,
                    ttl: float, steal: bool) -> tuple[str, dict | None]:
    """Lock an environment. Returns (outcome, the previous lock): taken | renewed | stolen | held."""
    now = time.time()
    values = dict(owner=owner, owner_reply=owner_reply, reason=reason, created_at=now, expires_at=now + ttl)
    key = and_(locks.c.repo == repo, locks.c.environment == env)
    async with db.begin() as conn:
        await conn.execute(delete(locks).where(key, locks.c.expires_at <= now))
        inserted = await conn.execute(_upsert(db, locks).values(repo=repo, environment=env, **values)
                                      .on_conflict_do_nothing())
        if inserted.rowcount == 1:
            return "taken", None
        previous = dict((await conn.execute(select(locks).where(key))).mappings().one())
        if previous["owner"] == owner:
            await conn.execute(update(locks).where(key).values(
                reason=reason or previous["reason"], expires_at=now + ttl, owner_reply=owner_reply))
            return "renewed", previous
        if not steal:
            return "held", previous
        await conn.execute(update(locks).where(key).values(**values))
        return "stolen", previous


async def active_lock(db: Database, repo: str, env: str) -> dict | None:
    """The lock on an environment, unless it has expired."""
    async with db.connect() as conn:
        row = (await conn.execute(select(locks).where(locks.c.repo == repo, locks.c.environment == env,
                                                      locks.c.expires_at > time.time()))).mappings().first()
    return dict(row) if row else None


async def release_lock(db: Database, repo: str, env: str, owner: str) -> tuple[str, dict | None]:
    """Unlock when `owner` holds the lock. Returns (released | not_locked | not_yours, the lock)."""
    now = time.time()
    key = and_(locks.c.repo == repo, locks.c.environment == env)
    async with db.begin() as conn:
        row = (await conn.execute(select(locks).where(key, locks.c.expires_at > now))).mappings().first()
        if row is None:
            await conn.execute(delete(locks).where(key))
            return "not_locked", None
        if row["owner"] != owner:
            return "not_yours", dict(row)
        await conn.execute(delete(locks).where(key))
        return "released", dict(row)


async def list_locks(db: Database, repos: list[str]) -> list[dict]:
    async with db.connect() as conn:
        rows = (await conn.execute(select(locks).where(locks.c.repo.in_(repos), locks.c.expires_at > time.time())
                                   .order_by(locks.c.repo, locks.c.environment))).mappings().all()
    return [dict(r) for r in rows]


# Deploy records and the one-deploy-per-environment guard ----------------------------------------

async def claim_environment(db: Database, *, request_id: str, repo: str, env: str, ref: str, sha: str,
                            requested_by: str, source: str, reply_to: str | None,
                            rollback_of: int | None = None) -> tuple[int | None, dict | None]:
    """Record a deploy and claim its environment in one transaction.

    Returns (deployment row id, None), or (None, the deploy holding the environment). Inserting the
    active_deploys row is the claim: its primary key lets exactly one of two racing requests in.
    A request id seen before (a retried job) reuses its row if that deploy never started.
    """
    now = time.time()
    try:
        async with db.begin() as conn:
            old = (await conn.execute(select(deployments).where(deployments.c.request_id == request_id))
                   ).mappings().first()
            if old is not None and old["forge_id"] is None:
                dep_id = old["id"]
                await conn.execute(update(deployments).where(deployments.c.id == dep_id).values(
                    status="starting", description=None, updated_at=now, finished_at=None, sha=sha))
            elif old is not None:
                return old["id"], None  # started on an earlier attempt: do not start it twice
            else:
                dep_id = (await conn.execute(insert(deployments).values(
                    request_id=request_id, repo=repo, environment=env, ref=ref, sha=sha, requested_by=requested_by,
                    source=source, status="starting", reply_to=reply_to, rollback_of=rollback_of,
                    created_at=now, updated_at=now))).inserted_primary_key[0]
            await conn.execute(insert(active_deploys).values(repo=repo, environment=env, deployment_id=dep_id,
                                                             since=now))
            return dep_id, None
    except IntegrityError:
        return None, await active_deploy(db, repo, env)


async def active_deploy(db: Database, repo: str, env: str) -> dict | None:
    """The deploy holding an environment (with its `since`), if any."""
    async with db.connect() as conn:
        row = (await conn.execute(
            select(deployments, active_deploys.c.since).join(active_deploys, active_deploys.c.deployment_id
                                                             == deployments.c.id)
            .where(active_deploys.c.repo == repo, active_deploys.c.environment == env))).mappings().first()
    return dict(row) if row else None


async def update_deployment(db: Database, deployment_id: int, **values: Any) -> None:
    values["updated_at"] = time.time()
    async with db.begin() as conn:
        await conn.execute(update(deployments).where(deployments.c.id == deployment_id).values(**values))


async def record_started(db: Database, deployment_id: int, *, forge_id: str, run_url: str | None,
                         environment_url: str | None) -> None:
    """Remember the forge's id; `queued` only if no status event overtook us (CI can be that fast)."""
    now = time.time()
    async with db.begin() as conn:
        await conn.execute(update(deployments).where(deployments.c.id == deployment_id).values(
            forge_id=forge_id, updated_at=now))
        await conn.execute(update(deployments).where(deployments.c.id == deployment_id,
                                                     deployments.c.status == "starting").values(
            status="queued", run_url=run_url, environment_url=environment_url))


async def finish_deployment(db: Database, deployment_id: int, status: str, **values: Any) -> bool:
    """Record a final status and free the environment; False when it was final already."""
    now = time.time()
    async with db.begin() as conn:
        changed = await conn.execute(update(deployments).where(
            deployments.c.id == deployment_id, deployments.c.finished_at.is_(None)).values(
            status=status, finished_at=now, updated_at=now, **values))
        await conn.execute(delete(active_deploys).where(active_deploys.c.deployment_id == deployment_id))
        return changed.rowcount == 1


async def get_deployment(db: Database, *, id: int | None = None, request_id: str | None = None,
                         repo: str | None = None, forge_id: str | None = None) -> dict | None:
    if id is not None:
        where = deployments.c.id == id
    elif request_id is not None:
        where = deployments.c.request_id == request_id
    else:
        where = and_(deployments.c.repo == repo, deployments.c.forge_id == forge_id)
    async with db.connect() as conn:
        row = (await conn.execute(select(deployments).where(where))).mappings().first()
    return dict(row) if row else None


async def history(db: Database, repos: list[str], env: str | None = None, *, limit: int = 10,
                  status: str | None = None) -> list[dict]:
    """Deploys newest first, of some repositories, optionally of one environment or status."""
    query = select(deployments).where(deployments.c.repo.in_(repos))
    if env:
        query = query.where(deployments.c.environment == env)
    if status:
        query = query.where(deployments.c.status == status)
    async with db.connect() as conn:
        rows = (await conn.execute(query.order_by(deployments.c.created_at.desc(), deployments.c.id.desc())
                                   .limit(limit))).mappings().all()
    return [dict(r) for r in rows]


async def repos_deploying(db: Database) -> list[str]:
    """Repositories with a deploy holding an environment right now."""
    async with db.connect() as conn:
        return list((await conn.execute(select(active_deploys.c.repo).distinct())).scalars().all())


async def stale_deploys(db: Database, repo: str, timeout: float) -> list[dict]:
    """Deploys holding an environment for longer than `timeout` seconds."""
    async with db.connect() as conn:
        rows = (await conn.execute(
            select(deployments).join(active_deploys, active_deploys.c.deployment_id == deployments.c.id)
            .where(active_deploys.c.repo == repo, active_deploys.c.since <= time.time() - timeout))).mappings().all()
    return [dict(r) for r in rows]


# Confirmations --------------------------------------------------------------------------------

async def save_confirmation(db: Database, *, code: str, kind: str, repo: str, requested_by: str,
                            request: dict, ttl: float) -> float:
    """Store a pending confirmation; returns when it expires."""
    now = time.time()
    async with db.begin() as conn:
        await conn.execute(insert(confirmations).values(
            code=code, kind=kind, repo=repo, requested_by=requested_by, request=json.dumps(request),
            created_at=now, expires_at=now + ttl))
    return now + ttl


async def get_confirmation(db: Database, code: str) -> dict | None:
    async with db.connect() as conn:
        row = (await conn.execute(select(confirmations).where(confirmations.c.code == code))).mappings().first()
    if row is None:
        return None
    return {**row, "request": json.loads(row["request"])}


async def use_confirmation(db: Database, code: str, outcome: str) -> bool:
    """Mark a confirmation used; exactly one of two racing clicks gets True."""
    async with db.begin() as conn:
        result = await conn.execute(update(confirmations).where(
            confirmations.c.code == code, confirmations.c.used_at.is_(None)).values(used_at=time.time(),
                                                                                   outcome=outcome))
        return result.rowcount == 1


async def set_confirmation_outcome(db: Database, code: str, outcome: str) -> None:
    async with db.begin() as conn:
        await conn.execute(update(confirmations).where(confirmations.c.code == code).values(outcome=outcome))
