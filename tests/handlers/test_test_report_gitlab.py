"""The test report end to end on GitLab: a documented Pipeline Hook, the real queue and the real GitLabForge."""
from __future__ import annotations

import pytest

from bot.chat.base import RecordingChat
from bot.forge.gitlab import GitLabForge
from bot.services import build_services
from bot.settings import GitLabSettings, Secret
from tests.conftest import deliver, make_settings
from tests.fakes import FakeForge
from tests.forge import gitlab_payloads as api
from tests.handlers.test_test_report import GL_SHA, pipeline

P = "/api/v4/projects/1"  # the project of GitLab's documented pipeline example
MARKER = "<!-- shipbot:test-report -->"


@pytest.fixture
async def services(recorder, sqlite_db):
    """Services whose GitLab forge is python-gitlab talking to the recording server."""
    forge = GitLabForge(GitLabSettings(url=recorder.url, token=Secret("glpat-test-token-1234567890")), timeout=5)
    yield build_services(make_settings(GITLAB_WEBHOOK_SECRET="s"), sqlite_db,
                         forges={"github": FakeForge("github"), "gitlab": forge}, chat=RecordingChat())
    await forge.close()


def gitlab_with_mr(recorder, notes: list) -> None:
    mr = api.merge_request(1, sha=GL_SHA, source_branch="test", target_branch="master", source_project_id=1,
                           target_project_id=1)
    recorder.on("GET", f"{P}/repository/files/.*/raw", status=404, json={"message": "404 File Not Found"})
    recorder.on("GET", f"{P}/repository/commits/{GL_SHA}/merge_requests", json=[mr])
    recorder.on("GET", f"{P}/merge_requests/1", json=mr)
    recorder.on("GET", f"{P}/pipelines/31/test_report_summary", json=api.report_summary())
    recorder.on("GET", f"{P}/merge_requests/1/notes", json=notes)
    recorder.on("POST", f"{P}/merge_requests/1/notes", status=201, json=api.note(900, MARKER, iid=1))
    recorder.on("PUT", f"{P}/merge_requests/1/notes/301", json=api.note(301, MARKER, iid=1))


class TestThroughGitLabForge:
    async def test_failed_pipeline_creates_the_note(self, recorder, services):
        """A failed MR pipeline posts one note with the failed job and GitLab's test summary."""
        gitlab_with_mr(recorder, [])
        row = await deliver(services, "gitlab", "Pipeline Hook", pipeline())
        assert row["status"] == "done", row["last_error"]
        [post] = recorder.calls("POST", f"{P}/merge_requests/1/notes")
        body = post.json["body"]
        assert body.startswith(MARKER) and "1 of 5 jobs failed on `bcbb5ec`" in body
        assert "**Tests:** 3349 passed, 2 failed, 0 errors, 12 skipped in 31m 44s" in body

    async def test_existing_note_is_edited(self, recorder, services):
        """shipbot's note already on the MR is edited with PUT, not posted again."""
        gitlab_with_mr(recorder, [api.note(301, f"{MARKER}\nold", iid=1)])
        row = await deliver(services, "gitlab", "Pipeline Hook", pipeline())
        assert row["status"] == "done", row["last_error"]
        assert not recorder.calls("POST", f"{P}/merge_requests/1/notes")
        [put] = recorder.calls("PUT", f"{P}/merge_requests/1/notes/301")
        assert "1 of 5 jobs failed" in put.json["body"]
