"""Link a Slack channel to repositories with /shipbot link and /shipbot unlink."""
from __future__ import annotations

from bot import links
from bot.context import Context
from bot.errors import CommandError
from bot.routing import Help, Router

router = Router()

LINK_HELP = Help(
    summary="Let this Slack channel run commands on a repository",
    usage="/shipbot link <repo>",
    examples=("/shipbot link octo/widget", "/shipbot link gitlab:platform/api"),
    who="Slack admins (SHIPBOT_SLACK_ADMINS), or anyone when the repository's .shipbot.yml lists this "
        "channel under chat.slack_channels",
)
UNLINK_HELP = Help(summary="Stop this channel from running commands on a repository",
                   usage="/shipbot unlink <repo>", examples=("/shipbot unlink octo/widget",), who=LINK_HELP.who)


def _slack_only(ctx: Context) -> str:
    if ctx.event.source != "slack" or not ctx.event.reply_to or not ctx.event.reply_to.channel:
        raise CommandError("link and unlink work in a Slack channel: they choose what that channel may act on")
    if not ctx.command.args:
        raise CommandError(f"which repository? usage: /shipbot {ctx.command.name} <repo>")
    return ctx.event.reply_to.channel


async def _may_link(ctx: Context, channel: str, repo) -> None:
    user = ctx.event.actor.id if ctx.event.actor else None
    if user in ctx.settings.slack.admins:
        return
    config = await ctx.repo_config(repo)
    allowed = config.section("chat")["slack_channels"]
    channel_name = ctx.event.payload.get("channel_name")
    if channel in allowed or (channel_name and f"#{channel_name}" in allowed):
        return
    raise CommandError(f"{repo} does not list this channel: add `{channel}` to chat.slack_channels in its "
                       f".shipbot.yml, or ask a Slack admin (SHIPBOT_SLACK_ADMINS) to link it")


@router.command("link", help=LINK_HELP)
async def link_requested(ctx: Context) -> None:
    """Link the channel after checking the repository exists and allows it."""
    channel = _slack_only(ctx)
    repo = links.parse_or_refuse(ctx, ctx.command.args[0])
    await ctx.forge_for(repo).default_branch(repo)  # NotFound: shipbot cannot see it
    await _may_link(ctx, channel, repo)
    added = await links.link(ctx, channel, repo, ctx.event.actor.principal if ctx.event.actor else "unknown")
    await ctx.audit("linked" if added else "unchanged", f"channel {channel}", repo=repo)
    await ctx.reply("linked", repo=repo, added=added, linked=await links.linked_repos(ctx, channel), ephemeral=False)


@router.command("unlink", help=UNLINK_HELP)
async def unlink_requested(ctx: Context) -> None:
    """Remove a link made with /shipbot link (presets from settings stay)."""
    channel = _slack_only(ctx)
    repo = links.parse_or_refuse(ctx, ctx.command.args[0])
    await _may_link(ctx, channel, repo)
    removed = await links.unlink(ctx, channel, repo)
    preset = str(repo) in ctx.settings.slack.channels.get(channel, "").split(",")
    await ctx.audit("unlinked" if removed else "unchanged", f"channel {channel}", repo=repo)
    await ctx.reply("unlinked", repo=repo, removed=removed, preset=preset,
                    linked=await links.linked_repos(ctx, channel), ephemeral=False)
