"""Choose each platform's adapter: the real client when credentials are set, recorded writes otherwise."""
from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Mapping

import aiohttp
import structlog

from bot.chat.base import Chat, RecordingChat
from bot.forge.base import Forge
from bot.forge.dryrun import DryRunForge
from bot.settings import Settings
from bot.writes import WriteLog

log = structlog.get_logger("shipbot.adapters")


async def open_adapters(settings: Settings, writes: WriteLog, stack: AsyncExitStack) -> tuple[Mapping[str, Forge], Chat]:
    """Forges and chat for this process; `stack` closes what they opened (one shared ClientSession).

    In dry-run, and for a platform without credentials, writes are recorded and logged; reads still go
    to the real API where credentials allow.
    """
    session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)))
    real: dict[str, Forge] = {}
    if settings.github.can_write:
        from bot.forge.github import GitHubForge

        real["github"] = GitHubForge(session, settings.github)
    if settings.gitlab.can_write:
        from bot.forge.gitlab import GitLabForge  # python-gitlab loads only when GitLab is configured

        gitlab = GitLabForge(settings.gitlab, max_workers=max(settings.worker_concurrency, 1))
        stack.push_async_callback(gitlab.close)
        real["gitlab"] = gitlab
    forges: dict[str, Forge] = {}
    for name in ("github", "gitlab"):
        adapter = real.get(name)
        if adapter is not None and not settings.dry_run:
            forges[name] = adapter
        else:
            forges[name] = DryRunForge(name, adapter, writes)
            if adapter is None and getattr(settings, name).enabled:
                log.warning(f"{name} webhooks are enabled but no {name} credentials are set: "
                            f"shipbot can read nothing there and only logs what it would write")
    chat: Chat = RecordingChat(writes)
    if settings.slack.can_write and not settings.dry_run:
        from bot.chat.slack import SlackChat

        chat = SlackChat(session, settings.slack)
    return forges, chat
