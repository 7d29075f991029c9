"""Lock environments with /lock, /unlock and /locks, so a deploy does not walk over someone's work."""
from __future__ import annotations

from bot import deploys, links
from bot.context import Context
from bot.errors import CommandError
from bot.render import utc
from bot.routing import Help, Router
from handlers.environments import find_target, may_deploy_somewhere, notify, principal, require_permission

router = Router()

WHO = "whoever may deploy to that environment"
LOCK_HELP = Help(
    summary="Lock an environment: others cannot deploy there until you unlock it or the lock expires",
    usage="/lock <env> [reason] [--steal]",
    examples=("/lock staging testing the migration", "/shipbot lock production --steal"),
    who=WHO + "; taking over someone's lock needs --steal and tells them", allowed=may_deploy_somewhere)
UNLOCK_HELP = Help(summary="Unlock an environment you locked", usage="/unlock <env>",
                   examples=("/unlock staging",), who="the person holding the lock",
                   allowed=may_deploy_somewhere)
LOCKS_HELP = Help(summary="List the locked environments", usage="/locks [--repo R]", examples=("/locks",),
                  who="anyone")


def _env_arg(ctx: Context) -> str:
    if not ctx.command.args:
        usage = (LOCK_HELP if ctx.command.name == "lock" else UNLOCK_HELP).usage
        raise CommandError(f"which environment? usage: {usage}")
    return ctx.command.args[0]


def held_message(env: str, lock: dict) -> str:
    """Why an environment refuses someone: who locked it, when, why and until when."""
    reason = f" ({lock['reason']})" if lock.get("reason") else ""
    return (f"{env} is locked by {lock['owner']} since {utc(lock['created_at'])}{reason}; "
            f"the lock expires at {utc(lock['expires_at'])}")


@router.command("lock", help=LOCK_HELP)
async def lock_requested(ctx: Context) -> None:
    """Take the lock, renew your own, or take over another's with --steal (telling its owner)."""
    target = await find_target(ctx, _env_arg(ctx), ctx.command.option("repo"))
    env = target.env.name
    await require_permission(ctx, target, f"lock {env}")
    reason = " ".join(ctx.command.args[1:]) or None
    steal = bool(ctx.command.option("steal", False))
    outcome, previous = await deploys.take_lock(
        ctx.db, str(target.repo), env, owner=principal(ctx), owner_reply=deploys.target_json(ctx.event.reply_to),
        reason=reason, ttl=target.seconds("lock_ttl"), steal=steal)
    if outcome == "held":
        raise CommandError(f"{held_message(env, previous)}. To take it over: /lock {env} --steal")
    await ctx.audit(f"lock_{outcome}", f"{env}: {reason or 'no reason given'}"
                    + (f"; taken from {previous['owner']}" if outcome == "stolen" else ""), repo=target.repo)
    lock = await deploys.active_lock(ctx.db, str(target.repo), env)
    if outcome == "stolen":
        await notify(ctx, deploys.target_from_json(previous["owner_reply"]), "lock_stolen", repo=target.repo,
                     env=env, previous=previous, lock=lock)
    await ctx.reply("locked", repo=target.repo, env=env, lock=lock, outcome=outcome, previous=previous,
                    ephemeral=False)


@router.command("unlock", help=UNLOCK_HELP)
async def unlock_requested(ctx: Context) -> None:
    """Release your lock; someone else's lock is refused with how to take it over."""
    target = await find_target(ctx, _env_arg(ctx), ctx.command.option("repo"))
    env = target.env.name
    outcome, lock = await deploys.release_lock(ctx.db, str(target.repo), env, principal(ctx))
    if outcome == "not_yours":
        raise CommandError(f"{held_message(env, lock)}; only they can unlock it. "
                           f"To take it over: /lock {env} --steal")
    await ctx.audit("unlocked" if outcome == "released" else "unchanged", env, repo=target.repo)
    await ctx.reply("unlocked", repo=target.repo, env=env, released=outcome == "released", ephemeral=False)


@router.command("locks", help=LOCKS_HELP)
async def locks_requested(ctx: Context) -> None:
    """List unexpired locks of the comment's repository or of every repository linked to the channel."""
    name = ctx.command.option("repo")
    if ctx.event.source == "slack" and not name and ctx.event.reply_to and ctx.event.reply_to.channel:
        repos = await links.linked_repos(ctx, ctx.event.reply_to.channel)
        if not repos:
            await links.resolve_repo(ctx, None)  # raises the usual "not linked" explanation
    else:
        repos = [await links.resolve_repo(ctx, name)]
    found = await deploys.list_locks(ctx.db, [str(r) for r in repos])
    await ctx.audit("listed", f"{len(found)} locks", repo=repos[0] if len(repos) == 1 else None)
    await ctx.reply("locks", repos=repos, locks=found)
