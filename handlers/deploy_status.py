"""Follow deploys shipbot started: GitHub deployment statuses and workflow runs, GitLab deployments and pipelines."""
from __future__ import annotations

import re
from typing import Any, Mapping

from bot import deploys, dora
from bot.context import Context
from bot.errors import BotError
from bot.routing import Router
from bot.sansio.deploys import FINAL_STATES, QUEUED, SUCCESS, github_state, gitlab_state, workflow_run_state
from handlers.deploy_runs import expire_stale, show

router = Router()

# Our request id (32 hex digits) in a run's title: the example workflow's `run-name` carries it.
REQUEST_ID_RE = re.compile(r"\b[0-9a-f]{32}\b")

# Non-final states in order: a late `queued` never overwrites `in_progress`.
RANK = {"starting": 0, QUEUED: 1, "in_progress": 2}


@router.on("deployment_status", source="github")
async def github_deployment_status(ctx: Context) -> None:
    """A GitHub deployment status: ours when its payload carries our request id (or its id is ours)."""
    payload = ctx.event.payload
    deployment, status = payload.get("deployment") or {}, payload.get("deployment_status") or {}
    request = (deployment.get("payload") or {}).get("shipbot_request_id") if isinstance(
        deployment.get("payload"), Mapping) else None
    row = await deploys.get_deployment(ctx.db, request_id=request) if request else None
    if row is None and ctx.repo is not None:
        row = await deploys.get_deployment(ctx.db, repo=str(ctx.repo), forge_id=str(deployment.get("id")))
    await _follow(ctx, row, github_state(str(status.get("state"))), run_url=status.get("log_url") or
                  status.get("target_url") or None, environment_url=status.get("environment_url") or None,
                  description=status.get("description") or None)


@router.on("workflow_run", source="github")
async def github_workflow_run(ctx: Context) -> None:
    """A run of a dispatched deploy workflow (method: workflow): ours by run id or by the id in its title."""
    run = ctx.event.payload.get("workflow_run") or {}
    if ctx.repo is None or run.get("event") != "workflow_dispatch":
        return
    row = await deploys.get_deployment(ctx.db, repo=str(ctx.repo), forge_id=str(run.get("id")))
    found = REQUEST_ID_RE.search(str(run.get("display_title") or ""))
    if row is None and found:
        row = await deploys.get_deployment(ctx.db, request_id=found.group(0))
    action = str(ctx.event.payload.get("action"))
    await _follow(ctx, row, workflow_run_state(action, run.get("conclusion")), run_url=run.get("html_url"))


@router.on("deployment", source="gitlab")
async def gitlab_deployment(ctx: Context) -> None:
    """A GitLab Deployment Hook: ours when it is the active deploy of that environment at that commit."""
    payload = ctx.event.payload
    if ctx.repo is None or not payload.get("environment"):
        return
    row = await deploys.active_deploy(ctx.db, str(ctx.repo), str(payload["environment"]))
    short = str(payload.get("short_sha") or "")
    if row is None or not short or not (row["sha"] or "").startswith(short):
        row = None
    await _follow(ctx, row, gitlab_state(str(payload.get("status"))), run_url=payload.get("deployable_url"),
                  environment_url=payload.get("environment_external_url"))


@router.on("pipeline", source="gitlab")
async def gitlab_pipeline(ctx: Context) -> None:
    """A GitLab Pipeline Hook: ours when it carries our request id as a variable, or its id is ours."""
    attrs = ctx.event.payload.get("object_attributes") or {}
    variables = {str(v.get("key", "")).lower(): v.get("value") for v in attrs.get("variables") or ()
                 if isinstance(v, Mapping)}
    request = variables.get("shipbot_request_id")
    row = await deploys.get_deployment(ctx.db, request_id=str(request)) if request else None
    if row is None and ctx.repo is not None and attrs.get("id") is not None:
        row = await deploys.get_deployment(ctx.db, repo=str(ctx.repo), forge_id=str(attrs["id"]))
    await _follow(ctx, row, gitlab_state(str(attrs.get("status"))), run_url=attrs.get("url"))


async def _follow(ctx: Context, row: dict | None, state: str | None, **seen: Any) -> None:
    """Record a state change of one of our deploys and show it; anything else is left alone."""
    if row is None or state is None:
        ctx.log.info("deploy_event_ignored", reason="not ours" if row is None else "state not followed")
        return
    if ctx.repo is not None and row["repo"] != str(ctx.repo):
        ctx.log.warning("deploy_event_ignored", reason="request id from another repository")
        return
    if row["finished_at"] is not None:
        return  # final already (or timed out): a late event does not reopen it
    values = {k: v for k, v in seen.items() if v}
    before = row["status"]
    if state in FINAL_STATES:
        if not await deploys.finish_deployment(ctx.db, row["id"], state, **values):
            return
        await ctx.audit(f"deploy_{state}", f"{row['environment']} request {row['request_id']}", repo=row["repo"])
        if state == SUCCESS:
            await record_shipped_commits(ctx, row["id"])
    else:
        if RANK.get(state, 0) < RANK.get(before, 0):
            state = before  # events may arrive out of order; a deploy never goes back to queued
        if state == before and not values.keys() - {"description"}:
            return
        await deploys.update_deployment(ctx.db, row["id"], status=state, **values)
    row = await deploys.get_deployment(ctx.db, id=row["id"])
    changed = row["status"] != before
    await show(ctx, row, note=ctx.render.for_chat("deploy_progress", d=row) if changed else None)
    if ctx.repo is not None:
        try:
            await expire_stale(ctx, ctx.repo, await ctx.repo_config(ctx.repo))
        except BotError as exc:  # an invalid .shipbot.yml must not undo the status just recorded
            ctx.log.warning("stale_deploys_not_checked", error=exc.message)


async def record_shipped_commits(ctx: Context, deployment_id: int) -> None:
    """Keep the commits a production deploy shipped, for DORA lead time; never fails the deploy's handling."""
    row = await deploys.get_deployment(ctx.db, id=deployment_id)
    try:
        rules = await dora.rules_for(ctx.services, row["repo"])
        if row["environment"] not in rules.production:
            return
        forge = ctx.services.forges[row["repo"].partition(":")[0]]
        added = await dora.record_changes(ctx.db, forge, row)
    except Exception as exc:  # the deploy succeeded whatever the forge says now; lead time lacks these commits
        ctx.log.warning("dora_changes_not_recorded", deployment=deployment_id,
                        error=getattr(exc, "message", None) or repr(exc))
        return
    ctx.log.info("dora_changes_recorded", deployment=deployment_id, commits=added)
