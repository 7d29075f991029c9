"""Gather what the environments board shows, as plain JSON-ready data (the `/api/board` document)."""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, select

from bot.board import sample
from bot.dora import dora_report
from bot.store.tables import active_deploys, deployments, locks, releases

# Environments most teams promote through, in that order; any other name sorts between them.
_ENV_RANK = {"dev": 0, "development": 0, "test": 1, "testing": 1, "qa": 2, "staging": 3, "stage": 3,
             "preprod": 4, "pre-production": 4, "production": 9, "prod": 9}
DEPLOY_FIELDS = ("id", "environment", "ref", "sha", "version", "requested_by", "source", "status",
                 "description", "run_url", "environment_url", "rollback_of")


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC, the form the API documents."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def env_order(name: str) -> tuple[int, str]:
    return (_ENV_RANK.get(name.lower(), 5), name)


def deploy_view(row: dict) -> dict:
    """A deploy record without the internal fields (where to reply, the chat message)."""
    view = {key: row.get(key) for key in DEPLOY_FIELDS}
    view["created_at"] = iso(row["created_at"])
    view["finished_at"] = iso(row.get("finished_at"))
    view["duration_s"] = round(row["finished_at"] - row["created_at"], 1) if row.get("finished_at") else None
    view["sample"] = sample.is_sample_deploy(row)
    return view


def lock_view(row: dict) -> dict:
    return {"owner": row["owner"], "reason": row["reason"], "since": iso(row["created_at"]),
            "until": iso(row["expires_at"]), "sample": sample.is_sample_lock(row)}


def release_view(row: dict) -> dict:
    return {"tag": row["tag"], "version": row["version"], "sha": row["sha"], "url": row["url"],
            "released_by": row["released_by"], "prerelease": bool(row["prerelease"]),
            "released_at": iso(row["released_at"]), "sample": sample.is_sample_release(row)}


async def _environments(conn, now: float) -> dict[tuple[str, str], dict]:
    """Per (repo, environment): the newest deploy, the newest successful one, the deploy in flight, the lock."""
    pairs = (await conn.execute(select(deployments.c.repo, deployments.c.environment).distinct())).all()
    lock_rows = (await conn.execute(select(locks).where(locks.c.expires_at > now))).mappings().all()
    keys = {(r, e) for r, e in pairs} | {(row["repo"], row["environment"]) for row in lock_rows}
    envs: dict[tuple[str, str], dict] = {key: {"name": key[1], "current": None, "latest": None,
                                               "in_progress": None, "lock": None} for key in keys}
    for repo, env in pairs:
        where = and_(deployments.c.repo == repo, deployments.c.environment == env)
        newest = deployments.c.created_at.desc(), deployments.c.id.desc()
        latest = (await conn.execute(select(deployments).where(where).order_by(*newest).limit(1))).mappings().first()
        current = (await conn.execute(select(deployments).where(where, deployments.c.status == "success")
                                      .order_by(deployments.c.finished_at.desc(), deployments.c.id.desc())
                                      .limit(1))).mappings().first()
        entry = envs[(repo, env)]
        entry["latest"] = deploy_view(dict(latest)) if latest else None
        entry["current"] = deploy_view(dict(current)) if current else None
    flying = (await conn.execute(select(deployments, active_deploys.c.since).join(
        active_deploys, active_deploys.c.deployment_id == deployments.c.id))).mappings().all()
    for row in flying:
        key = (row["repo"], row["environment"])
        if key in envs:
            envs[key]["in_progress"] = deploy_view(dict(row))
    for row in lock_rows:
        envs[(row["repo"], row["environment"])]["lock"] = lock_view(dict(row))
    return envs


async def _recent(conn, repo: str, limit: int) -> tuple[list[dict], list[dict]]:
    deploys = (await conn.execute(select(deployments).where(deployments.c.repo == repo)
                                  .order_by(deployments.c.created_at.desc(), deployments.c.id.desc())
                                  .limit(limit))).mappings().all()
    rels = (await conn.execute(select(releases).where(releases.c.repo == repo)
                               .order_by(releases.c.released_at.desc(), releases.c.id.desc())
                               .limit(limit))).mappings().all()
    return [deploy_view(dict(r)) for r in deploys], [release_view(dict(r)) for r in rels]


def split_repo(repo: str) -> tuple[str, str]:
    """`github:octo/widget` -> ("github", "octo/widget"); a bare path has no forge."""
    forge, sep, path = repo.partition(":")
    return (forge, path) if sep else ("", repo)


def metrics_view(metrics) -> dict:
    """One environment's DORA metrics; the window's end is `now` and would change the digest every call."""
    data = metrics.as_dict()
    data.pop("window_end", None)
    data["window_start"] = iso(data["window_start"])
    return data


async def board_snapshot(svc, *, limit: int = 10, window_days: int = 30, now: float | None = None) -> dict[str, Any]:
    """Everything the board shows, per repository and environment, plus the job queue's health and the
    delivery (DORA) metrics of the last `window_days` days."""
    now = time.time() if now is None else now
    metrics: dict[str, list[dict]] = {}
    for found in await dora_report(svc, window_days=window_days, now=now):
        metrics.setdefault(found.repo, []).append(metrics_view(found))
    async with svc.db.connect() as conn:
        envs = await _environments(conn, now)
        release_repos = (await conn.execute(select(releases.c.repo).distinct())).scalars().all()
        repo_names = sorted({repo for repo, _ in envs} | set(release_repos))
        repositories = []
        for repo in repo_names:
            deploys, rels = await _recent(conn, repo, limit)
            forge, path = split_repo(repo)
            repositories.append({
                "repo": repo, "forge": forge, "path": path, "sample": sample.is_sample_repo(repo),
                "environments": sorted((e for (r, _), e in envs.items() if r == repo),
                                       key=lambda e: env_order(e["name"])),
                "deploys": deploys, "releases": rels,
                "metrics": sorted(metrics.get(repo, []), key=lambda m: env_order(m["environment"]))})
    counts = await asyncio.wait_for(svc.queue.counts(), 5)
    queue = {"pending": counts.get("pending", 0), "retrying": counts.get("retrying", 0),
             "running": counts.get("running", 0), "dead": counts.get("dead", 0)}
    queue["health"] = "dead_letters" if queue["dead"] else ("retrying" if queue["retrying"] else "ok")
    snapshot = {"dry_run": svc.settings.dry_run, "sample_data": any(r["sample"] for r in repositories),
                "window_days": window_days, "queue": queue, "repositories": repositories}
    return stamp(snapshot, now)


def stamp(snapshot: dict, now: float) -> dict:
    """Add the generation time and a digest of the content, which the page's refresh compares."""
    body = json.dumps(snapshot, sort_keys=True, default=str).encode()
    return {"generated_at": iso(now), "digest": hashlib.sha256(body).hexdigest()[:16], **snapshot}
