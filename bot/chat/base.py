"""Define the one Chat interface handlers use, and the dry-run recorder behind it."""
from __future__ import annotations

import abc
import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.errors import BotError, TransientError
from bot.writes import WriteLog


class ChatError(BotError):
    """Slack refused the request; the message says why and what to do."""


class ChatUnavailable(TransientError):
    """Slack could not be reached or answered 5xx: retry later."""


@dataclass(frozen=True)
class MessageRef:
    """A posted chat message, to update in place or to reply under."""

    channel: str
    ts: str


class Chat(abc.ABC):
    """Post to chat. Slack implements it in bot/chat/slack.py."""

    @abc.abstractmethod
    async def post(self, channel: str, text: str, *, blocks: list[dict] | None = None,
                   thread_ts: str | None = None) -> MessageRef: ...

    @abc.abstractmethod
    async def update(self, ref: MessageRef, text: str, *, blocks: list[dict] | None = None) -> None: ...

    @abc.abstractmethod
    async def ephemeral(self, channel: str, user: str, text: str, *, blocks: list[dict] | None = None) -> None: ...

    @abc.abstractmethod
    async def respond(self, response_url: str, text: str, *, blocks: list[dict] | None = None,
                      ephemeral: bool = True, replace_original: bool = False) -> None: ...

    async def usergroup_members(self, group_id: str) -> set[str]:
        """The user ids in a Slack user group (`S0456DEF`), for `slack-group:` principals.

        Not abstract, so chat adapters written before it keep working: one that cannot tell raises
        NotImplementedError, and permission checks then treat the group as not matching.
        """
        raise NotImplementedError("this chat cannot look up user groups")


@dataclass
class RecordingChat(Chat):
    """Dry-run chat: records and logs every message instead of sending it."""

    writes: WriteLog = field(default_factory=WriteLog)
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    usergroups: dict[str, set[str]] = field(default_factory=dict)  # reads answered from here (tests, replay)

    async def post(self, channel, text, *, blocks=None, thread_ts=None):
        ref = MessageRef(channel, f"dry.{next(self._ts)}")
        self.writes.record("slack", "post", channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, ts=ref.ts)
        return ref

    async def update(self, ref, text, *, blocks=None):
        self.writes.record("slack", "update", channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)

    async def ephemeral(self, channel, user, text, *, blocks=None):
        self.writes.record("slack", "ephemeral", channel=channel, user=user, text=text, blocks=blocks)

    async def usergroup_members(self, group_id):
        return set(self.usergroups.get(group_id, ()))

    async def respond(self, response_url, text, *, blocks=None, ephemeral=True, replace_original=False):
        self.writes.record("slack", "respond", response_url=response_url, text=text, blocks=blocks,
                           ephemeral=ephemeral, replace_original=replace_original)
