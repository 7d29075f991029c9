"""The test report and /retest end to end: real payloads, the real queue and worker, the real GitHubForge on Prism."""
from __future__ import annotations

import copy

import pytest

from bot.chat.base import RecordingChat
from bot.services import build_services
from tests.conftest import deliver, make_settings
from tests.fakes import FakeForge
from tests.handlers.test_test_report import REPO, SHA, pr_comment, suite_completed
from tests.peers import github_example

ISSUE_COMMENTS = rf"/repos/{REPO}/issues/2/comments"


@pytest.fixture
def services(github_api, sqlite_db):
    """Services whose GitHub forge is the real adapter talking to Prism."""
    return build_services(make_settings(GITHUB_WEBHOOK_SECRET="s"), sqlite_db,
                          forges={"github": github_api.forge(), "gitlab": FakeForge("gitlab")}, chat=RecordingChat())


def coherent(github_api) -> None:
    """Make Prism's independent examples agree: PR #2's head is SHA, with one failed Actions check on it."""
    def pull(answer: dict) -> dict:
        answer = copy.deepcopy(answer)
        answer.update(number=2, state="open", merged_at=None, merged=False)
        answer["head"].update(sha=SHA, ref="changes")
        answer["head"]["repo"] = copy.deepcopy(answer["base"]["repo"])
        return answer

    def checks(answer: dict) -> dict:
        ok, failed = copy.deepcopy(answer["check_runs"][0]), copy.deepcopy(answer["check_runs"][0])
        ok.update(id=11, name="lint", status="completed", conclusion="success")
        failed.update(id=12, name="test (3.11)", status="completed", conclusion="failure",
                      details_url=f"https://github.com/{REPO}/actions/runs/77/job/12",
                      html_url=f"https://github.com/{REPO}/runs/12")
        for run in (ok, failed):
            run["app"]["slug"] = "github-actions"
            run["output"].update(annotations_count=1 if run is failed else 0, summary=None)
        return {"total_count": 2, "check_runs": [ok, failed]}

    def annotations(answer: list) -> list:
        note = copy.deepcopy(answer[0])
        note.update(path="tests/test_api.py", start_line=12, end_line=12, annotation_level="failure",
                    title="test_login", message="AssertionError: 401 != 200")
        return [note]

    github_api.prefer("GET", r".*/contents/.*", code=404)  # no .shipbot.yml: the defaults
    github_api.edit_answer("GET", rf"/repos/{REPO}/pulls/2", pull)
    # Prism's generated list may be empty; GitHub's documented PR stands in then.
    github_api.edit_answer("GET", rf"/repos/{REPO}/commits/{SHA}/pulls",
                           lambda a: [pull(a[0] if a else github_example("pull_request", "opened")["pull_request"])])
    github_api.edit_answer("GET", rf"/repos/{REPO}/commits/{SHA}/check-runs", checks)
    github_api.edit_answer("GET", rf"/repos/{REPO}/check-runs/12/annotations", annotations)


class TestThroughPrism:
    async def test_failed_suite_creates_the_comment(self, github_api, services):
        """check_suite.completed reads the checks and their annotations and posts one comment, all within GitHub's spec."""
        coherent(github_api)
        github_api.edit_answer("GET", ISSUE_COMMENTS, lambda a: [])
        row = await deliver(services, "github", "check_suite", suite_completed())
        assert row["status"] == "done", row["last_error"]
        [post] = github_api.requests("POST", ISSUE_COMMENTS)
        body = post.body["body"]
        assert body.startswith("<!-- shipbot:test-report -->")
        assert "1 of 2 checks failed on `ec26c3e`" in body
        assert f"[test (3.11)](https://github.com/{REPO}/runs/12)" in body
        assert "<code>test_login</code> — AssertionError: 401 != 200" in body

    async def test_existing_comment_is_edited(self, github_api, services):
        """When shipbot's comment is already there it is edited in place, not posted again."""
        coherent(github_api)

        def ours(answer: list) -> list:
            comment = copy.deepcopy(answer[0])
            comment.update(id=4242, body="<!-- shipbot:test-report -->\nold")
            comment["user"]["login"] = "octocat"
            return [comment]

        github_api.edit_answer("GET", r"/user", lambda a: {**a, "login": "octocat"})
        github_api.edit_answer("GET", ISSUE_COMMENTS, ours)
        row = await deliver(services, "github", "check_suite", suite_completed())
        assert row["status"] == "done", row["last_error"]
        assert github_api.requests("POST", ISSUE_COMMENTS) == []
        [patch] = github_api.requests("PATCH", rf"/repos/{REPO}/issues/comments/4242")
        assert "1 of 2 checks failed" in patch.body["body"]

    async def test_retest_reruns_failed_jobs_and_reacts(self, github_api, services):
        """/retest from a writer calls rerun-failed-jobs for the run and reacts with a rocket."""
        coherent(github_api)
        github_api.edit_answer("GET", rf"/repos/{REPO}/collaborators/.*/permission",
                               lambda a: {**a, "permission": "write", "role_name": "write"})
        row = await deliver(services, "github", "issue_comment", pr_comment("/retest"))
        assert row["status"] == "done", row["last_error"]
        assert len(github_api.requests("POST", rf"/repos/{REPO}/actions/runs/77/rerun-failed-jobs")) == 1
        [reaction] = github_api.requests("POST", rf"/repos/{REPO}/issues/comments/492700400/reactions")
        assert reaction.body == {"content": "rocket"}


class TestOverHTTP:
    async def test_signed_check_suite_to_comment(self, github_api, services, serve):
        """A signed check_suite.completed posted to the running app ends in one comment at GitHub."""
        import asyncio
        import time

        from tests.peers import body_of, github_headers

        coherent(github_api)
        github_api.edit_answer("GET", ISSUE_COMMENTS, lambda a: [])
        client = await serve(services.settings, services, workers=True)
        body = body_of(suite_completed())
        resp = await client.post("/webhooks/github", data=body, headers=github_headers("check_suite", body, "s"))
        assert resp.status == 202
        deadline = time.monotonic() + 30
        while not github_api.requests("POST", ISSUE_COMMENTS) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        [post] = github_api.requests("POST", ISSUE_COMMENTS)
        assert "1 of 2 checks failed" in post.body["body"]
