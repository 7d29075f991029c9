"""The Slack adapter: the real AsyncWebClient against a recording server, Block Kit validated."""
from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

from bot.chat.base import ChatError, ChatUnavailable, MessageRef
from bot.chat.slack import SlackChat, SlackRateLimited, validated_blocks
from bot.settings import SlackSettings

TOKEN = "xoxb-recorded-token"


@pytest.fixture
async def chat(recorder):
    async with aiohttp.ClientSession() as session:
        yield SlackChat(session, SlackSettings(signing_secrets=("s",), bot_token=TOKEN, api_url=recorder.url + "/api/"))


def ok(**extra):
    return {"ok": True, **extra}


class TestMessages:
    async def test_post_reply_in_thread_and_update(self, chat, recorder):
        """postMessage, a threaded reply and an in-place update send exactly what Slack expects."""
        recorder.on("POST", "/api/chat.postMessage", json=ok(channel="C1", ts="1700000000.000100"))
        recorder.on("POST", "/api/chat.update", json=ok(channel="C1", ts="1700000000.000100"))
        ref = await chat.post("C1", "Deploying widget to staging", blocks=[SectionBlock(text="*Deploying*")])
        assert ref == MessageRef("C1", "1700000000.000100")
        await chat.post("C1", "step 1 done", thread_ts=ref.ts)
        await chat.update(ref, "Deployed")
        first, reply, update = recorder.requests
        assert first.headers["Authorization"] == f"Bearer {TOKEN}"
        assert first.json == {"channel": "C1", "text": "Deploying widget to staging", "unfurl_links": False,
                              "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Deploying*"}}]}
        assert reply.json["thread_ts"] == "1700000000.000100"
        assert (update.path, update.json) == ("/api/chat.update", {"channel": "C1", "ts": ref.ts, "text": "Deployed"})

    async def test_ephemeral(self, chat, recorder):
        """An ephemeral message names its one reader."""
        recorder.on("POST", "/api/chat.postEphemeral", json=ok(message_ts="1.2"))
        await chat.ephemeral("C1", "U1", "only you can see this")
        assert recorder.requests[0].json == {"channel": "C1", "user": "U1", "text": "only you can see this"}

    async def test_response_url(self, chat, recorder):
        """A reply through response_url carries response_type and replace_original."""
        recorder.on("POST", "/commands/T1/1/abc", body=b"ok")
        await chat.respond(recorder.url + "/commands/T1/1/abc", "done", ephemeral=False, replace_original=True)
        assert recorder.requests[0].json == {"text": "done", "response_type": "in_channel", "replace_original": True}

    async def test_usergroup_members(self, chat, recorder):
        """usergroups.users.list is asked with form fields and answers the group's user ids."""
        recorder.on("POST", "/api/usergroups.users.list", json=ok(users=["U1", "U2"]))
        assert await chat.usergroup_members("S0OPS") == {"U1", "U2"}
        assert recorder.requests[0].form == {"usergroup": ["S0OPS"]}

    async def test_response_url_elsewhere_is_refused(self, chat, recorder):
        """A response_url that does not point at Slack is never called."""
        with pytest.raises(ChatError, match="must point at Slack"):
            await chat.respond("https://attacker.example/collect", "secret deploy details")
        assert recorder.requests == []


class TestBlocks:
    def test_blocks_are_validated_before_sending(self):
        """Blocks Slack would reject fail here, with the reason."""
        good = validated_blocks([ActionsBlock(elements=[ButtonElement(text="Confirm", action_id="deploy_confirm",
                                                                      value="r1", style="danger")])])
        assert good[0]["elements"][0]["style"] == "danger"
        with pytest.raises(Exception):
            validated_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
        with pytest.raises(ChatError, match="at most 50"):
            validated_blocks([{"type": "divider"}] * 51)


class TestFaults:
    async def test_short_rate_limit_is_waited_for(self, chat, recorder):
        """A 429 with Retry-After: 1 is retried in-process, then succeeds."""
        recorder.on("POST", "/api/chat.postMessage", json=ok(channel="C1", ts="2.0"))
        recorder.on("POST", "/api/chat.postMessage", status=429, json={"ok": False, "error": "ratelimited"},
                    headers={"Retry-After": "1"}, times=1)
        assert (await chat.post("C1", "hi")).ts == "2.0"
        assert len(recorder.requests) == 2

    async def test_long_rate_limit_goes_back_to_the_queue(self, chat, recorder):
        """A 429 with a long Retry-After becomes a retryable error carrying that delay."""
        recorder.on("POST", "/api/chat.postMessage", status=429, json={"ok": False, "error": "ratelimited"},
                    headers={"Retry-After": "30"})
        with pytest.raises(SlackRateLimited) as err:
            await chat.post("C1", "hi")
        assert err.value.retry_after == 30

    async def test_server_error_and_unreachable(self, chat, recorder):
        """5xx and refused connections are retryable ChatUnavailable errors."""
        recorder.on("POST", "/api/chat.postMessage", status=503, json={"ok": False, "error": "fatal_error"})
        with pytest.raises(ChatUnavailable):
            await chat.post("C1", "hi")
        async with aiohttp.ClientSession() as session:
            down = SlackChat(session, SlackSettings(bot_token=TOKEN, api_url="http://127.0.0.1:9/api/"))
            with pytest.raises(ChatUnavailable, match="cannot be reached"):
                await down.post("C1", "hi")

    async def test_refusals_explain_what_to_do(self, chat, recorder):
        """not_in_channel says to invite the app."""
        recorder.on("POST", "/api/chat.postMessage", json={"ok": False, "error": "not_in_channel"})
        with pytest.raises(ChatError, match="invite the shipbot app"):
            await chat.post("C1", "hi")
