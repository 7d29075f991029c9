"""Answer /shipbot dora with a repository's DORA metrics over 7, 30 or 90 days."""
from __future__ import annotations

from bot import links
from bot.context import Context
from bot.dora import dora_report
from bot.routing import Help, Router
from bot.sansio.commands import UsageError, parse_dora
from bot.sansio.dora import DEFAULT_WINDOW, WINDOWS

router = Router()

DORA_HELP = Help(
    summary="DORA metrics: deploys a week, lead time, change failure rate, time to restore",
    usage="/shipbot dora [<repo>] [7d|30d|90d]",
    examples=("/shipbot dora", "/shipbot dora 7d", "/shipbot dora octo/widget 90d"),
    who="anyone who can write to the repository, or anyone in a linked Slack channel",
)


@router.command("dora", help=DORA_HELP)
async def dora_requested(ctx: Context) -> None:
    """The metrics of each environment of the repository (in Slack without a name: of every linked one)."""
    request = parse_dora(ctx.command, WINDOWS, DEFAULT_WINDOW)
    if isinstance(request, UsageError):
        await ctx.reply("usage_error", errors=[request])
        return
    channel = ctx.event.reply_to.channel if ctx.event.reply_to else None
    if ctx.event.source == "slack" and not request.repo and channel:
        repos = await links.linked_repos(ctx, channel) or [await links.resolve_repo(ctx, None)]
    else:
        repos = [await links.resolve_repo(ctx, request.repo)]
    found = []
    for repo in repos:
        report = await dora_report(ctx.services, window_days=request.window_days, repo=str(repo))
        found.append((repo, sorted(report, key=lambda m: (not m.production, m.environment))))
    await ctx.audit("listed", f"DORA metrics over {request.window_days} days",
                    repo=repos[0] if len(repos) == 1 else None)
    await ctx.reply("dora", reports=found, window_days=request.window_days)
