"""End to end: a signed tag push over HTTP, the real app and worker, the GitHub adapter against Prism."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

from bot.chat.base import RecordingChat
from bot.services import build_services
from tests.conftest import make_settings
from tests.fakes import FakeForge
from tests.peers import body_of, github_example, github_headers

SECRET = "e2e-secret"
REPO = "Codertocat/Hello-World"
OLD, NEW, MID = "1" * 40, "2" * 40, "3" * 40


def tags_answer(found: list) -> list:
    template = found[0] if found else {"zipball_url": "z", "tarball_url": "t", "node_id": "n", "commit": {}}
    return [dict(template, name=name, commit={"sha": sha, "url": f"https://api.github.com/c/{sha}"})
            for name, sha in (("v1.3.0", NEW), ("v1.2.0", OLD))]


def compare_answer(found: dict) -> dict:
    template = found["commits"][0] if found.get("commits") else github_example("push")["head_commit"]
    commits = []
    for sha, message, author in ((MID, "fix: handle empty pages\n\nCloses #7", "Hubot"),
                                 (NEW, "feat(api): add pagination (#12)", "Mona")):  # oldest first, as GitHub lists
        git = dict(template.get("commit") or {}, message=message,
                   author={"name": author, "email": "a@example.com", "date": "2026-11-01T00:00:00Z"})
        commits.append(dict(template, sha=sha, commit=git, parents=[{"sha": OLD, "url": "u"}]))
    return dict(found, commits=commits, total_commits=2)


class TestTagPushOverHTTP:
    async def test_release_body_sent_to_github(self, sqlite_db, github_api, serve):
        """The exact release GitHub receives for a pushed v1.3.0, validated against GitHub's OpenAPI description."""
        github_api.prefer("GET", rf"/repos/{REPO}/contents/.*", code=404)
        github_api.prefer("GET", rf"/repos/{REPO}/releases/tags/.*", code=404)
        github_api.edit_answer("GET", rf"/repos/{REPO}/tags", tags_answer)
        github_api.edit_answer("GET", rf"/repos/{REPO}/compare/.*", compare_answer)
        settings = make_settings(GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_TOKEN="ghp-e2e")
        services = build_services(settings, sqlite_db, forges={"github": github_api.forge(), "gitlab": FakeForge("gitlab")},
                                  chat=RecordingChat())
        client = await serve(settings, services, workers=True)
        payload = github_example("push")
        payload.update(ref="refs/tags/v1.3.0", created=True, deleted=False, after=NEW, base_ref=None)
        body = body_of(payload)
        resp = await client.post("/webhooks/github", data=body, headers=github_headers("push", body, SECRET))
        assert resp.status == 202
        deadline = time.monotonic() + 30
        while not github_api.requests("POST", rf"/repos/{REPO}/releases") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        [sent] = github_api.requests("POST", rf"/repos/{REPO}/releases")
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        url = f"https://github.com/{REPO}"
        assert sent.body == {"tag_name": "v1.3.0", "name": "v1.3.0", "draft": False, "prerelease": False, "body": (
            "<!-- shipbot:release-notes -->\n"
            f"## [1.3.0]({url}/compare/v1.2.0...v1.3.0) - {today}\n\n"
            "### Added\n\n"
            f"- **api:** add pagination ([#12]({url}/pull/12)) ([2222222]({url}/commit/{NEW})) by Mona\n\n"
            "### Fixed\n\n"
            f"- handle empty pages ([3333333]({url}/commit/{MID})), closes [#7]({url}/issues/7) by Hubot\n")}
        compare = github_api.requests("GET", rf"/repos/{REPO}/compare/.*")[0]
        assert compare.path == f"/repos/{REPO}/compare/v1.2.0...v1.3.0"
