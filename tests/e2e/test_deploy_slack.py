"""End to end: a signed `/deploy staging` through slack-bolt, answered through the real Slack client."""
from __future__ import annotations

import asyncio
import time

import aiohttp

from bot.chat.slack import SlackChat
from bot.services import build_services
from bot.settings import SlackSettings
from tests.conftest import SECRETS, make_settings
from tests.fakes import FakeForge
from tests.peers import slack_headers, slash_command_body


class TestSlackDeploy:
    async def test_status_message_posted_and_updated_through_slacks_api(self, sqlite_db, recorder, serve):
        """The deploy's one status message is posted with chat.postMessage and kept up to date with chat.update."""
        recorder.on("POST", "/api/chat.postMessage", json={"ok": True, "channel": "C0123DEPLOY", "ts": "1700.0001"})
        recorder.on("POST", "/api/chat.update", json={"ok": True, "channel": "C0123DEPLOY", "ts": "1700.0001"})
        recorder.on("POST", "/commands/.*", body=b"ok")
        settings = make_settings(**SECRETS, SHIPBOT_SLACK_CHANNELS="C0123DEPLOY=github:octo/widget",
                                 SLACK_BOT_TOKEN="xoxb-e2e", SLACK_API_URL=recorder.url + "/api")
        forge = FakeForge("github")
        forge.repo("octo/widget")
        async with aiohttp.ClientSession() as session:
            chat = SlackChat(session, SlackSettings(bot_token="xoxb-e2e", api_url=recorder.url + "/api/"))
            services = build_services(settings, sqlite_db, forges={"github": forge, "gitlab": FakeForge("gitlab")},
                                      chat=chat)
            client = await serve(settings, services, workers=True)
            body = slash_command_body("/deploy", "staging", response_url=recorder.url + "/commands/T1/1/abc")
            resp = await client.post("/slack/events", data=body,
                                     headers=slack_headers(body, SECRETS["SLACK_SIGNING_SECRET"]))
            assert resp.status == 200
            deadline = time.monotonic() + 30
            while not forge.writes("create_deployment") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            [deployment] = forge.writes("create_deployment")
            assert deployment["environment"] == "staging" and deployment["inputs"]["requested_by"] == "slack:U0123ABC"
            while not recorder.calls("POST", "/api/chat.(postMessage|update)") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        sent = recorder.calls("POST", "/api/chat.(postMessage|update)")
        assert sent and all(r.headers["Authorization"] == "Bearer xoxb-e2e" for r in sent)
        assert sent[0].json["channel"] == "C0123DEPLOY" and "staging" in sent[0].json["text"]
