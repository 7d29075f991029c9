"""List recent deploys with /deploys, and redeploy the previous good one with /rollback."""
from __future__ import annotations

from bot import deploys, links
from bot.context import Context
from bot.errors import CommandError
from bot.routing import Help, Router
from bot.sansio.deploys import rollback_target
from handlers.deploy import DEPLOY_HELP, ask_confirmation, check
from handlers.deploy_runs import expire_stale, start
from handlers.environments import find_target, may_deploy_somewhere, principal

router = Router()

DEPLOYS_HELP = Help(summary="List the last deploys: who, what, when, result", usage="/deploys [<env>] [--repo R]",
                    examples=("/deploys", "/deploys production"), who="anyone")
ROLLBACK_HELP = Help(
    summary="Redeploy the last successful commit before the current one",
    usage="/rollback <env> [--repo R] [--force]", examples=("/rollback production",),
    who="whoever may deploy to that environment; confirmation as for a deploy", allowed=may_deploy_somewhere)
SHOWN = 10


@router.command("deploys", help=DEPLOYS_HELP)
async def deploys_requested(ctx: Context) -> None:
    """History of one environment, or of every environment of the repository (or the channel's)."""
    name = ctx.command.option("repo")
    env = ctx.command.args[0] if ctx.command.args else None
    if env:
        target = await find_target(ctx, env, name)
        repos, env = [target.repo], target.env.name
    elif ctx.event.source == "slack" and not name and ctx.event.reply_to and ctx.event.reply_to.channel:
        repos = await links.linked_repos(ctx, ctx.event.reply_to.channel) or [await links.resolve_repo(ctx, None)]
    else:
        repos = [await links.resolve_repo(ctx, name)]
    for repo in repos:
        await expire_stale(ctx, repo, await ctx.repo_config(repo))
    found = await deploys.history(ctx.db, [str(r) for r in repos], env, limit=SHOWN)
    await ctx.audit("listed", f"{len(found)} deploys" + (f" of {env}" if env else ""),
                    repo=repos[0] if len(repos) == 1 else None)
    await ctx.reply("deploys", repos=repos, env=env, deploys=found)


@router.command("rollback", help=ROLLBACK_HELP)
async def rollback_requested(ctx: Context) -> None:
    """Pick the success before the current deploy and deploy that commit, with the deploy's rules."""
    if not ctx.command.args:
        raise CommandError(f"which environment? usage: {ROLLBACK_HELP.usage}")
    if len(ctx.command.args) > 1:
        raise CommandError(f"a rollback takes only the environment; to deploy a ref use {DEPLOY_HELP.usage}")
    target = await find_target(ctx, ctx.command.args[0], ctx.command.option("repo"))
    recent = await deploys.history(ctx.db, [str(target.repo)], target.env.name, limit=50)
    good = rollback_target(recent)
    if good is None:
        raise CommandError(f"there is no earlier successful deploy of {target.env.name} to roll back to "
                           f"(/deploys {target.env.name} shows the history)")
    current = next(row for row in recent if row["status"] == "success")
    plan = await check(ctx, target, good["ref"], sha=good["sha"], force=bool(ctx.command.option("force", False)),
                       rollback_of=current["id"], action="roll back")
    await ctx.audit("rollback_requested", f"{target.env.name}: {current['sha'][:7]} back to {good['sha'][:7]}",
                    repo=target.repo)
    if target.env.confirm:
        await ask_confirmation(ctx, target, plan)
        return
    await start(ctx, target, plan, requested_by=principal(ctx), reply_to=ctx.event.reply_to,
                seed=f"{ctx.event.source}:{ctx.event.delivery_id}:{ctx.command.line}")
