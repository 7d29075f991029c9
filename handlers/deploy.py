"""Deploy with /deploy: check who, what and where, confirm protected environments, start it on the forge."""
from __future__ import annotations

import secrets
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

from bot import deploys
from bot.chat.base import MessageRef
from bot.chat.blocks import confirm_blocks, text_blocks
from bot.context import Context
from bot.errors import CommandError
from bot.forge.base import NotFound
from bot.render import utc
from bot.routing import Help, Router
from bot.sansio.commands import DeployConfirm, UsageError, parse_deploy
from bot.sansio.deploys import confirmation_problem, new_code, normalize_code, ref_allowed
from handlers.deploy_runs import Plan, request_id, start
from handlers.environments import Target, find_target, may_deploy_somewhere, principal, require_permission
from handlers.locks import held_message

router = Router()

DEPLOY_HELP = Help(
    summary="Deploy a branch, tag or commit to an environment",
    usage="/deploy <env> [<ref>] [--repo R] [--force]",
    examples=("/deploy staging", "/deploy staging feature/login", "/deploy widget@v1.4.0 to production",
              "/deploy confirm k7x9m2pq"),
    who="per environment, as the repository's .shipbot.yml lists under deploy.environments.<env>.allow "
        "(production needs an explicit list); in comments also write access",
    allowed=may_deploy_somewhere,
)
# Check conclusions that count as green for require_checks.
GREEN = frozenset({"success", "neutral", "skipped"})


@router.command("deploy", help=DEPLOY_HELP)
async def deploy_requested(ctx: Context) -> None:
    """Check the request; deploy now, or ask the same person to confirm a protected environment."""
    parsed = parse_deploy(ctx.command)
    if isinstance(parsed, UsageError):
        raise CommandError(parsed.message)
    if isinstance(parsed, DeployConfirm):
        await confirm_by_code(ctx, parsed.code)
        return
    target = await find_target(ctx, parsed.env, parsed.repo)
    plan = await check(ctx, target, parsed.ref or await default_ref(ctx, target), force=parsed.force)
    if target.env.confirm:
        await ask_confirmation(ctx, target, plan)
        return
    await start(ctx, target, plan, requested_by=principal(ctx), reply_to=ctx.event.reply_to,
                seed=f"{ctx.event.source}:{ctx.event.delivery_id}:{ctx.command.line}")


async def default_ref(ctx: Context, target: Target) -> str:
    """The PR/MR head in a comment on one, else the default branch (never a guess at production)."""
    reply = ctx.event.reply_to
    forge = ctx.forge_for(target.repo)
    if reply and reply.kind == "comment" and reply.on_change_request and reply.number is not None:
        change = await forge.get_change_request(target.repo, reply.number)
        if change.from_fork:
            raise CommandError("this pull request comes from a fork, whose branches shipbot does not deploy; "
                               "name a ref of this repository: /deploy <env> <ref>")
        return change.head_ref
    return await forge.default_branch(target.repo)


async def check(ctx: Context, target: Target, ref: str, *, sha: str | None = None, force: bool = False,
                rollback_of: int | None = None, action: str = "deploy to") -> Plan:
    """Every rule a deploy must pass, in the order that gives the most useful refusal first.

    `sha` pins the commit (a rollback redeploys what ran before, not where `ref` points now).
    """
    env = target.env
    await require_permission(ctx, target, f"{action} {env.name}")
    if not ref_allowed(ref, env.branches):
        raise CommandError(f"{ref} may not be deployed to {env.name}; allowed refs: {', '.join(env.branches)}")
    try:
        sha = await ctx.forge_for(target.repo).resolve_ref(target.repo, sha or ref)
    except NotFound as exc:
        raise CommandError(exc.message) from None
    lock = await deploys.active_lock(ctx.db, str(target.repo), env.name)
    if lock and lock["owner"] != principal(ctx):
        raise CommandError(f"{held_message(env.name, lock)}. Ask them to /unlock {env.name}, "
                           f"or take the lock over with /lock {env.name} --steal")
    if env.require_checks and not force:
        checks = await ctx.forge_for(target.repo).checks_for_commit(target.repo, sha)
        red = [c for c in checks if c.status != "completed" or c.conclusion not in GREEN]
        if red:
            listed = ", ".join(f"{c.name} ({c.conclusion or c.status})" for c in red[:5])
            raise CommandError(f"checks on {ref} ({sha[:7]}) are not green: {listed}. {env.name} needs green "
                               f"checks; someone allowed to deploy there can override with --force")
    return Plan(ref, sha, force, rollback_of)


async def ask_confirmation(ctx: Context, target: Target, plan: Plan) -> None:
    """Answer with Confirm/Cancel buttons (Slack) or a one-time code (comments); nothing starts yet."""
    code = new_code(secrets.randbelow)
    reply = ctx.event.reply_to
    in_slack = reply is not None and reply.kind == "slack" and bool(reply.channel)
    request = {"repo": str(target.repo), "env": target.env.name, "ref": plan.ref, "sha": plan.sha,
               "force": plan.force, "rollback_of": plan.rollback_of}
    expires = await deploys.save_confirmation(
        ctx.db, code=code, kind="slack" if in_slack else "comment", repo=str(target.repo),
        requested_by=principal(ctx), request=request, ttl=target.seconds("confirm_ttl"))
    await ctx.audit("confirmation_requested", f"{target.env.name} {plan.ref} {plan.sha[:7]}", repo=target.repo)
    data = dict(repo=target.repo, env=target.env.name, plan=plan, who=principal(ctx), expires_at=expires,
                code=code, rollback=plan.rollback_of is not None)
    if in_slack:
        text = ctx.render.for_chat("deploy_confirm", **data)
        await ctx.chat.post(reply.channel, text, blocks=confirm_blocks(text, code), thread_ts=reply.thread_ts)
    else:
        await ctx.reply("deploy_confirm", ephemeral=False, **data)


async def _claim(ctx: Context, code: str) -> tuple[dict, Target, Plan]:
    """Check and use a confirmation, re-checking the request as if it were new; returns what to start."""
    row = await deploys.get_confirmation(ctx.db, code)
    retrying = False
    if row is not None and row["outcome"] == "confirmed":
        # A retried job (or a second click) after a confirmed deploy failed to start may try again;
        # a deploy that started, or is starting, is never started twice.
        existing = await deploys.get_deployment(ctx.db, request_id=request_id(f"confirm:{code}"))
        retrying = existing is not None and existing["forge_id"] is None and existing["status"] == "error"
    repo = str(ctx.event.repo) if ctx.event.repo else None
    seen = {**row, "used_at": None} if retrying else row
    problem = confirmation_problem(seen, principal=principal(ctx), repo=repo,
                                   now=row["used_at"] if retrying else time.time())
    if problem:
        raise CommandError(problem)
    if not retrying and not await deploys.use_confirmation(ctx.db, code, "confirmed"):
        raise CommandError("this deploy was confirmed already")
    request = row["request"]
    async with _refusal_recorded(ctx, code):
        target = await find_target(ctx, request["env"], request["repo"])
        pinned = request["sha"] if request["rollback_of"] is not None else None
        plan = await check(ctx, target, request["ref"], sha=pinned, force=request["force"],
                           rollback_of=request["rollback_of"], action="roll back" if pinned else "deploy to")
        if plan.sha != request["sha"]:
            raise CommandError(f"{plan.ref} moved from {request['sha'][:7]} to {plan.sha[:7]} since you asked; "
                               f"nothing was deployed. Ask again to deploy the new commit")
    await ctx.audit("confirmed", f"{target.env.name} {plan.ref} {plan.sha[:7]}", repo=target.repo)
    return row, target, plan


async def confirm_by_code(ctx: Context, code: str) -> None:
    """`/deploy confirm <code>`: the same person, within confirm_ttl, the ref re-checked."""
    code = normalize_code(code)
    row, target, plan = await _claim(ctx, code)
    async with _refusal_recorded(ctx, code):
        await start(ctx, target, plan, requested_by=row["requested_by"], reply_to=ctx.event.reply_to,
                    seed=f"confirm:{code}")


@asynccontextmanager
async def _refusal_recorded(ctx: Context, code: str) -> AsyncIterator[None]:
    """A used confirmation whose deploy is then refused (busy, locked, moved) says so when clicked again."""
    try:
        yield
    except CommandError:
        await deploys.set_confirmation_outcome(ctx.db, code, "refused")
        raise


def _clicked(ctx: Context) -> tuple[str, MessageRef | None]:
    actions = ctx.event.payload.get("actions") or [{}]
    reply = ctx.event.reply_to
    message = MessageRef(reply.channel, reply.thread_ts) if reply and reply.channel and reply.thread_ts else None
    return str(actions[0].get("value") or ""), message


@router.action("deploy_confirm")
async def deploy_confirmed(ctx: Context) -> None:
    """The Confirm button: only the requester's click counts; the message becomes the deploy's status."""
    code, message = _clicked(ctx)
    try:
        row, target, plan = await _claim(ctx, code)
    except CommandError as exc:
        await ctx.audit("refused", f"confirm button: {exc.message}")
        await _retire_expired(ctx, code, message)
        raise
    async with _refusal_recorded(ctx, code):
        await start(ctx, target, plan, requested_by=row["requested_by"], reply_to=ctx.event.reply_to,
                    seed=f"confirm:{code}", message=message)


@router.action("deploy_cancel")
async def deploy_cancelled(ctx: Context) -> None:
    """The Cancel button: the requester withdraws the request; the buttons go away."""
    code, message = _clicked(ctx)
    row = await deploys.get_confirmation(ctx.db, code)
    problem = confirmation_problem(row, principal=principal(ctx), repo=None, now=time.time())
    if problem and not (row and row["requested_by"] == principal(ctx) and row["used_at"] is None):
        await ctx.audit("refused", f"cancel button: {problem}")
        raise CommandError(problem)
    if not await deploys.use_confirmation(ctx.db, code, "cancelled"):
        raise CommandError(f"this deploy was {row['outcome'] or 'handled'} already")
    await ctx.audit("cancelled", f"{row['request']['env']} {row['request']['ref']}", repo=row["repo"])
    if message:
        text = ctx.render.for_chat("deploy_cancelled", request=row["request"], who=principal(ctx), at=utc(time.time()))
        await ctx.chat.update(message, text, blocks=text_blocks(text))


async def _retire_expired(ctx: Context, code: str, message: MessageRef | None) -> None:
    """When the requester clicks an expired Confirm, take the buttons away so nobody tries again."""
    row = await deploys.get_confirmation(ctx.db, code)
    if (message is None or row is None or row["requested_by"] != principal(ctx) or row["used_at"] is not None
            or time.time() < row["expires_at"]):
        return
    if await deploys.use_confirmation(ctx.db, code, "expired"):
        text = ctx.render.for_chat("deploy_expired", request=row["request"], who=row["requested_by"])
        await ctx.chat.update(message, text, blocks=text_blocks(text))
