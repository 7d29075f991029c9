"""Keep what the DORA metrics need in the database, and compute them from it: reports per repository
environment (board, /shipbot dora) and totals across repositories (/metrics)."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import structlog
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.sansio.dora import (DEFAULT_HOTFIX_REFS, DEFAULT_HOTFIX_WINDOW, PRODUCTION_NAMES, WINDOWS, ChangeRecord,
                             DeployRecord, DoraMetrics, combine, compute_metrics, to_epoch, window_start)
from bot.sansio.events import RepoRef
from bot.sansio.repoconfig import RepoConfig, duration_seconds
from bot.store import Database
from bot.store.tables import deployments, dora_changes

if TYPE_CHECKING:
    from bot.forge.base import Commit, Forge
    from bot.services import Services

log = structlog.get_logger("shipbot.dora")

# Deploys this long before a window still matter: they shipped commits first and may open an incident.
LOOKBACK_SECONDS = 30 * 86400.0
# A deploy of years of history (a first deploy, a force-push) is not a batch of changes: keep the newest.
MAX_COMMITS_PER_DEPLOY = 1000
# How long one repository's .shipbot.yml may take to load before its defaults are used instead.
CONFIG_SECONDS = 2.0
_CHUNK = 400  # values per IN (...): well under SQLite's variable limit


@dataclass(frozen=True)
class Rules:
    """What one repository's config says about its metrics."""

    production: frozenset[str] = frozenset(PRODUCTION_NAMES)
    hotfix_window: float = DEFAULT_HOTFIX_WINDOW
    hotfix_refs: tuple[str, ...] = DEFAULT_HOTFIX_REFS

    @classmethod
    def of(cls, config: RepoConfig) -> "Rules":
        section = config.section("dora")
        return cls(config.production_environments, float(duration_seconds(section["hotfix_window"])),
                   tuple(section["hotfix_refs"]))


def commit_time(commit: "Commit") -> float | None:
    """A commit's time from the forge's ISO 8601 date; None when it has none or an unreadable one."""
    try:
        return to_epoch(commit.date) if commit.date else None
    except (TypeError, ValueError):
        return None


async def record_changes(db: Database, forge: "Forge", deployment: Mapping[str, Any]) -> int:
    """Store the commits a successful deploy shipped first; returns how many rows were added.

    The commits are those between the environment's previous successful deploy and this one (the
    forge's compare). The first deploy of an environment is the baseline: nothing says which of its
    history is new. A rollback ships nothing new. Commits an earlier deploy of the environment shipped
    already (after a rollback) keep their first deploy.
    """
    if deployment["rollback_of"] is not None or not deployment["sha"]:
        return 0
    previous = await _previous_success(db, deployment)
    if previous is None or previous["sha"] == deployment["sha"]:
        return 0
    forge_name, _, path = deployment["repo"].partition(":")
    commits = (await forge.compare(RepoRef(forge_name, path), previous["sha"], deployment["sha"]))
    found = {c.sha: commit_time(c) for c in commits[:MAX_COMMITS_PER_DEPLOY]}
    if not found:
        return 0
    async with db.begin() as conn:
        shipped: set[str] = set()
        shas = list(found)
        for i in range(0, len(shas), _CHUNK):
            shipped.update((await conn.execute(
                select(dora_changes.c.sha).join(deployments, deployments.c.id == dora_changes.c.deployment_id)
                .where(deployments.c.repo == deployment["repo"],
                       deployments.c.environment == deployment["environment"],
                       dora_changes.c.sha.in_(shas[i:i + _CHUNK])))).scalars())
        rows = [{"deployment_id": deployment["id"], "sha": sha, "committed_at": at}
                for sha, at in found.items() if sha not in shipped]
        if not rows:
            return 0
        insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(dora_changes)
        await conn.execute(insert.on_conflict_do_nothing(), rows)  # a racing retry may have written them
        return len(rows)


async def _previous_success(db: Database, deployment: Mapping[str, Any]) -> dict | None:
    finished = deployment["finished_at"] or time.time()
    async with db.connect() as conn:
        row = (await conn.execute(
            select(deployments.c.id, deployments.c.sha).where(
                deployments.c.repo == deployment["repo"], deployments.c.environment == deployment["environment"],
                deployments.c.status == "success", deployments.c.id != deployment["id"],
                deployments.c.sha.is_not(None), deployments.c.finished_at <= finished)
            .order_by(deployments.c.finished_at.desc(), deployments.c.id.desc()).limit(1))).mappings().first()
    return dict(row) if row else None


async def dora_report(svc: "Services", *, window_days: int = 30, repo: str | None = None,
                      now: float | None = None) -> list[DoraMetrics]:
    """DORA metrics of every environment with deploys in the window (of one repository, `github:o/r`,
    when given), sorted by repository and environment. Reads only the database and the repositories'
    cached .shipbot.yml."""
    now = time.time() if now is None else now
    groups, changes = await _load(svc.db, window_start(window_days, now) - LOOKBACK_SECONDS, repo)
    return _report(groups, changes, await _rules(svc, {r for r, _ in groups}), window_days, now)


async def dora_totals(svc: "Services", *, now: float | None = None) -> dict[int, DoraMetrics | None]:
    """Production figures pooled across every repository, for each window (7, 30, 90 days); None: no deploys."""
    now = time.time() if now is None else now
    groups, changes = await _load(svc.db, window_start(max(WINDOWS), now) - LOOKBACK_SECONDS, None)
    rules = await _rules(svc, {r for r, _ in groups})
    return {days: combine([m for m in _report(groups, changes, rules, days, now) if m.production])
            for days in WINDOWS}


def _report(groups: dict, changes: dict, rules: dict[str, Rules], window_days: int, now: float) -> list[DoraMetrics]:
    start = window_start(window_days, now)
    found = []
    for (repo_name, env), rows in sorted(groups.items()):
        if not any(_touches(row, start) for row in rows):
            continue
        rule = rules[repo_name]
        found.append(compute_metrics(
            repo_name, env, rows, [c for row in rows for c in changes.get(row.id, ())], now=now,
            window_days=window_days, production_environments=rule.production, hotfix_window=rule.hotfix_window,
            hotfix_refs=rule.hotfix_refs))
    return found


def _touches(row: DeployRecord, start: float) -> bool:
    return row.finished_at is None or max(row.created_at, row.finished_at) >= start


async def _load(db: Database, since: float, repo: str | None) -> tuple[dict, dict]:
    recent = or_(deployments.c.created_at >= since, deployments.c.finished_at >= since,
                 deployments.c.finished_at.is_(None))
    where = and_(recent, deployments.c.repo == repo) if repo else recent
    cols = (deployments.c.id, deployments.c.repo, deployments.c.environment, deployments.c.status,
            deployments.c.created_at, deployments.c.finished_at, deployments.c.sha, deployments.c.ref,
            deployments.c.rollback_of)
    async with db.connect() as conn:
        rows = (await conn.execute(select(*cols).where(where))).mappings().all()
        shipped = (await conn.execute(
            select(dora_changes).join(deployments, deployments.c.id == dora_changes.c.deployment_id)
            .where(where, deployments.c.status == "success"))).mappings().all()
    groups: dict[tuple[str, str], list[DeployRecord]] = {}
    for r in rows:
        groups.setdefault((r["repo"], r["environment"]), []).append(DeployRecord(
            id=r["id"], status=r["status"], created_at=r["created_at"], finished_at=r["finished_at"], sha=r["sha"],
            ref=r["ref"], rollback_of=r["rollback_of"]))
    changes: dict[int, list[ChangeRecord]] = {}
    for c in shipped:
        changes.setdefault(c["deployment_id"], []).append(ChangeRecord(c["deployment_id"], c["sha"],
                                                                       c["committed_at"]))
    return groups, changes


async def _rules(svc: "Services", repos: Iterable[str]) -> dict[str, Rules]:
    names = sorted(repos)
    found = await asyncio.gather(*(rules_for(svc, name) for name in names))
    return dict(zip(names, found))


async def rules_for(svc: "Services", repo: str) -> Rules:
    """The repository's DORA rules from its .shipbot.yml; the defaults when it cannot be read in time."""
    forge_name, _, path = repo.partition(":")
    forge = svc.forges.get(forge_name)
    if forge is None:
        return Rules()
    try:
        config = await asyncio.wait_for(svc.configs.load(forge, RepoRef(forge_name, path)), CONFIG_SECONDS)
    except Exception as exc:  # unreachable forge, invalid file: the defaults still give honest figures
        log.info("dora_config_defaults", repo=repo, error=getattr(exc, "message", None) or type(exc).__name__)
        return Rules()
    return Rules.of(config)
