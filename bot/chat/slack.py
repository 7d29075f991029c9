"""Post to Slack with slack_sdk's AsyncWebClient on the process's one aiohttp session."""
from __future__ import annotations

import asyncio
from typing import Any, Sequence

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.chat.base import Chat, ChatError, ChatUnavailable, MessageRef
from bot.errors import TransientError
from bot.sansio.urls import allowed_url, shown
from bot.settings import SlackSettings

log = structlog.get_logger("shipbot.slack")

# response_url always points at Slack's hooks host:
# https://api.slack.com/interactivity/handling#message_responses
RESPONSE_URL_BASES = ("https://hooks.slack.com",)
# Wait in-process for short rate limits; longer ones go back to the queue with their Retry-After.
INLINE_RETRY_LIMIT = 5.0
MAX_BLOCKS = 50  # https://api.slack.com/reference/block-kit/blocks


class SlackRateLimited(TransientError):
    """Slack answered 429; retry after `retry_after` seconds."""


def validated_blocks(blocks: Sequence[dict | Block] | None) -> list[dict] | None:
    """Parse every block with slack_sdk's models, which raise on what Slack would reject."""
    if not blocks:
        return None
    if len(blocks) > MAX_BLOCKS:
        raise ChatError(f"a Slack message holds at most {MAX_BLOCKS} blocks, not {len(blocks)}")
    parsed = []
    for block in blocks:
        model = block if isinstance(block, Block) else Block.parse(block)
        if model is None:
            raise ChatError(f"not a Slack block: {block!r:.80}")
        model.validate_json()
        parsed.append(model.to_dict())
    return parsed


class SlackChat(Chat):
    """The Chat interface on Slack's Web API and response_url webhooks."""

    def __init__(self, session: aiohttp.ClientSession, settings: SlackSettings) -> None:
        self.session = session
        self.client = AsyncWebClient(token=settings.bot_token or None, base_url=settings.api_url,
                                     session=session, timeout=15)
        # Slack's own API host (SLACK_API_URL, a local stand-in in tests) may also serve response_url.
        self.response_bases = (*RESPONSE_URL_BASES, shown(settings.api_url))

    async def _call(self, method: str, *, form: bool = False, **kwargs: Any) -> dict:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        for attempt in range(3):
            try:
                # Read methods such as usergroups.users.list take form fields, not a JSON body.
                response = await (self.client.api_call(method, data=kwargs) if form
                                  else self.client.api_call(method, json=kwargs))
                return response.data if isinstance(response.data, dict) else {}
            except SlackApiError as exc:
                status = exc.response.status_code
                error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                if status == 429 or error == "ratelimited":
                    wait = float(exc.response.headers.get("Retry-After", "1") or 1)
                    if wait <= INLINE_RETRY_LIMIT and attempt < 2:
                        await asyncio.sleep(wait)
                        continue
                    raise SlackRateLimited(f"Slack is rate limiting {method}", retry_after=wait) from None
                if status >= 500:
                    raise ChatUnavailable(f"Slack answered {status} to {method}") from None
                raise ChatError(_explain(method, error or f"HTTP {status}")) from None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if attempt < 1:
                    continue
                raise ChatUnavailable(f"Slack cannot be reached ({type(exc).__name__})") from None
        raise ChatUnavailable(f"Slack kept rate limiting {method}")

    async def post(self, channel, text, *, blocks=None, thread_ts=None):
        data = await self._call("chat.postMessage", channel=channel, text=text, blocks=validated_blocks(blocks),
                                thread_ts=thread_ts, unfurl_links=False)
        return MessageRef(data.get("channel", channel), str(data.get("ts")))

    async def update(self, ref, text, *, blocks=None):
        await self._call("chat.update", channel=ref.channel, ts=ref.ts, text=text, blocks=validated_blocks(blocks))

    async def usergroup_members(self, group_id):
        # https://api.slack.com/methods/usergroups.users.list (scope usergroups:read)
        data = await self._call("usergroups.users.list", form=True, usergroup=group_id)
        return set(data.get("users") or ())

    async def ephemeral(self, channel, user, text, *, blocks=None):
        await self._call("chat.postEphemeral", channel=channel, user=user, text=text, blocks=validated_blocks(blocks))

    async def respond(self, response_url, text, *, blocks=None, ephemeral=True, replace_original=False):
        if not allowed_url(response_url, self.response_bases):
            log.warning("url_refused", url=shown(response_url), allowed=list(self.response_bases),
                        setting="SLACK_API_URL")
            raise ChatError(f"refusing to post to {shown(response_url)}: a response_url must point at Slack")
        webhook = AsyncWebhookClient(response_url, session=self.session, timeout=15)
        for attempt in range(3):
            try:
                response = await webhook.send(text=text, blocks=validated_blocks(blocks),
                                              response_type="ephemeral" if ephemeral else "in_channel",
                                              replace_original=replace_original)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if attempt < 1:
                    continue
                raise ChatUnavailable(f"Slack cannot be reached ({type(exc).__name__})") from None
            if response.status_code == 429:
                wait = float(response.headers.get("Retry-After", 1))
                if wait <= INLINE_RETRY_LIMIT and attempt < 2:
                    await asyncio.sleep(wait)
                    continue
                raise SlackRateLimited("Slack is rate limiting replies", retry_after=wait)
            if response.status_code >= 500:
                raise ChatUnavailable(f"Slack answered {response.status_code} to a reply")
            if response.status_code != 200:
                # An expired response_url (30 minutes, five uses) answers 404 "expired_url" or similar.
                raise ChatError(f"Slack refused the reply ({response.status_code}: {response.body[:80]})")
            return


def _explain(method: str, error: str) -> str:
    hints = {
        "not_in_channel": "invite the shipbot app to the channel (/invite @shipbot)",
        "channel_not_found": "the channel does not exist or shipbot cannot see it",
        "invalid_auth": "SLACK_BOT_TOKEN is not valid",
        "not_authed": "SLACK_BOT_TOKEN is not set",
        "missing_scope": "the Slack app lacks a scope; reinstall it with the manifest's scopes",
        "invalid_blocks": "the message's blocks were rejected",
        "msg_too_long": "the message is too long for Slack",
    }
    return f"Slack refused {method}: {error}" + (f" ({hints[error]})" if error in hints else "")
