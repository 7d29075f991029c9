"""End to end: `/deploy staging` in a PR comment, the real worker, the GitHub adapter against Prism."""
from __future__ import annotations

import copy

from bot.chat.base import RecordingChat
from bot.services import build_services
from tests.conftest import deliver, make_settings
from tests.fakes import FakeForge
from tests.handlers.chatops import GITHUB_REPO, pr_comment

HEAD = "4" * 40


def coherent(github_api) -> None:
    """Prism's examples made to agree: PR #7's head is feature/x at HEAD, the commenter may write."""
    def pull(answer: dict) -> dict:
        answer = copy.deepcopy(answer)
        answer.update(number=7, state="open", merged_at=None, merged=False)
        answer["head"].update(sha=HEAD, ref="feature/x")
        answer["head"]["repo"] = copy.deepcopy(answer["base"]["repo"])
        return answer

    github_api.prefer("GET", rf"/repos/{GITHUB_REPO}/contents/.*", code=404)
    github_api.edit_answer("GET", rf"/repos/{GITHUB_REPO}/pulls/7", pull)
    github_api.edit_answer("GET", rf"/repos/{GITHUB_REPO}/collaborators/.*/permission",
                           lambda a: dict(a, permission="write", role_name="write"))
    github_api.edit_answer("GET", rf"/repos/{GITHUB_REPO}/commits/.*", lambda a: dict(a, sha=HEAD)
                           if isinstance(a, dict) and "sha" in a else a)


class TestDeployThroughPrism:
    async def test_pr_comment_creates_a_deployment_within_githubs_spec(self, github_api, sqlite_db):
        """The deployment request carries ref, environment and the inputs every deploy hands the user's CI."""
        coherent(github_api)
        services = build_services(make_settings(GITHUB_WEBHOOK_SECRET="s", GITHUB_TOKEN="t"), sqlite_db,
                                  forges={"github": github_api.forge(), "gitlab": FakeForge("gitlab")},
                                  chat=RecordingChat())
        row = await deliver(services, "github", "issue_comment", pr_comment("/deploy staging"))
        assert row["status"] == "done", row["last_error"]
        [created] = github_api.requests("POST", rf"/repos/{GITHUB_REPO}/deployments")
        assert created.body["environment"] == "staging" and created.body["auto_merge"] is False
        assert created.body["ref"] in ("feature/x", HEAD)
        payload = created.body["payload"]
        assert {"environment", "ref", "sha", "shipbot_request_id", "requested_by"} <= set(payload)
        assert payload["requested_by"] == "github:Codertocat" and payload["environment"] == "staging"
        replies = github_api.requests("POST", rf"/repos/{GITHUB_REPO}/issues/7/comments")
        assert replies, "the requester hears back on the PR"
