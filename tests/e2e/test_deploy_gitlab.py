"""End to end: `/shipbot deploy staging` in an MR note, the real worker, python-gitlab against a recorder."""
from __future__ import annotations

from bot.chat.base import RecordingChat
from bot.forge.gitlab import GitLabForge
from bot.services import build_services
from bot.settings import GitLabSettings, Secret
from tests.conftest import deliver, make_settings
from tests.fakes import FakeForge
from tests.forge import gitlab_payloads as api
from tests.handlers.chatops import mr_note

P = "/api/v4/projects/5"
HEAD = "562e173be03b8ff2efb05345d12df18815438a4b"


class TestDeployThroughGitLab:
    async def test_mr_note_starts_a_pipeline_with_the_deploy_variables(self, recorder, sqlite_db):
        """GitLab receives one pipeline on the MR's branch whose variables are the five deploy inputs."""
        recorder.on("GET", rf"{P}/repository/files/.*/raw", status=404, json={"message": "404 File Not Found"})
        recorder.on("GET", "/api/v4/users", json=[api.user(1, "root")])
        recorder.on("GET", rf"{P}/members/all/1", json=api.member(1, 40))
        recorder.on("GET", rf"{P}/merge_requests/1", json=api.merge_request(1, sha=HEAD, source_branch="master"))
        recorder.on("GET", rf"{P}/repository/commits/.*", json={"id": HEAD, "short_id": HEAD[:8], "title": "t",
                                                                "message": "t", "parent_ids": []})
        recorder.on("GET", rf"{P}", json={"id": 5, "default_branch": "master", "path_with_namespace": "gitlab-org/gitlab-test"})
        recorder.on("POST", rf"{P}/pipeline", status=201, json=api.pipeline(99, ref="master", sha=HEAD, status="created"))
        recorder.on("POST", rf"{P}/merge_requests/1/notes", status=201,
                    respond=lambda req, m: {"id": 700, "body": req.json["body"], "author": api.user(9, "shipbot")})
        recorder.on("GET", rf"{P}/merge_requests/1/notes", json=[])
        recorder.on("PUT", rf"{P}/merge_requests/1/notes/700", respond=lambda req, m: {
            "id": 700, "body": req.json["body"], "author": api.user(9, "shipbot")})
        gitlab = GitLabForge(GitLabSettings(url=recorder.url, token=Secret("glpat-e2e")))
        services = build_services(make_settings(GITLAB_WEBHOOK_SECRET="s", GITLAB_URL="http://gitlab.example.com",
                                                GITLAB_TOKEN="glpat-e2e"), sqlite_db,
                                  forges={"gitlab": gitlab, "github": FakeForge("github")}, chat=RecordingChat())
        row = await deliver(services, "gitlab", "Note Hook", mr_note("/shipbot deploy staging"))
        assert row["status"] == "done", (row["last_error"], [(r.method, r.path) for r in recorder.requests])
        [pipeline] = recorder.calls("POST", rf"{P}/pipeline")
        assert pipeline.json["ref"] == "master"
        variables = {v["key"]: v["value"] for v in pipeline.json["variables"]}
        assert variables["environment"] == "staging" and variables["sha"] == HEAD
        assert variables["requested_by"] == "gitlab:root" and variables["shipbot_request_id"]
        assert recorder.calls("POST", rf"{P}/merge_requests/1/notes") or recorder.calls("PUT", rf"{P}/merge_requests/1/notes/.*")
        await gitlab.close()
