"""Start deploys on the forge and show their state where they were asked for (Slack message, PR comment)."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import deploys
from bot.chat.base import MessageRef
from bot.chat.blocks import text_blocks
from bot.context import Context
from bot.errors import BotError, CommandError
from bot.forge.base import Deployment
from bot.render import utc
from bot.routing import Router
from bot.sansio.deploys import ERROR, TIMED_OUT
from bot.sansio.events import Event, ReplyTarget, RepoRef
from bot.sansio.repoconfig import RepoConfig, duration_seconds
from handlers.environments import Target

router = Router()  # periodic work only: the deploy commands live in handlers/deploy.py

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class Plan:
    """What a checked request will deploy: the ref as asked, the commit it pointed at."""

    ref: str
    sha: str
    force: bool = False
    rollback_of: int | None = None


def request_id(seed: str) -> str:
    """Our id for a deploy, derived from the request so that a retried job finds its own deploy again."""
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def busy_message(env: str, holder: dict) -> str:
    return (f"{env} is busy: {holder['requested_by']} is deploying {holder['ref']} ({(holder['sha'] or '')[:7]}) "
            f"since {utc(holder['created_at'])}; one deploy at a time per environment. "
            f"Try again when it finishes (/deploys {env})")


def method_of(target: Target) -> tuple[str, str | None]:
    """How the forge starts the deploy: repo config, else the forge's native way."""
    section = target.config.section("deploy")
    method = section["method"] or ("pipeline" if target.repo.forge == "gitlab" else "deployment")
    return method, target.env.workflow or section["workflow"]


async def start(ctx: Context, target: Target, plan: Plan, *, requested_by: str, reply_to: ReplyTarget | None,
                seed: str, message: MessageRef | None = None) -> dict:
    """Claim the environment, record the deploy, create it on the forge and show it.

    If anything fails after the claim, the deploy is recorded as not started, its environment is
    freed and the message says so; the error propagates (a transient one retries the job, which
    finds the same request id and starts it then).
    """
    await expire_stale(ctx, target.repo, target.config)
    db, repo, env = ctx.db, str(target.repo), target.env.name
    dep_id, holder = await deploys.claim_environment(
        db, request_id=request_id(seed), repo=repo, env=env, ref=plan.ref, sha=plan.sha, requested_by=requested_by,
        source=ctx.event.source, reply_to=deploys.target_json(reply_to), rollback_of=plan.rollback_of)
    if holder is not None:
        raise CommandError(busy_message(env, holder))
    row = await deploys.get_deployment(db, id=dep_id)
    if row["forge_id"] is not None:
        return row  # a retried job whose deploy had started: never start it twice
    try:
        ref = await _status_message(ctx, row, reply_to, message)
        inputs = {"environment": env, "ref": plan.ref, "sha": plan.sha, "shipbot_request_id": row["request_id"],
                  "requested_by": requested_by}
        payload = {**inputs, **({"slack": {"channel": ref.channel, "ts": ref.ts}} if ref else {})}
        method, workflow = method_of(target)
        # A rollback pins an older commit: a GitHub Deployment takes a sha as its ref; a GitLab
        # pipeline needs a branch or tag, and its job deploys the `sha` variable instead.
        pinned = plan.rollback_of is not None and target.repo.forge == "github"
        extra = {"job": target.env.job} if target.env.job else {}  # only then: older adapters lack it
        deployment = await ctx.forge_for(target.repo).create_deployment(
            target.repo, ref=plan.sha if pinned else plan.ref, environment=env, inputs=inputs, payload=payload,
            method=method, workflow=workflow, required_checks=target.env.require_checks and not plan.force, **extra)
    except BaseException as exc:
        reason = exc.message if isinstance(exc, BotError) else type(exc).__name__
        await deploys.finish_deployment(db, dep_id, ERROR, description=f"could not start: {reason}")
        await ctx.audit("deploy_not_started", reason, repo=target.repo)
        await _show_quietly(ctx, await deploys.get_deployment(db, id=dep_id))
        raise
    await deploys.record_started(db, dep_id, forge_id=str(deployment.id), run_url=deployment.url,
                                 environment_url=target.env.url)
    row = await deploys.get_deployment(db, id=dep_id)
    await ctx.audit("deploy_started", f"{env} {plan.ref} {plan.sha[:7]} request {row['request_id']}",
                    repo=target.repo)
    await show(ctx, row)
    return row


async def _status_message(ctx: Context, row: dict, reply_to: ReplyTarget | None,
                          message: MessageRef | None) -> MessageRef | None:
    """The one Slack message this deploy updates in place: given, remembered, or posted now."""
    if row["chat_message"]:
        return MessageRef(**json.loads(row["chat_message"]))
    if message is None:
        if reply_to is None or reply_to.kind != "slack" or not reply_to.channel:
            return None
        text = ctx.render.for_chat("deploy_status", d=row)
        message = await ctx.chat.post(reply_to.channel, text, blocks=text_blocks(text), thread_ts=reply_to.thread_ts)
    await deploys.update_deployment(ctx.db, row["id"], chat_message=json.dumps({"channel": message.channel,
                                                                                "ts": message.ts}))
    row["chat_message"] = json.dumps({"channel": message.channel, "ts": message.ts})
    return message


async def show(ctx: Context, row: dict, *, note: str | None = None) -> None:
    """Update the deploy's Slack message and its PR/MR comment; `note` also goes in the Slack thread."""
    if row["chat_message"]:
        ref = MessageRef(**json.loads(row["chat_message"]))
        text = ctx.render.for_chat("deploy_status", d=row)
        await ctx.chat.update(ref, text, blocks=text_blocks(text))
        if note:
            await ctx.chat.post(ref.channel, note, thread_ts=ref.ts)
    where = await _change_request_of(ctx, row)
    if where is not None:
        repo, number = where
        marker = f"<!-- shipbot:deploy:{row['request_id']} -->"
        await ctx.forge_for(repo).upsert_comment(repo, number, marker,
                                                 ctx.render.for_forge("deploy_status", d=row, marker=marker))


async def _change_request_of(ctx: Context, row: dict) -> tuple[RepoRef, int] | None:
    """The PR/MR whose thread shows this deploy: where it was asked for, else the open one of its branch."""
    target = deploys.target_from_json(row["reply_to"])
    if target is not None and target.kind == "comment":
        return (target.repo, target.number) if target.repo and target.number is not None else None
    forge_name, _, path = row["repo"].partition(":")
    repo = RepoRef(forge_name, path)
    try:
        change = await ctx.forge_for(repo).find_change_request(repo, row["ref"])
    except BotError as exc:  # the Slack message already shows the status; the PR line can wait
        ctx.log.warning("deploy_pr_not_found", error=exc.message)
        return None
    return (repo, change.number) if change else None


async def _show_quietly(ctx: Context, row: dict, *, note: str | None = None) -> None:
    try:
        await show(ctx, row, note=note)
    except Exception:  # the original failure matters more than a failed update of its message
        ctx.log.exception("deploy_status_update_failed", deployment=row["id"])


async def expire_stale(ctx: Context, repo: RepoRef, config: RepoConfig) -> None:
    """Mark deploys with no final status after `deploy.timeout` timed out, free their environment, say so.

    Called whenever shipbot looks at a repository's deploys (a new deploy, a status event, /deploys):
    an environment is never held past the timeout by a deploy whose CI went silent.
    """
    timeout = config.section("deploy")["timeout"]
    for row in await deploys.stale_deploys(ctx.db, str(repo), duration_seconds(timeout)):
        description = f"no final status after {timeout}"
        if not await deploys.finish_deployment(ctx.db, row["id"], TIMED_OUT, description=description):
            continue
        await ctx.audit("deploy_timed_out", f"{row['environment']} request {row['request_id']}", repo=repo)
        if row["forge_id"]:
            try:
                await ctx.forge_for(repo).set_deployment_status(
                    repo, Deployment(row["forge_id"], row["environment"], row["ref"], row["sha"]), "error",
                    description=f"shipbot: {description}")
            except BotError as exc:  # the forge may have dropped it; our record is what matters here
                ctx.log.warning("timeout_status_not_set", error=exc.message)
        row = await deploys.get_deployment(ctx.db, id=row["id"])
        await _show_quietly(ctx, row, note=ctx.render.for_chat("deploy_progress", d=row))


@router.every(60)
async def sweep_timeouts(services: "Services", log) -> None:
    """Time out silent deploys of every repository, every minute.

    shipbot also does this whenever it looks at a repository's deploys; the periodic run makes the
    "timed out" message appear on time when nobody is deploying.
    """
    for name in await deploys.repos_deploying(services.db):
        forge, _, path = name.partition(":")
        repo = RepoRef(forge, path)
        ctx = Context(Event(forge, "shipbot.sweep", f"sweep-{time.time():.0f}", {}, repo), None, services, log)
        try:
            await expire_stale(ctx, repo, await ctx.repo_config(repo))
        except BotError as exc:  # one repository's bad config or outage must not stop the others
            log.warning("deploy_sweep_failed", repo=name, error=exc.message)
