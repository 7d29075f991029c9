"""The GitLab Forge: the real python-gitlab against a recording stand-in for GitLab's API on 127.0.0.1."""
from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from aiohttp import web

from bot.forge.base import (
    Check,
    Conflict,
    Deployment,
    ForgeError,
    ForgeUnavailable,
    NotFound,
    PermissionDenied,
    RateLimited,
    Release,
)
from bot.forge.gitlab import GitLabForge
from bot.forge.gitlab_calls import OffHostURL, ensure_same_host, retry_after
from bot.sansio.events import RepoRef
from bot.settings import GitLabSettings, Secret
from tests.forge import gitlab_payloads as api
from tests.recorder import RecordingServer

TOKEN = "glpat-test-token-1234567890"
REPO = RepoRef("gitlab", "acme/platform/api", 42)
P = "/api/v4/projects/42"
SHA, OLD_SHA = api.SHA, api.OLD_SHA
MARKER = "<!-- shipbot:test-report -->"


def make_forge(url: str, **kwargs) -> GitLabForge:
    forge = GitLabForge(GitLabSettings(url=url, token=Secret(TOKEN)), **kwargs)
    forge.retry_backoff = 0.01  # our own knob: keep the retry tests fast
    return forge


@pytest.fixture
async def forge(recorder):
    forge = make_forge(recorder.url, max_workers=4, timeout=5)
    yield forge
    await forge.close()


class RawPathServer(RecordingServer):
    """RecordingServer that also keeps each request's path as sent, still percent-encoded.

    aiohttp's `request.path` (what Recorded.path holds) is decoded, so `group%2Fproject` and
    `group/project` look alike there; GitLab needs the first.
    """

    def __init__(self) -> None:
        super().__init__()
        self.raw_paths: list[str] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.raw_paths.append(request.raw_path.split("?", 1)[0])
        return await super()._handle(request)


@pytest.fixture
async def raw_server():
    server = await RawPathServer().start()
    yield server
    await server.stop()


def only(recorder, method: str, path: str):
    """The one request sent to METHOD path (fails when there are none or several)."""
    calls = recorder.calls(method, path)
    assert len(calls) == 1, [(r.method, r.path) for r in recorder.requests]
    return calls[0]


class TestReads:
    async def test_default_branch(self, recorder, forge):
        """The default branch is read from the project, with the token in GitLab's PRIVATE-TOKEN header."""
        recorder.on("GET", P, json=api.project(default_branch="trunk"))
        assert await forge.default_branch(REPO) == "trunk"
        assert only(recorder, "GET", P).headers["PRIVATE-TOKEN"] == TOKEN

    async def test_empty_repository_has_no_default_branch(self, recorder, forge):
        """An empty project (default_branch null) is NotFound in plain words."""
        recorder.on("GET", P, json=api.project(default_branch=None))
        with pytest.raises(NotFound, match="empty"):
            await forge.default_branch(REPO)

    async def test_read_file_at_ref(self, recorder, forge):
        """A file is read raw at the ref asked for."""
        recorder.on("GET", f"{P}/repository/files/.shipbot.yml/raw", body=b"release:\n  mode: tag\n",
                    headers={"Content-Type": "text/plain; charset=utf-8"})
        assert await forge.read_file(REPO, ".shipbot.yml", "v1.2.0") == "release:\n  mode: tag\n"
        assert only(recorder, "GET", f"{P}/repository/files/.shipbot.yml/raw").query == {"ref": ["v1.2.0"]}

    async def test_read_file_default_branch(self, recorder, forge):
        """Without a ref no `ref` is sent: GitLab then reads HEAD, the default branch, in one request."""
        recorder.on("GET", f"{P}/repository/files/.shipbot.yml/raw", body=b"chat: {}\n")
        assert await forge.read_file(REPO, ".shipbot.yml") == "chat: {}\n"
        assert only(recorder, "GET", f"{P}/repository/files/.shipbot.yml/raw").query == {}

    async def test_missing_file_is_none(self, recorder, forge):
        """GitLab's "404 File Not Found" means no such file: None, and no retry."""
        recorder.on("GET", f"{P}/repository/files/.shipbot.yml/raw", status=404,
                    json={"message": "404 File Not Found"})
        assert await forge.read_file(REPO, ".shipbot.yml", "main") is None
        assert len(recorder.requests) == 1

    async def test_missing_project_is_not_found(self, recorder, forge):
        """A 404 about the project itself is an error, not a missing file."""
        recorder.on("GET", f"{P}/repository/files/.shipbot.yml/raw", status=404,
                    json={"message": "404 Project Not Found"})
        with pytest.raises(NotFound, match="read .shipbot.yml"):
            await forge.read_file(REPO, ".shipbot.yml", "main")

    async def test_resolve_ref(self, recorder, forge):
        """A branch, tag or sha resolves to its commit's sha."""
        recorder.on("GET", f"{P}/repository/commits/v1.2.0", json=api.commit())
        assert await forge.resolve_ref(REPO, "v1.2.0") == SHA

    async def test_list_tags_follows_pages(self, recorder, forge):
        """Every page of tags is read, following GitLab's `Link: rel="next"` on the same host."""
        def tags(req, _match):
            if req.query.get("page") == ["2"]:
                return web.json_response([api.tag("v1.0.0", OLD_SHA)])
            link = f'<{recorder.url}{P}/repository/tags?page=2&per_page=100>; rel="next"'
            return web.json_response([api.tag("v1.1.0", SHA)], headers={"Link": link})

        recorder.on("GET", f"{P}/repository/tags", respond=tags)
        assert [(t.name, t.sha) for t in await forge.list_tags(REPO)] == [("v1.1.0", SHA), ("v1.0.0", OLD_SHA)]
        assert recorder.requests[0].query == {"per_page": ["100"]}

    async def test_compare_newest_first(self, recorder, forge):
        """Compare sends from/to and turns GitLab's oldest-first commit list newest first."""
        first, second = api.commit("1" * 40, "fix: one"), api.commit("2" * 40, "feat: two", ("1" * 40,))
        recorder.on("GET", f"{P}/repository/compare", json={
            "commit": second, "commits": [first, second], "diffs": [], "compare_timeout": False,
            "compare_same_ref": False, "web_url": f"{api.WEB}/-/compare/v1.0.0...main"})
        commits = await forge.compare(REPO, "v1.0.0", "main")
        assert [c.sha for c in commits] == ["2" * 40, "1" * 40]
        assert commits[0].message.startswith("feat: two\n") and commits[0].parents == ("1" * 40,)
        assert commits[0].author == "Jane Doe" and commits[0].url.endswith("2" * 40)
        assert only(recorder, "GET", f"{P}/repository/compare").query == {"from": ["v1.0.0"], "to": ["main"]}

    async def test_compare_without_base_lists_history(self, recorder, forge):
        """With no base, the whole history of head is listed (GitLab gives it newest first)."""
        recorder.on("GET", f"{P}/repository/commits", json=[api.commit("2" * 40), api.commit("1" * 40)])
        assert [c.sha for c in await forge.compare(REPO, None, "main")] == ["2" * 40, "1" * 40]
        assert only(recorder, "GET", f"{P}/repository/commits").query == {"ref_name": ["main"], "per_page": ["100"]}


class TestChangeRequests:
    async def test_get_change_request(self, recorder, forge):
        """A merge request is read by iid and described in neutral words."""
        recorder.on("GET", f"{P}/merge_requests/7", json=api.merge_request(7))
        cr = await forge.get_change_request(REPO, 7)
        assert (cr.number, cr.title, cr.head_ref, cr.head_sha, cr.base_ref, cr.author, cr.state, cr.from_fork) == (
            7, "feat: add the thing", "feature/thing", SHA, "main", "jdoe", "open", False)
        assert cr.url == f"{api.WEB}/-/merge_requests/7" and cr.body == "Adds it."

    async def test_change_requests_for_commit(self, recorder, forge):
        """Only open MRs whose head is the commit are kept from GitLab's "MRs containing this commit"."""
        recorder.on("GET", f"{P}/repository/commits/{SHA}/merge_requests", json=[
            api.merge_request(7), api.merge_request(5, state="merged"), api.merge_request(6, sha=OLD_SHA),
            api.merge_request(8, source_project_id=77)])
        found = await forge.change_requests_for_commit(REPO, SHA)
        assert [(cr.number, cr.from_fork) for cr in found] == [(7, False), (8, True)]

    async def test_find_change_request_skips_forks(self, recorder, forge):
        """The open MR from a branch of this project is found; a fork's same-named branch is not it."""
        recorder.on("GET", f"{P}/merge_requests", json=[
            api.merge_request(9, source_branch="release/next", source_project_id=77),
            api.merge_request(4, source_branch="release/next")])
        assert (await forge.find_change_request(REPO, "release/next")).number == 4
        assert only(recorder, "GET", f"{P}/merge_requests").query == {
            "source_branch": ["release/next"], "state": ["opened"], "per_page": ["100"]}

    async def test_upsert_change_request_opens_one(self, recorder, forge):
        """One forced commit on top of base (create or update per file), then a new MR."""
        recorder.on("HEAD", f"{P}/repository/files/pyproject.toml", headers={"X-Gitlab-File-Name": "pyproject.toml"})
        recorder.on("HEAD", f"{P}/repository/files/CHANGELOG.md", status=404)
        recorder.on("POST", f"{P}/repository/commits", status=201, json=api.commit("c" * 40, "chore(release): 1.3.0"))
        recorder.on("GET", f"{P}/merge_requests", json=[])
        recorder.on("POST", f"{P}/merge_requests", status=201, json=api.merge_request(
            12, sha=OLD_SHA, source_branch="shipbot/release", title="chore(release): 1.3.0", description="notes"))
        cr = await forge.upsert_change_request(
            REPO, branch="shipbot/release", base="main", title="chore(release): 1.3.0", body="notes",
            files={"pyproject.toml": 'version = "1.3.0"\n', "CHANGELOG.md": "# 1.3.0\n"}, message="chore(release): 1.3.0")
        assert (cr.number, cr.head_ref, cr.head_sha) == (12, "shipbot/release", "c" * 40)
        assert [r.query for r in recorder.calls("HEAD")] == [{"ref": ["main"]}, {"ref": ["main"]}]
        assert only(recorder, "POST", f"{P}/repository/commits").json == {
            "branch": "shipbot/release", "start_branch": "main", "force": True,
            "commit_message": "chore(release): 1.3.0", "actions": [
                {"action": "update", "file_path": "pyproject.toml", "content": 'version = "1.3.0"\n'},
                {"action": "create", "file_path": "CHANGELOG.md", "content": "# 1.3.0\n"}]}
        assert only(recorder, "POST", f"{P}/merge_requests").json == {
            "source_branch": "shipbot/release", "target_branch": "main", "title": "chore(release): 1.3.0",
            "description": "notes", "remove_source_branch": True}

    async def test_upsert_change_request_updates_the_open_one(self, recorder, forge):
        """An open MR from the branch gets only the fields that changed."""
        recorder.on("HEAD", f"{P}/repository/files/CHANGELOG.md")
        recorder.on("POST", f"{P}/repository/commits", status=201, json=api.commit("d" * 40))
        recorder.on("GET", f"{P}/merge_requests", json=[api.merge_request(
            12, source_branch="shipbot/release", title="chore(release): 1.3.0", description="old notes")])
        recorder.on("PUT", f"{P}/merge_requests/12", json=api.merge_request(
            12, source_branch="shipbot/release", title="chore(release): 1.3.0", description="new notes"))
        cr = await forge.upsert_change_request(
            REPO, branch="shipbot/release", base="main", title="chore(release): 1.3.0", body="new notes",
            files={"CHANGELOG.md": "# 1.3.0\n"}, message="chore(release): 1.3.0")
        assert only(recorder, "PUT", f"{P}/merge_requests/12").json == {"description": "new notes"}
        assert (cr.body, cr.head_sha) == ("new notes", "d" * 40)
        assert not recorder.calls("POST", f"{P}/merge_requests")


class TestComments:
    async def test_find_comment_by_marker(self, recorder, forge):
        """Notes are read oldest first; system notes are never ours even when they quote the marker."""
        recorder.on("GET", f"{P}/merge_requests/7/notes", json=[
            api.note(300, f"changed the description {MARKER}", system=True), api.note(301, f"{MARKER}\nAll green"),
            api.note(302, f"{MARKER}\nduplicate")])
        found = await forge.find_comment(REPO, 7, MARKER)
        assert (found.id, found.body, found.author) == (301, f"{MARKER}\nAll green", "project_42_bot")
        assert only(recorder, "GET", f"{P}/merge_requests/7/notes").query == {
            "sort": ["asc"], "order_by": ["created_at"], "per_page": ["100"]}

    async def test_upsert_comment_creates_on_an_issue(self, recorder, forge):
        """On an issue (not an MR) the note is looked for and created under /issues/:iid."""
        recorder.on("GET", f"{P}/issues/3/notes", json=[api.note(1, "hello", noteable_type="Issue", iid=3)])
        recorder.on("POST", f"{P}/issues/3/notes", status=201, json=api.note(
            310, f"{MARKER}\nhi", noteable_type="Issue", iid=3))
        comment = await forge.upsert_comment(REPO, 3, MARKER, f"{MARKER}\nhi", on_change_request=False)
        assert comment.id == 310
        assert only(recorder, "POST", f"{P}/issues/3/notes").json == {"body": f"{MARKER}\nhi"}

    async def test_upsert_comment_edits_in_place(self, recorder, forge):
        """The note carrying the marker is edited with PUT, not duplicated."""
        recorder.on("GET", f"{P}/merge_requests/7/notes", json=[api.note(301, f"{MARKER}\n1 failed")])
        recorder.on("PUT", f"{P}/merge_requests/7/notes/301", json=api.note(301, f"{MARKER}\nAll green"))
        comment = await forge.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nAll green")
        assert (comment.id, comment.body) == (301, f"{MARKER}\nAll green")
        assert only(recorder, "PUT", f"{P}/merge_requests/7/notes/301").json == {"body": f"{MARKER}\nAll green"}
        assert not recorder.calls("POST")

    async def test_upsert_comment_unchanged_sends_nothing(self, recorder, forge):
        """An identical body is not written again."""
        recorder.on("GET", f"{P}/merge_requests/7/notes", json=[api.note(301, f"{MARKER}\nAll green")])
        await forge.upsert_comment(REPO, 7, MARKER, f"{MARKER}\nAll green")
        assert [r.method for r in recorder.requests] == ["GET"]

    async def test_react_awards_emoji(self, recorder, forge):
        """GitHub's `+1` becomes GitLab's `thumbsup` award on the note; a repeat award is not an error."""
        path = f"{P}/merge_requests/7/notes/301/award_emoji"
        recorder.on("POST", path, status=201, json=api.award("thumbsup"), times=1)
        recorder.on("POST", path, status=404, json={"message": "404 Award Emoji Name has already been taken Not Found"})
        await forge.react(REPO, 7, 301, "+1")
        await forge.react(REPO, 7, 301, "+1")
        assert [r.json for r in recorder.calls("POST", path)] == [{"name": "thumbsup"}] * 2

    async def test_react_on_issue_note(self, recorder, forge):
        """On an issue the award goes under /issues/:iid/notes/:id."""
        recorder.on("POST", f"{P}/issues/3/notes/310/award_emoji", status=201, json=api.award("eyes"))
        await forge.react(REPO, 3, 310, "eyes", on_change_request=False)
        assert only(recorder, "POST", f"{P}/issues/3/notes/310/award_emoji").json == {"name": "eyes"}


class TestPipelines:
    async def test_checks_for_commit(self, recorder, forge):
        """Jobs of the newest pipeline per ref (branch and MR pipelines), in neutral check words."""
        recorder.on("GET", f"{P}/pipelines", json=[
            api.pipeline(102, ref="refs/merge-requests/7/head", source="merge_request_event"),
            api.pipeline(101), api.pipeline(100, status="failed")])
        recorder.on("GET", f"{P}/pipelines/101/jobs", json=[
            api.job(5, "deploy", "manual", pipeline_id=101, stage="deploy", allow_failure=True),
            api.job(4, "lint", "failed", pipeline_id=101, allow_failure=True, failure_reason="script_failure"),
            api.job(3, "e2e", "failed", pipeline_id=101, failure_reason="job_execution_timeout"),
            api.job(2, "unit", "failed", pipeline_id=101, failure_reason="script_failure"),
            api.job(1, "build", "success", pipeline_id=101, stage="build")])
        recorder.on("GET", f"{P}/pipelines/102/jobs", json=[api.job(9, "unit", "running", pipeline_id=102)])
        checks = await forge.checks_for_commit(REPO, SHA)
        assert [(c.name, c.status, c.conclusion, c.suite_id) for c in checks] == [
            ("unit", "in_progress", None, 102), ("deploy", "completed", "skipped", 101),
            ("lint", "completed", "neutral", 101), ("e2e", "completed", "timed_out", 101),
            ("unit", "completed", "failure", 101), ("build", "completed", "success", 101)]
        assert checks[4].url == f"{api.WEB}/-/jobs/2" and checks[4].summary == "script_failure"
        assert only(recorder, "GET", f"{P}/pipelines").query == {"sha": [SHA], "per_page": ["100"]}
        assert not recorder.calls("GET", f"{P}/pipelines/100/jobs")

    async def test_test_totals(self, recorder, forge):
        """The pipeline's test report summary becomes TestTotals."""
        recorder.on("GET", f"{P}/pipelines/101/test_report_summary", json=api.report_summary())
        totals = await forge.test_totals(REPO, 101)
        assert (totals.passed, totals.failed, totals.skipped, totals.errored, totals.duration) == (
            3349, 2, 12, 0, 1904.0)

    async def test_no_test_report_is_none(self, recorder, forge):
        """A pipeline that reported no tests (all zeros) has no totals."""
        recorder.on("GET", f"{P}/pipelines/101/test_report_summary",
                    json=api.report_summary(count=0, success=0, failed=0, skipped=0))
        assert await forge.test_totals(REPO, 101) is None

    async def test_rerun_failed_retries_the_pipeline(self, recorder, forge):
        """A job's pipeline is retried, which re-runs its failed jobs only."""
        recorder.on("POST", f"{P}/pipelines/101/retry", status=201, json=api.pipeline(101, status="pending"))
        await forge.rerun_failed(REPO, Check(2, "unit", "completed", "failure", suite_id=101))
        assert only(recorder, "POST", f"{P}/pipelines/101/retry").json == {}

    async def test_rerun_failed_without_pipeline_retries_the_job(self, recorder, forge):
        """A check with no pipeline id retries that one job."""
        recorder.on("POST", f"{P}/jobs/2/retry", status=201, json=api.job(20, "unit", "pending", pipeline_id=101))
        await forge.rerun_failed(REPO, Check(2, "unit", "completed", "failure"))
        assert len(recorder.calls("POST", f"{P}/jobs/2/retry")) == 1


class TestPermission:
    @pytest.mark.parametrize("level, expected", [
        (5, "none"), (10, "read"), (15, "read"), (20, "triage"), (30, "write"), (40, "maintain"), (50, "admin")])
    async def test_access_levels(self, recorder, forge, level, expected):
        """A username is resolved to a user id, then its effective (inherited too) access level is mapped."""
        recorder.on("GET", "/api/v4/users", json=[api.user(12, "jdoe", "Jane Doe")])
        recorder.on("GET", f"{P}/members/all/12", json=api.member(12, level))
        assert await forge.permission(REPO, "jdoe") == expected
        assert only(recorder, "GET", "/api/v4/users").query == {"username": ["jdoe"], "per_page": ["100"]}

    async def test_not_a_member(self, recorder, forge):
        """A user who is not a member has no permission."""
        recorder.on("GET", "/api/v4/users", json=[api.user(12, "jdoe")])
        recorder.on("GET", f"{P}/members/all/12", status=404, json={"message": "404 Not found"})
        assert await forge.permission(REPO, "jdoe") == "none"

    async def test_blocked_member(self, recorder, forge):
        """A blocked user keeps their access level on paper but gets none."""
        recorder.on("GET", "/api/v4/users", json=[api.user(12, "jdoe")])
        recorder.on("GET", f"{P}/members/all/12", json=api.member(12, 40, state="blocked"))
        assert await forge.permission(REPO, "jdoe") == "none"

    async def test_group_membership(self, recorder, forge):
        """gitlab-group:path membership counts inherited members; a 404 means not a member."""
        recorder.on("GET", "/api/v4/users", json=[api.user(12, "jdoe")])
        recorder.on("GET", "/api/v4/groups/acme/ops/members/all/12", json=api.member(12, 30))
        assert await forge.is_member(REPO, "gitlab-group:acme/ops", "jdoe") is True
        recorder.on("GET", "/api/v4/groups/acme/ops/members/all/12", status=404, json={"message": "404 Not found"})
        assert await forge.is_member(REPO, "gitlab-group:acme/ops", "jdoe") is False
        assert await forge.is_member(REPO, "github-team:acme/ops", "jdoe") is False

    async def test_unknown_user(self, recorder, forge):
        """An unknown username has no permission, and no member lookup is made."""
        recorder.on("GET", "/api/v4/users", json=[])
        assert await forge.permission(REPO, "nobody") == "none"
        assert len(recorder.requests) == 1


class TestTagsAndReleases:
    async def test_create_tag(self, recorder, forge):
        """An annotated tag is created at the sha with the required tag_name and ref."""
        recorder.on("POST", f"{P}/repository/tags", status=201, json=api.tag("v1.3.0", SHA, "Release 1.3.0"))
        tag = await forge.create_tag(REPO, "v1.3.0", SHA, "Release 1.3.0")
        assert (tag.name, tag.sha) == ("v1.3.0", SHA)
        assert only(recorder, "POST", f"{P}/repository/tags").json == {
            "tag_name": "v1.3.0", "ref": SHA, "message": "Release 1.3.0"}

    async def test_existing_tag_is_a_conflict(self, recorder, forge):
        """GitLab's 400 for an existing tag is a Conflict that carries GitLab's own words."""
        recorder.on("POST", f"{P}/repository/tags", status=400, json={"message": "Tag v1.3.0 already exists"})
        with pytest.raises(Conflict, match="Tag v1.3.0 already exists"):
            await forge.create_tag(REPO, "v1.3.0", SHA, "")

    async def test_get_release(self, recorder, forge):
        """A release is found by its tag; a missing one is None."""
        recorder.on("GET", f"{P}/releases/v1.2.0", json=api.release())
        recorder.on("GET", f"{P}/releases/v9.9.9", status=404, json={"message": "404 Not Found"})
        release = await forge.get_release(REPO, "v1.2.0")
        assert (release.id, release.tag, release.name, release.body, release.url) == (
            "v1.2.0", "v1.2.0", "v1.2.0", "## Features\n", f"{api.WEB}/-/releases/v1.2.0")
        assert await forge.get_release(REPO, "v9.9.9") is None

    async def test_create_release(self, recorder, forge):
        """A release is created with tag_name, name and description."""
        recorder.on("POST", f"{P}/releases", status=201, json=api.release("v1.3.0", "1.3.0", "notes"))
        release = await forge.create_release(REPO, "v1.3.0", "1.3.0", "notes")
        assert (release.tag, release.body) == ("v1.3.0", "notes")
        assert only(recorder, "POST", f"{P}/releases").json == {
            "tag_name": "v1.3.0", "name": "1.3.0", "description": "notes"}

    async def test_update_release(self, recorder, forge):
        """A release is updated by its tag."""
        recorder.on("PUT", f"{P}/releases/v1.3.0", json=api.release("v1.3.0", "1.3.0 (fixed)", "new notes"))
        release = await forge.update_release(REPO, Release("v1.3.0", "v1.3.0", "1.3.0", "notes"),
                                             body="new notes", name="1.3.0 (fixed)")
        assert (release.name, release.body) == ("1.3.0 (fixed)", "new notes")
        assert only(recorder, "PUT", f"{P}/releases/v1.3.0").json == {
            "description": "new notes", "name": "1.3.0 (fixed)"}

    async def test_draft_release_is_refused(self, recorder, forge):
        """GitLab has no drafts: a draft is refused in words rather than published."""
        with pytest.raises(ForgeError, match="no draft releases"):
            await forge.create_release(REPO, "v1.3.0", "1.3.0", "notes", draft=True)
        assert recorder.requests == []


INPUTS = {"environment": "staging", "ref": "main", "sha": SHA, "shipbot_request_id": "r-1",
          "requested_by": "gitlab:jdoe"}
VARIABLES = [{"key": k, "value": v} for k, v in INPUTS.items()]


class TestDeployments:

    async def test_pipeline_with_variables(self, recorder, forge):
        """A deploy is a pipeline on the ref with the inputs as variables; its id and URL are the deployment's."""
        recorder.on("POST", f"{P}/pipeline", status=201, json=api.pipeline(61, status="created"))
        deployment = await forge.create_deployment(REPO, ref="main", environment="staging", inputs=INPUTS,
                                                   payload={"x": 1}, method="pipeline")
        assert (deployment.id, deployment.url, deployment.sha, deployment.payload) == (
            61, f"{api.WEB}/-/pipelines/61", SHA, {"x": 1})
        assert only(recorder, "POST", f"{P}/pipeline").json == {"ref": "main", "variables": VARIABLES}

    async def test_plays_the_named_manual_job(self, recorder, forge):
        """With a job name, the job is played with the same variables once GitLab has made it manual."""
        recorder.on("POST", f"{P}/pipeline", status=201, json=api.pipeline(61, status="created"))
        recorder.on("GET", f"{P}/pipelines/61/jobs", json=[
            api.job(77, "deploy-staging", "manual", pipeline_id=61, stage="deploy"),
            api.job(76, "build", "pending", pipeline_id=61)])
        recorder.on("GET", f"{P}/pipelines/61/jobs", times=1, json=[
            api.job(77, "deploy-staging", "created", pipeline_id=61, stage="deploy")])
        recorder.on("POST", f"{P}/jobs/77/play", json=api.job(77, "deploy-staging", "pending", pipeline_id=61))
        await forge.create_deployment(REPO, ref="main", environment="staging", inputs=INPUTS, payload={},
                                      method="pipeline", workflow="deploy-staging")
        assert len(recorder.calls("GET", f"{P}/pipelines/61/jobs")) == 2
        assert only(recorder, "POST", f"{P}/jobs/77/play").json == {"job_variables_attributes": VARIABLES}

    async def test_missing_job_is_named(self, recorder, forge):
        """A job name the pipeline lacks is NotFound, naming the job and the setting."""
        recorder.on("POST", f"{P}/pipeline", status=201, json=api.pipeline(61))
        recorder.on("GET", f"{P}/pipelines/61/jobs", json=[api.job(76, "build", "pending", pipeline_id=61)])
        with pytest.raises(NotFound, match="no job named 'deploy'.*deploy.workflow"):
            await forge.create_deployment(REPO, ref="main", environment="staging", inputs=INPUTS,
                                          payload={}, method="pipeline", workflow="deploy")

    async def test_job_waiting_for_earlier_stages(self, recorder, forge):
        """A job still `created` when the wait is over is explained, and nothing is played."""
        forge.manual_job_wait = 0.3
        recorder.on("POST", f"{P}/pipeline", status=201, json=api.pipeline(61))
        recorder.on("GET", f"{P}/pipelines/61/jobs", json=[
            api.job(77, "deploy", "created", pipeline_id=61, stage="deploy")])
        with pytest.raises(ForgeError, match="still waiting for earlier stages.*needs: \\[\\]"):
            await forge.create_deployment(REPO, ref="main", environment="staging", inputs=INPUTS,
                                          payload={}, method="pipeline", workflow="deploy")
        assert not recorder.calls("POST", f"{P}/jobs/77/play")

    async def test_pipeline_deploy_status_is_left_to_gitlab(self, recorder, forge):
        """GitLab's pipeline drives its own deployments: no request is sent."""
        await forge.set_deployment_status(REPO, Deployment(61, "staging", "main"), "success")
        assert recorder.requests == []

    async def test_api_deployment_status(self, recorder, forge):
        """A deployment made through GitLab's API gets its status with PUT /deployments/:id."""
        recorder.on("PUT", f"{P}/deployments/9", json={"id": 9, "iid": 2, "ref": "main", "sha": SHA,
                                                        "status": "failed", "deployable": None})
        await forge.set_deployment_status(
            REPO, Deployment(61, "staging", "main", payload={"gitlab_deployment_id": 9}), "failure")
        assert only(recorder, "PUT", f"{P}/deployments/9").json == {"status": "failed"}


class TestProjectPaths:
    async def test_paths_are_url_encoded(self, raw_server):
        """Without a project id the path is sent URL-encoded, and so are file paths and refs."""
        forge = make_forge(raw_server.url)
        try:
            repo = RepoRef("gitlab", "acme/platform/api")
            raw_server.on("GET", "/api/v4/projects/acme/platform/api/repository/files/config/ship bot.yml/raw",
                          body=b"x")
            raw_server.on("GET", "/api/v4/projects/acme/platform/api/repository/commits/feature/x",
                          json=api.commit())
            assert await forge.read_file(repo, "config/ship bot.yml", "main") == "x"
            assert await forge.resolve_ref(repo, "feature/x") == SHA
        finally:
            await forge.close()
        assert raw_server.raw_paths == [
            "/api/v4/projects/acme%2Fplatform%2Fapi/repository/files/config%2Fship%20bot.yml/raw",
            "/api/v4/projects/acme%2Fplatform%2Fapi/repository/commits/feature%2Fx"]

    async def test_github_repository_is_refused(self, forge):
        """A repository of another forge never reaches GitLab."""
        with pytest.raises(ForgeError, match="not a GitLab project"):
            await forge.default_branch(RepoRef("github", "octo/repo", 1))


class TestFaults:
    async def test_5xx_then_success_for_a_read(self, recorder, forge):
        """A read that meets 502 twice is tried again and succeeds."""
        recorder.on("GET", P, json=api.project())
        recorder.on("GET", P, status=502, body=b"<html>502 Bad Gateway</html>", times=2)
        assert await forge.default_branch(REPO) == "main"
        assert len(recorder.calls("GET", P)) == 3

    async def test_read_gives_up_after_three(self, recorder, forge):
        """A read still failing after three attempts is ForgeUnavailable."""
        recorder.on("GET", P, status=503, json={"message": "503 Service Unavailable"})
        with pytest.raises(ForgeUnavailable, match="GitLab answered 503"):
            await forge.default_branch(REPO)
        assert len(recorder.calls("GET", P)) == 3

    async def test_write_is_not_retried(self, recorder, forge):
        """A write meeting a 5xx is tried once: it may have happened, the job queue decides."""
        recorder.on("POST", f"{P}/merge_requests/7/notes", status=500, json={"message": "500 Internal Server Error"})
        with pytest.raises(ForgeUnavailable):
            await forge.create_comment(REPO, 7, "hi")
        assert len(recorder.requests) == 1

    async def test_429_with_retry_after(self, recorder, forge):
        """429 is RateLimited with GitLab's Retry-After, at once: python-gitlab does not sleep or retry."""
        recorder.on("GET", P, status=429, json={"message": "Retry later"}, headers={"Retry-After": "30"})
        started = time.monotonic()
        with pytest.raises(RateLimited) as caught:
            await forge.default_branch(REPO)
        assert caught.value.retry_after == 30 and "30 seconds" in caught.value.message
        assert time.monotonic() - started < 5 and len(recorder.requests) == 1

    async def test_429_with_ratelimit_reset(self, recorder, forge):
        """Without Retry-After, RateLimit-Reset (a Unix time) gives the wait."""
        reset = int(time.time()) + 60
        recorder.on("GET", P, status=429, json={"message": "Retry later"}, headers={"RateLimit-Reset": str(reset)})
        with pytest.raises(RateLimited) as caught:
            await forge.default_branch(REPO)
        assert 50 < caught.value.retry_after <= 60

    async def test_connection_refused(self):
        """Nothing listening is ForgeUnavailable, naming the host."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        forge = make_forge(f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(ForgeUnavailable, match=f"could not connect to GitLab at 127.0.0.1:{port}"):
                await forge.default_branch(REPO)
        finally:
            await forge.close()

    async def test_timeout(self, recorder):
        """An answer slower than the timeout is ForgeUnavailable."""
        recorder.on("GET", P, json=api.project(), delay=1.0)
        forge = make_forge(recorder.url, timeout=0.2)
        try:
            with pytest.raises(ForgeUnavailable, match="did not answer in 0.2 seconds"):
                await forge.default_branch(REPO)
        finally:
            await forge.close()

    async def test_401_is_permission_denied(self, recorder, forge):
        """A rejected token is PermissionDenied, saying which setting to fix."""
        recorder.on("GET", P, status=401, json={"message": "401 Unauthorized"})
        with pytest.raises(PermissionDenied, match="GITLAB_TOKEN"):
            await forge.default_branch(REPO)
        assert len(recorder.requests) == 1

    async def test_403_is_permission_denied(self, recorder, forge):
        """A 403 is PermissionDenied with GitLab's reason."""
        recorder.on("POST", f"{P}/repository/tags", status=403, json={"message": "403 Forbidden"})
        with pytest.raises(PermissionDenied, match="403 Forbidden"):
            await forge.create_tag(REPO, "v1", SHA, "")

    async def test_token_never_in_messages(self, recorder, forge):
        """Even when GitLab echoes the token, the message does not carry it."""
        recorder.on("POST", f"{P}/repository/tags", status=400, json={"message": f"bad token {TOKEN}"})
        with pytest.raises(Conflict) as caught:
            await forge.create_tag(REPO, "v1", SHA, "")
        assert TOKEN not in caught.value.message and "[token]" in caught.value.message


class TestThreadPool:
    async def test_event_loop_stays_responsive(self, recorder, forge):
        """While GitLab is slow the loop keeps ticking, and the call runs in a shipbot-gitlab thread."""
        recorder.on("GET", P, json=api.project(), delay=1.0)
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        call = asyncio.create_task(forge.default_branch(REPO))
        while not recorder.requests:
            await asyncio.sleep(0.01)
        workers = [t.name for t in threading.enumerate() if t.name.startswith("shipbot-gitlab")]
        assert await call == "main"
        ticker.cancel()
        assert ticks >= 50, ticks
        assert workers and threading.current_thread().name not in workers

    async def test_calls_run_in_parallel(self, recorder, forge):
        """Four slow reads overlap in the pool instead of queueing behind each other."""
        recorder.on("GET", P, json=api.project(), delay=0.5)
        started = time.monotonic()
        assert await asyncio.gather(*(forge.default_branch(REPO) for _ in range(4))) == ["main"] * 4
        assert time.monotonic() - started < 1.5


class TestOnlyGitLabsHost:
    def test_ensure_same_host(self):
        """Relative and same-origin URLs pass; another host, port or scheme is refused."""
        base = "https://gitlab.example.com"
        assert ensure_same_host("/api/v4/projects", base) == "/api/v4/projects"
        assert ensure_same_host("https://GITLAB.example.com:443/api/v4/x", base)
        for url in ("https://evil.example/api/v4/x", "https://gitlab.example.com:8443/x",
                    "http://gitlab.example.com/x", "//evil.example/x"):
            with pytest.raises(OffHostURL, match="only talks to GitLab at gitlab.example.com"):
                ensure_same_host(url, base)

    def test_retry_after_forms(self):
        """Retry-After in seconds or as a date, else RateLimit-Reset, else nothing."""
        assert retry_after({"Retry-After": "7"}, now=0) == 7
        assert retry_after({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, now=40) == 60
        assert retry_after({"RateLimit-Reset": "100"}, now=90) == 10
        assert retry_after({}, now=0) is None

    async def test_pagination_link_to_another_host_is_refused(self, recorder, forge):
        """A `Link: rel="next"` to another server is refused; that server receives nothing, no token."""
        other = await RecordingServer().start()
        try:
            link = f'<{other.url}{P}/repository/tags?page=2&per_page=100>; rel="next"'
            recorder.on("GET", f"{P}/repository/tags", json=[api.tag()], headers={"Link": link})
            # python-gitlab warns about the foreign base URL and would follow it; we refuse it.
            with pytest.warns(UserWarning, match="base URL"), \
                    pytest.raises(OffHostURL, match=f"refused to contact 127.0.0.1:{other.port}"):
                await forge.list_tags(REPO)
            assert other.requests == []
        finally:
            await other.stop()

    async def test_redirect_to_another_host_is_refused(self, recorder, forge):
        """A redirect to another server is not followed, so the PRIVATE-TOKEN header never leaves."""
        other = await RecordingServer().start()
        try:
            other.on("GET", ".*", json=api.project())
            recorder.on("GET", P, status=302, body=b"", headers={"Location": f"{other.url}{P}"})
            with pytest.raises(OffHostURL):
                await forge.default_branch(REPO)
            assert other.requests == []
        finally:
            await other.stop()
