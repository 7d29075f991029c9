"""Link Slack channels to repositories, and find the repository a command acts on."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.errors import CommandError
from bot.sansio.events import RepoRef
from bot.sansio.repos import parse_repo, pick_linked
from bot.store.tables import channel_links

if TYPE_CHECKING:
    from bot.context import Context


def _ref(text: str) -> RepoRef:
    forge, _, path = text.partition(":")
    return RepoRef(forge, path)


def configured_forges(ctx: "Context") -> tuple[str, ...]:
    s = ctx.settings
    return tuple(f for f, on in (("github", s.github.enabled or s.github.can_write),
                                 ("gitlab", s.gitlab.enabled or s.gitlab.can_write)) if on)


def web_hosts(ctx: "Context") -> dict[str, str]:
    """Web hosts whose URLs people paste, mapped to their forge."""
    from urllib.parse import urlsplit

    hosts = {"github.com": "github"}
    api = urlsplit(ctx.settings.github.api_url).hostname or ""
    if api and api != "api.github.com":
        hosts[api] = "github"  # GitHub Enterprise Server serves the web UI on the same host
    if ctx.settings.gitlab.url:
        hosts[urlsplit(ctx.settings.gitlab.url).hostname or ""] = "gitlab"
    return hosts


async def linked_repos(ctx: "Context", channel: str) -> list[RepoRef]:
    """Repositories linked to a channel: presets from SHIPBOT_SLACK_CHANNELS, then /shipbot link."""
    found = [_ref(r) for r in ctx.settings.slack.channels.get(channel, "").split(",") if r]
    async with ctx.db.connect() as conn:
        rows = (await conn.execute(select(channel_links.c.repo).where(channel_links.c.channel == channel)
                                   .order_by(channel_links.c.at))).scalars().all()
    for repo in map(_ref, rows):
        if repo not in found:
            found.append(repo)
    return found


async def link(ctx: "Context", channel: str, repo: RepoRef, by: str) -> bool:
    """Link; False when it was linked already."""
    insert = (postgresql.insert if ctx.db.dialect == "postgresql" else sqlite.insert)(channel_links)
    async with ctx.db.begin() as conn:
        result = await conn.execute(insert.values(channel=channel, repo=str(repo), linked_by=by, at=time.time())
                                    .on_conflict_do_nothing())
        return result.rowcount == 1


async def unlink(ctx: "Context", channel: str, repo: RepoRef) -> bool:
    async with ctx.db.begin() as conn:
        result = await conn.execute(delete(channel_links).where(channel_links.c.channel == channel,
                                                                channel_links.c.repo == str(repo)))
        return result.rowcount == 1


def parse_or_refuse(ctx: "Context", text: str) -> RepoRef:
    parsed = parse_repo(text, configured_forges(ctx), web_hosts(ctx))
    if isinstance(parsed, str):
        raise CommandError(parsed)
    return parsed


async def resolve_repo(ctx: "Context", name: str | None) -> RepoRef:
    """The repository a command acts on; CommandError says why there is none.

    In a PR/MR or issue comment it is that repository. In Slack it is one of the channel's linked
    repositories: the only one, or the one named (`--repo`, or `<repo>@<ref> to <env>`).
    """
    event = ctx.event
    if event.source in ("github", "gitlab"):
        if name and event.repo and name not in (str(event.repo), event.repo.path, event.repo.path.rsplit("/", 1)[-1]):
            raise CommandError(f"in a comment, commands act on {event.repo.path}; run this one in {name} or in Slack")
        if event.repo is None:
            raise CommandError("this event names no repository")
        return event.repo
    channel = event.reply_to.channel if event.reply_to else None
    if not channel:
        raise CommandError("this Slack request names no channel")
    linked = await linked_repos(ctx, channel)
    if name and (":" in name or name.startswith("http")):
        wanted = parse_or_refuse(ctx, name)
        if wanted in linked:
            return wanted
        raise CommandError(f"{wanted} is not linked to this channel; run /shipbot link {wanted} first")
    chosen = pick_linked(name, linked)
    if isinstance(chosen, str):
        raise CommandError(chosen)
    return chosen
