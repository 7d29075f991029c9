"""End to end: an absolute URL in a payload that points at another host is never contacted."""
from __future__ import annotations

import asyncio
import io
import json
import time

import aiohttp

from bot import logs
from bot.chat.slack import SlackChat
from bot.services import build_services
from bot.settings import SlackSettings
from tests.conftest import SECRETS, make_settings
from tests.fakes import FakeForge
from tests.peers import slack_headers, slash_command_body
from tests.recorder import RecordingServer


class TestPayloadURLs:
    async def test_response_url_on_another_port_is_not_contacted(self, serve, sqlite_db, recorder):
        """A signed slash command whose response_url points at another local server: no request, one log line."""
        other = await RecordingServer().start()
        other.on("POST", ".*", body=b"ok")
        out = io.StringIO()
        logs.configure(stream=out)
        try:
            settings = make_settings(**SECRETS, SHIPBOT_SLACK_CHANNELS="C0123DEPLOY=github:octo/widget",
                                     SLACK_BOT_TOKEN="xoxb-e2e", SLACK_API_URL=recorder.url + "/api")
            async with aiohttp.ClientSession() as session:
                chat = SlackChat(session, SlackSettings(bot_token="xoxb-e2e", api_url=recorder.url + "/api/"))
                services = build_services(settings, sqlite_db, chat=chat,
                                          forges={"github": FakeForge("github"), "gitlab": FakeForge("gitlab")})
                client = await serve(settings, services, workers=True)
                body = slash_command_body("/shipbot", "help", response_url=other.url + "/commands/T1/1/secret")
                resp = await client.post("/slack/events", data=body,
                                         headers=slack_headers(body, SECRETS["SLACK_SIGNING_SECRET"]))
                assert resp.status == 200
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    counts = await services.queue.counts()
                    if counts["done"] + counts["dead"] >= 1 or counts["retrying"]:
                        break
                    await asyncio.sleep(0.05)
            assert other.requests == [], "the foreign response_url was contacted"
            refused = [line for line in map(json.loads, out.getvalue().splitlines())
                       if line.get("event") == "url_refused"]
            assert refused and refused[0]["url"] == other.url and "secret" not in out.getvalue()
        finally:
            logs.configure()
            await other.stop()
