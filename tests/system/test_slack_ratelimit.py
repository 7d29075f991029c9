"""Slack answering 429 with Retry-After while shipbot posts a slash command's answer."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot.chat.slack import SlackChat
from bot.services import build_services
from bot.settings import SlackSettings
from tests.conftest import SECRETS, make_settings
from tests.fakes import FakeForge
from tests.peers import slack_headers, slash_command_body

# bot.chat.slack waits in-process for up to two short rate limits in a row; a third sends the job
# back to the queue, to run again no sooner than Retry-After.
IN_PROCESS, REQUEUED = 2, 3
RETRY_AFTER = 1.0
ACK_WITHIN = 3.0  # https://api.slack.com/interactivity/slash-commands#responding_basic_receipt
POST = "/api/chat.postMessage"


@pytest.mark.system
class TestSlackRateLimit:
    @pytest.mark.parametrize("limited", [IN_PROCESS, REQUEUED], ids=["waited-in-process", "requeued"])
    async def test_reply_waits_for_retry_after_and_arrives_once(self, serve, sqlite_db, recorder, limited):
        """The command is acknowledged at once; its message is posted once, after Slack's Retry-After."""
        recorder.on("POST", POST, json={"ok": True, "channel": "C0123DEPLOY", "ts": "1700.0001"})
        recorder.on("POST", POST, status=429, json={"ok": False, "error": "ratelimited"},
                    headers={"Retry-After": f"{RETRY_AFTER:g}"}, times=limited)
        recorder.on("POST", "/api/chat.update", json={"ok": True, "channel": "C0123DEPLOY", "ts": "1700.0001"})
        recorder.on("POST", "/commands/.*", body=b"ok")
        settings = make_settings(**SECRETS, SHIPBOT_SLACK_CHANNELS="C0123DEPLOY=github:octo/widget",
                                 SLACK_BOT_TOKEN="xoxb-faults", SLACK_API_URL=recorder.url + "/api")
        forge = FakeForge("github")
        forge.repo("octo/widget")
        async with aiohttp.ClientSession() as session:
            chat = SlackChat(session, SlackSettings(bot_token="xoxb-faults", api_url=recorder.url + "/api/"))
            services = build_services(settings, sqlite_db, forges={"github": forge, "gitlab": FakeForge("gitlab")},
                                      chat=chat)
            client = await serve(settings, services, workers=True)
            body = slash_command_body("/deploy", "staging", response_url=recorder.url + "/commands/T1/1/abc")
            sent = time.monotonic()
            resp = await client.post("/slack/events", data=body,
                                     headers=slack_headers(body, SECRETS["SLACK_SIGNING_SECRET"]))
            acked = time.monotonic() - sent
            deadline = time.monotonic() + 30
            while len(recorder.calls("POST", POST)) <= limited and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            while not recorder.calls("POST", "/api/chat.update") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # the deploy goes on after its message is posted
            await asyncio.sleep(0.5)  # room for a wrong second post to show up
        assert resp.status == 200 and acked < ACK_WITHIN, f"acknowledged in {acked:.2f} s"
        calls = recorder.calls("POST", POST)
        assert len(calls) == limited + 1, "posted once after the refused tries, never twice"
        gaps = [b.at - a.at for a, b in zip(calls, calls[1:])]
        assert min(gaps) >= RETRY_AFTER, f"each try waited for Retry-After: {gaps}"
        assert len({c.body for c in calls}) == 1, "the same message each time"
        assert len(forge.writes("create_deployment")) == 1
        [job] = await services.queue.listing(("done",))
        assert job["attempts"] == (1 if limited == IN_PROCESS else 2), "a long wait goes back to the queue"
