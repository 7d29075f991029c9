"""End to end: GitLab's documented Tag Push Hook over HTTP, the real app, python-gitlab against a recorder."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

from bot.chat.base import RecordingChat
from bot.forge.gitlab import GitLabForge
from bot.services import build_services
from bot.settings import GitLabSettings, Secret
from tests.conftest import make_settings
from tests.fakes import FakeForge
from tests.peers import body_of, gitlab_headers, gitlab_payload

P = "/api/v4/projects/1"
NEW = "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"
OLD = "1" * 40


def gl_commit(sha: str, message: str, author: str) -> dict:
    return {"id": sha, "short_id": sha[:8], "title": message.splitlines()[0], "message": message,
            "author_name": author, "author_email": "a@example.com", "authored_date": "2026-11-01T00:00:00Z",
            "parent_ids": [OLD], "web_url": f"http://gitlab.example.com/jsmith/example/-/commit/{sha}"}


class TestTagPushOverHTTP:
    async def test_release_description_sent_to_gitlab(self, sqlite_db, recorder, serve):
        """A pushed v1.0.0 after v0.9.0: GitLab receives one release with the notes of the commits between."""
        recorder.on("GET", rf"{P}/repository/files/.*/raw", status=404, json={"message": "404 File Not Found"})
        recorder.on("GET", rf"{P}/repository/tags", json=[{"name": "v1.0.0", "commit": {"id": NEW}},
                                                          {"name": "v0.9.0", "commit": {"id": OLD}}])
        recorder.on("GET", rf"{P}/repository/compare", json={"commits": [
            gl_commit("3" * 40, "fix(ui): keep focus after save", "Ada"),
            gl_commit(NEW, "feat!: drop the v1 API\n\nBREAKING CHANGE: /api/v1 is gone", "Grace")]})
        recorder.on("GET", rf"{P}/releases/v1.0.0", status=404, json={"message": "404 Not Found"})
        recorder.on("POST", rf"{P}/releases", status=201, respond=lambda req, m: {
            "tag_name": req.json["tag_name"], "name": req.json["name"], "description": req.json["description"],
            "_links": {"self": "http://gitlab.example.com/jsmith/example/-/releases/v1.0.0"}})
        gitlab = GitLabForge(GitLabSettings(url=recorder.url, token=Secret("glpat-e2e")))
        settings = make_settings(GITLAB_WEBHOOK_SECRET="t", GITLAB_URL="http://gitlab.example.com",
                                 GITLAB_TOKEN="glpat-e2e")
        services = build_services(settings, sqlite_db, forges={"gitlab": gitlab, "github": FakeForge("github")},
                                  chat=RecordingChat())
        client = await serve(settings, services, workers=True)
        resp = await client.post("/webhooks/gitlab", data=body_of(gitlab_payload("tag_push.json")),
                                 headers=gitlab_headers("Tag Push Hook", "t"))
        assert resp.status == 202
        deadline = time.monotonic() + 30
        while not recorder.calls("POST", rf"{P}/releases") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        [sent] = recorder.calls("POST", rf"{P}/releases")
        compare = recorder.calls("GET", rf"{P}/repository/compare")[0]
        assert compare.query == {"from": ["v0.9.0"], "to": ["v1.0.0"]}
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        web = "http://gitlab.example.com/jsmith/example"
        assert sent.json["tag_name"] == "v1.0.0" and sent.json["name"] == "v1.0.0"
        assert sent.json["description"] == (
            "<!-- shipbot:release-notes -->\n"
            f"## [1.0.0]({web}/-/compare/v0.9.0...v1.0.0) - {today}\n\n"
            "### ⚠ Breaking changes\n\n"
            f"- /api/v1 is gone ([82b3d5a]({web}/-/commit/{NEW}))\n\n"
            "### Added\n\n"
            f"- drop the v1 API ([82b3d5a]({web}/-/commit/{NEW})) by Grace\n\n"
            "### Fixed\n\n"
            f"- **ui:** keep focus after save ([3333333]({web}/-/commit/{'3' * 40})) by Ada\n")
        await gitlab.close()
