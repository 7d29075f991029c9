"""Give each handler run one Context: the event, the adapters, the store and a way to answer."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sansio.commands import Command, UsageError
from bot.sansio.events import Event, RepoRef
from bot.store.tables import audit_log

if TYPE_CHECKING:
    from bot.chat.base import Chat
    from bot.sansio.repoconfig import RepoConfig
    from bot.forge.base import Forge
    from bot.services import Services


@dataclass
class Context:
    """What a handler gets: never a raw client, always neutral interfaces."""

    event: Event
    command: Command | UsageError | None
    services: "Services"
    log: Any
    key: str = ""  # the handler route, to tell this run's replies from others'
    attempt: int = 1
    _replies: int = 0

    @property
    def settings(self):
        return self.services.settings

    @property
    def chat(self) -> "Chat":
        return self.services.chat

    @property
    def render(self):
        return self.services.render

    @property
    def db(self):
        return self.services.db

    @property
    def router(self):
        return self.services.router

    @property
    def repo(self) -> RepoRef | None:
        return self.event.repo

    @property
    def forge(self) -> "Forge | None":
        """The adapter for the event's repository, when the event has one."""
        return self.forge_for(self.event.repo) if self.event.repo else None

    def forge_for(self, repo: RepoRef) -> "Forge":
        return self.services.forges[repo.forge]

    async def repo_config(self, repo: RepoRef | None = None) -> "RepoConfig":
        """The repository's .shipbot.yml from its default branch (defaults when absent).

        Raises ConfigError, whose message names the file, line and key, when the file is invalid.
        """
        repo = repo or self.event.repo
        if repo is None:
            raise ValueError("this event has no repository")
        return await self.services.configs.load(self.forge_for(repo), repo)

    async def reply(self, template: str, *, ephemeral: bool = True, **data: Any) -> None:
        """Answer where the person asked: their Slack conversation or the PR/MR/issue thread."""
        target = self.event.reply_to
        if target is None:
            self.log.info("reply_without_target", template=template)
            return
        data.setdefault("event", self.event)
        data.setdefault("command", self.command)
        if target.kind == "slack":
            text = self.render.for_chat(template, **data)
            if target.response_url:
                await self.chat.respond(target.response_url, text, ephemeral=ephemeral)
            elif ephemeral and target.channel and target.user:
                await self.chat.ephemeral(target.channel, target.user, text)
            elif target.channel:
                await self.chat.post(target.channel, text, thread_ts=target.thread_ts)
            return
        if target.repo is not None and target.number is not None:
            # Each reply carries a marker naming its delivery, handler and place, so a retried job
            # edits the answer it already gave instead of posting it twice.
            self._replies += 1
            marker = f"<!-- shipbot:reply {self.event.delivery_id} {self.key} {self._replies} -->"
            body = marker + "\n" + self.render.for_forge(template, **data)
            forge = self.forge_for(target.repo)
            if self.attempt > 1:
                await forge.upsert_comment(target.repo, target.number, marker, body,
                                           on_change_request=target.on_change_request)
            else:
                await forge.create_comment(target.repo, target.number, body,
                                           on_change_request=target.on_change_request)

    async def audit(self, decision: str, detail: str | None = None, *, repo: RepoRef | str | None = None) -> None:
        """Record a command or decision: who, what, where, result."""
        event, target = self.event, self.event.reply_to
        where = None
        if target and target.kind == "slack":
            where = f"slack:{target.channel}"
        elif target and target.repo:
            where = f"{target.repo}#{target.number}"
        command = getattr(self.command, "line", None)
        async with self.db.begin() as conn:
            await conn.execute(audit_log.insert().values(
                at=time.time(), delivery_key=f"{event.source}:{event.delivery_id}", source=event.source,
                actor=event.actor.principal if event.actor else None,
                repo=str(repo or event.repo) if (repo or event.repo) else None,
                location=where, command=command, decision=decision, detail=detail))
