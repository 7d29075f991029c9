"""End to end: a production deploy's success arrives as a signed GitHub webhook, its commits are recorded,
and `/shipbot dora` answers through slack-bolt and the real Slack client, and in a PR comment."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import aiohttp

from bot import deploys
from bot.chat.slack import SlackChat
from bot.forge.base import Commit
from bot.services import build_services
from bot.settings import SlackSettings
from tests.conftest import SECRETS, make_settings
from tests.fakes import FakeForge
from tests.handlers.chatops import GITHUB_REPO, pr_comment
from tests.handlers.test_deploy_status import status_event
from tests.peers import body_of, github_headers, slack_headers, slash_command_body

H = 3600.0
REPO = "github:octo/widget"


def sha(n: int) -> str:
    return f"{n:040x}"


async def until(check, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not (found := check()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return found


async def started_production_deploy(db, n: int) -> dict:
    """A production deploy of commit n that shipbot started and GitHub has not reported on yet."""
    dep_id, _ = await deploys.claim_environment(
        db, request_id=f"{n:032x}", repo=REPO, env="production", ref="main", sha=sha(n),
        requested_by="slack:U0123ABC", source="slack", reply_to=None)
    await deploys.record_started(db, dep_id, forge_id=str(1000 + n), run_url=None, environment_url=None)
    return await deploys.get_deployment(db, id=dep_id)


class TestDoraEndToEnd:
    async def test_webhooks_record_commits_and_slack_answers(self, serve, sqlite_db, recorder):
        """Four successes and a failure reported by GitHub; `/shipbot dora 7d` in Slack shows the figures."""
        recorder.on("POST", "/commands/.*", body=b"ok")
        settings = make_settings(**SECRETS, SHIPBOT_SLACK_CHANNELS="C0123DEPLOY=github:octo/widget",
                                 SLACK_BOT_TOKEN="xoxb-e2e", SLACK_API_URL=recorder.url + "/api")
        now = time.time()
        forge = FakeForge("github")
        forge.repo("octo/widget").commits = [
            Commit(sha(n), f"feat: {n}", date=datetime.fromtimestamp(now - (6 - n) * H, timezone.utc).isoformat())
            for n in range(5, -1, -1)]
        secret = SECRETS["GITHUB_WEBHOOK_SECRET"]
        async with aiohttp.ClientSession() as session:
            chat = SlackChat(session, SlackSettings(bot_token="xoxb-e2e", api_url=recorder.url + "/api/"))
            services = build_services(settings, sqlite_db, forges={"github": forge, "gitlab": FakeForge("gitlab")},
                                      chat=chat)
            client = await serve(settings, services, workers=True)
            for n, state in ((1, "success"), (2, "success"), (3, "failure"), (4, "success"), (5, "success")):
                row = await started_production_deploy(sqlite_db, n)
                call = {"payload": {"shipbot_request_id": row["request_id"]}}
                body = body_of(status_event(call, state))
                resp = await client.post("/webhooks/github", data=body,
                                         headers=github_headers("deployment_status", body, secret))
                assert resp.status == 202

                async def final() -> bool:
                    return (await deploys.get_deployment(sqlite_db, id=row["id"]))["finished_at"] is not None

                deadline = time.monotonic() + 30
                while not await final() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            for text in ("dora 7d", "dora 45d"):
                body = slash_command_body("/shipbot", text, response_url=recorder.url + "/commands/T1/1/abc")
                resp = await client.post("/slack/events", data=body,
                                         headers=slack_headers(body, SECRETS["SLACK_SIGNING_SECRET"]))
                assert resp.status == 200
            answers = await until(lambda: len(recorder.calls("POST", "/commands/.*")) >= 2 and
                                  recorder.calls("POST", "/commands/.*"))
        texts = [a.json["text"] for a in answers]
        assert any("'45d' is not a window; use one of 7d, 30d, 90d" in t for t in texts)
        [report] = [t for t in texts if t.startswith("*DORA")]
        assert report.startswith("*DORA metrics of github:octo/widget*, last 7 days")
        assert "• Deploys: 4.0 a week · 4 succeeded, 1 failed" in report
        # Commits 2 (4h old), 3 (3h) with 4 (2h), 5 (1h): deploy 1 is the baseline; median 2h30m.
        assert "• Lead time for changes: median 2h 30m, p90 too little data (4 commits)" in report
        assert "• Change failure rate: 20% (1 of 5 deploys)" in report
        assert "• Time to restore: median 0s (1 incident)" in report

    async def test_pr_comment_over_http(self, serve, sqlite_db):
        """A signed issue_comment with `/shipbot dora 30d` is answered on the pull request."""
        settings = make_settings(**SECRETS)
        forge = FakeForge("github")
        forge.repo(GITHUB_REPO).permissions["Codertocat"] = "write"
        services = build_services(settings, sqlite_db, forges={"github": forge, "gitlab": FakeForge("gitlab")})
        client = await serve(settings, services, workers=True)
        body = body_of(pr_comment("/shipbot dora 30d"))
        resp = await client.post("/webhooks/github", data=body,
                                 headers=github_headers("issue_comment", body, SECRETS["GITHUB_WEBHOOK_SECRET"]))
        assert resp.status == 202
        [reply] = await until(lambda: forge.writes("create_comment"))
        assert "**DORA metrics of Codertocat/Hello-World**, last 30 days" in reply["body"]
        assert "No deploys in the last 30 days: too little data for any metric." in reply["body"]
