"""A protected deploy end to end through the real app: signed Slack command and click, signed PR comment."""
from __future__ import annotations

import pytest

from bot.chat.base import RecordingChat
from bot.services import build_services
from tests.conftest import SECRETS, make_settings
from tests.fakes import FakeForge
from tests.handlers.chatops import GITHUB_REPO, pr_comment
from tests.ingress.helpers import wait_until_processed
from tests.peers import block_actions_body, body_of, github_headers, slack_headers, slash_command_body

CONFIG = ("deploy:\n  environments:\n    staging: {}\n    production:\n"
          "      allow: ['slack:U0123ABC', 'github:Codertocat']\n")


@pytest.fixture
async def app(serve, db):
    """The real app with its workers, on both backends, with the shared fakes at the network edge."""
    settings = make_settings(**SECRETS, SHIPBOT_SLACK_CHANNELS="C0123DEPLOY=github:octo/widget",
                             SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL="http://127.0.0.1:9/api")
    forge = FakeForge("github")
    for path in ("octo/widget", GITHUB_REPO):
        forge.repo(path).files["main", ".shipbot.yml"] = CONFIG
    forge.repo(GITHUB_REPO).permissions["Codertocat"] = "admin"
    services = build_services(settings, db, forges={"github": forge, "gitlab": FakeForge("gitlab")},
                              chat=RecordingChat())
    client = await serve(settings, services, workers=True)
    return client, services, forge


async def slack_post(client, body: bytes):
    resp = await client.post("/slack/events", data=body,
                             headers=slack_headers(body, SECRETS["SLACK_SIGNING_SECRET"]))
    assert resp.status == 200
    return resp


class TestSignedDeploy:
    async def test_slack_command_then_confirm_button(self, app):
        """Signed `/deploy production`, then the requester's signed Confirm click: one deployment."""
        client, services, forge = app
        await slack_post(client, slash_command_body("/deploy", "production"))
        await wait_until_processed(services, 1)
        (ask,) = [w for w in services.chat.writes.writes if w.action == "post"]
        code = ask.data["blocks"][1]["elements"][0]["value"]
        assert forge.writes("create_deployment") == []
        await slack_post(client, block_actions_body("deploy_confirm", code, message_ts=ask.data["ts"]))
        await wait_until_processed(services, 2)
        (call,) = forge.writes("create_deployment")
        assert call["environment"] == "production" and call["inputs"]["requested_by"] == "slack:U0123ABC"
        assert call["payload"]["slack"] == {"channel": "C0123DEPLOY", "ts": ask.data["ts"]}

    async def test_pr_comment_then_confirm_code(self, app):
        """A signed PR comment gets a code; the same person's signed confirm comment deploys."""
        client, services, forge = app
        secret = SECRETS["GITHUB_WEBHOOK_SECRET"]
        body = body_of(pr_comment("/deploy production main"))
        resp = await client.post("/webhooks/github", data=body, headers=github_headers("issue_comment", body, secret))
        assert resp.status == 202
        await wait_until_processed(services, 1)
        asked = forge.writes("create_comment")[0]["body"]
        code = asked.split("/deploy confirm ", 1)[1].split()[0]
        body = body_of(pr_comment(f"/deploy confirm {code}"))
        resp = await client.post("/webhooks/github", data=body, headers=github_headers("issue_comment", body, secret))
        assert resp.status == 202
        await wait_until_processed(services, 2)
        (call,) = forge.writes("create_deployment")
        assert call["inputs"]["requested_by"] == "github:Codertocat" and call["ref"] == "main"
