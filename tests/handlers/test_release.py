"""Release automation through the real queue and worker: tag pushes and /release, on both forges."""
from __future__ import annotations

import asyncio

from bot.forge.base import Commit, ForgeUnavailable, Release, Tag
from tests.conftest import deliver
from tests.peers import github_example, gitlab_payload

OLD, HEAD = "1" * 40, "2" * 40


def arrange(forge, path="Codertocat/Hello-World", config="release:\n  announce: '#releases'\n"):
    repo = forge.repo(path)
    repo.files["main", ".shipbot.yml"] = config
    repo.refs.update({"main": HEAD, "v1.2.0": OLD})
    repo.tags = [Tag("v1.2.0", OLD)]
    repo.commits = [Commit(HEAD, "feat(api): add pagination (#12)", "Mona", "mona"),
                    Commit("3" * 40, "fix: handle empty pages\n\nCloses #7", "Hubot", "hubot"),
                    Commit(OLD, "chore(release): 1.2.0")]
    repo.permissions = {"maintainer": "maintain", "dev": "write"}
    return repo


def tag_push(tag: str, sha: str = HEAD) -> dict:
    payload = github_example("push")
    payload.update(ref=f"refs/tags/{tag}", created=True, deleted=False, after=sha, base_ref=None)
    return payload


def comment(body: str, login: str) -> dict:
    payload = github_example("issue_comment", "created")
    payload["comment"]["body"] = body
    payload["sender"]["login"] = login
    payload["sender"]["type"] = "User"
    return payload


class TestTagPushed:
    async def test_release_created_with_notes_and_announced(self, fake_services):
        """A pushed v1.3.0 gets a release whose notes list the commits since v1.2.0, and an announcement."""
        services = fake_services()
        forge = services.forges["github"]
        repo = arrange(forge)
        repo.tags.insert(0, Tag("v1.3.0", HEAD))
        row = await deliver(services, "github", "push", tag_push("v1.3.0"))
        assert row["status"] == "done", row["last_error"]
        [created] = forge.writes("create_release")
        assert created["tag"] == "v1.3.0" and created["prerelease"] is False
        assert "add pagination" in created["body"] and "handle empty pages" in created["body"]
        assert "chore(release)" not in created["body"]
        [post] = [w for w in services.chat.writes.writes if w.action == "post"]
        assert post.data["channel"] == "#releases" and "v1.3.0 is out" in post.data["text"]

    async def test_repository_template_renders_the_notes(self, fake_services):
        """A repository's own changelog template (read from the default branch) shapes the notes."""
        services = fake_services()
        forge = services.forges["github"]
        repo = arrange(forge, config="release:\n  changelog_template: .github/notes.md.j2\n")
        repo.files["main", ".github/notes.md.j2"] = "Release {{ release.version }} of Hello-World\n"
        row = await deliver(services, "github", "push", tag_push("v1.3.0"))
        assert row["status"] == "done", row["last_error"]
        assert "Release 1.3.0 of Hello-World" in forge.writes("create_release")[0]["body"]

    async def test_runaway_repository_template_still_publishes_with_default_notes(self, fake_services):
        """A template that would loop for hours is stopped; the release goes out with our notes and says why."""
        services = fake_services(SHIPBOT_TEMPLATE_SECONDS="2")
        forge = services.forges["github"]
        repo = arrange(forge, config="release:\n  changelog_template: .github/notes.md.j2\n")
        repo.files["main", ".github/notes.md.j2"] = ("{% for i in range(100000) %}{% for j in range(100000) %}"
                                                     "{% endfor %}{% endfor %}")
        row = await deliver(services, "github", "push", tag_push("v1.3.0"))
        assert row["status"] == "done", row["last_error"]
        [created] = forge.writes("create_release")
        assert "could not use this repository's changelog template `.github/notes.md.j2`" in created["body"]
        assert "took longer than 2 s to render" in created["body"]
        assert "add pagination" in created["body"], "the default notes follow the notice"

    async def test_tag_outside_the_format_is_ignored(self, fake_services):
        """A tag that is not a release in the repository's tag format changes nothing."""
        services = fake_services()
        arrange(services.forges["github"])
        assert (await deliver(services, "github", "push", tag_push("nightly-2026")))["status"] == "done"
        assert services.forges["github"].calls == []

    async def test_prerelease_tag_is_marked(self, fake_services):
        """v2.0.0-rc.1 is published as a prerelease."""
        services = fake_services()
        arrange(services.forges["github"])
        await deliver(services, "github", "push", tag_push("v2.0.0-rc.1"))
        assert services.forges["github"].writes("create_release")[0]["prerelease"] is True

    async def test_hand_written_text_above_the_marker_survives(self, fake_services):
        """An existing draft keeps what maintainers wrote; only shipbot's part is filled in."""
        services = fake_services()
        repo = arrange(services.forges["github"])
        repo.releases["v1.3.0"] = Release(1, "v1.3.0", "v1.3.0", "Highlights: faster pages.", None, draft=True)
        await deliver(services, "github", "push", tag_push("v1.3.0"))
        [update] = services.forges["github"].writes("update_release")
        assert update["body"].startswith("Highlights: faster pages.\n\n<!-- shipbot:release-notes -->")
        assert "add pagination" in update["body"]

    async def test_published_release_written_by_hand_is_left_alone(self, fake_services):
        """A published release shipbot did not write is not overwritten."""
        services = fake_services()
        repo = arrange(services.forges["github"])
        repo.releases["v1.3.0"] = Release(1, "v1.3.0", "v1.3.0", "Written by hand.", None)
        await deliver(services, "github", "push", tag_push("v1.3.0"))
        assert services.forges["github"].writes("update_release") == []
        assert services.forges["github"].writes("create_release") == []

    async def test_push_and_create_events_for_one_tag_make_one_release(self, fake_services):
        """GitHub sends push and create for one new tag; both at once still make one release."""
        services = fake_services()
        arrange(services.forges["github"])
        create = github_example("create")
        create.update(ref="v1.3.0", ref_type="tag")
        await asyncio.gather(deliver(services, "github", "push", tag_push("v1.3.0")),
                             deliver(services, "github", "create", create))
        assert len(services.forges["github"].writes("create_release")) == 1

    async def test_failure_half_way_then_retry_makes_one_release(self, fake_services):
        """The forge failing on create is retried later, and the retry creates exactly one release."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        forge.fail_next["create_release"] = ForgeUnavailable("GitHub answered 502")
        row = await deliver(services, "github", "push", tag_push("v1.3.0"), delivery_id="tag-1")
        assert row["status"] == "pending" and "502" in row["last_error"]
        from sqlalchemy import update

        from bot.store.tables import jobs
        async with services.db.begin() as conn:
            await conn.execute(update(jobs).values(run_at=0))
        from bot.worker import Worker
        worker = Worker(services, name="again")
        for job in await services.queue.claim("again", 5):
            await worker.process(job)
        assert len(forge.writes("create_release")) == 1

    async def test_gitlab_tag_push(self, fake_services):
        """GitLab's documented Tag Push Hook publishes the release on GitLab."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = services.forges["gitlab"]
        arrange(forge, path="jsmith/example", config="")
        row = await deliver(services, "gitlab", "Tag Push Hook", gitlab_payload("tag_push.json"))
        assert row["status"] == "done", row["last_error"]
        [created] = forge.writes("create_release")
        assert created["tag"] == "v1.0.0" and created["repo"] == "jsmith/example"


class TestReleaseCommand:
    async def test_maintainer_releases_from_a_comment(self, fake_services):
        """/release by a maintainer tags the branch head with the next version and answers with why."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        await deliver(services, "github", "issue_comment", comment("/release", "maintainer"))
        [tag] = forge.writes("create_tag")
        assert (tag["name"], tag["sha"]) == ("v1.3.0", HEAD)
        assert forge.writes("create_release")[0]["tag"] == "v1.3.0"
        [reply] = forge.writes("create_comment")
        assert "Released **1.3.0**" in reply["body"] and "add pagination (#12) → minor" in reply["body"]

    async def test_dry_run_changes_nothing(self, fake_services):
        """--dry-run shows the version, reasons and notes, and writes nothing but the answer."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        await deliver(services, "github", "issue_comment", comment("/release --dry-run", "maintainer"))
        assert [op for op, _ in forge.calls] == ["create_comment"]
        body = forge.writes("create_comment")[0]["body"]
        assert "**Dry run**" in body and "**1.3.0**" in body and "handle empty pages" in body

    async def test_explicit_version_and_bump(self, fake_services):
        """An explicit version or bump word overrides what the commits say."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        await deliver(services, "github", "issue_comment", comment("/release major --dry-run", "maintainer"))
        await deliver(services, "github", "issue_comment", comment("/release 1.2.0", "maintainer"))
        first, second = forge.writes("create_comment")
        assert "**2.0.0**" in first["body"]
        assert "1.2.0 is not above the last release 1.2.0" in second["body"]

    async def test_writers_may_not_release(self, fake_services):
        """Write access is not enough to release from a comment; the refusal says what is needed."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        await deliver(services, "github", "issue_comment", comment("/release", "dev"))
        assert forge.writes("create_tag") == []
        assert "needs maintainer rights; dev has write" in forge.writes("create_comment")[0]["body"]

    async def test_nothing_to_release(self, fake_services):
        """With only chores since the last tag, there is no release, and the answer says so."""
        services = fake_services()
        forge = services.forges["github"]
        repo = arrange(forge)
        repo.commits = [Commit(HEAD, "chore: tidy"), Commit(OLD, "chore(release): 1.2.0")]
        await deliver(services, "github", "issue_comment", comment("/release", "maintainer"))
        assert forge.writes("create_tag") == []
        assert "No release is due" in forge.writes("create_comment")[0]["body"]

    async def test_first_release_without_tags(self, fake_services):
        """A repository without release tags gets the initial version."""
        services = fake_services()
        forge = services.forges["github"]
        repo = arrange(forge)
        repo.tags = []
        await deliver(services, "github", "issue_comment", comment("/release", "maintainer"))
        assert forge.writes("create_tag")[0]["name"] == "v0.1.0"

    async def test_invalid_config_is_explained(self, fake_services):
        """A broken release section is answered with the file, line and key."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge, config="release:\n  mode: sometimes\n")
        await deliver(services, "github", "issue_comment", comment("/release", "maintainer"))
        body = forge.writes("create_comment")[0]["body"]
        assert ".shipbot.yml:2: release.mode: 'sometimes' is not one of 'tag', 'pr'" in body

    async def test_slack_release_allow(self, fake_services):
        """From Slack only the principals in release.allow may release."""
        services = fake_services(SLACK_SIGNING_SECRET="s", SHIPBOT_SLACK_CHANNELS="C1=github:Codertocat/Hello-World")
        forge = services.forges["github"]
        arrange(forge, config="release:\n  allow: ['slack:U0BOSS']\n")
        base = {"command": "/release", "text": "", "channel_id": "C1", "team_id": "T1", "trigger_id": "t",
                "response_url": "https://hooks.slack.com/commands/x"}
        await deliver(services, "slack", "slack", dict(base, user_id="U0DEV", user_name="dev"))
        await deliver(services, "slack", "slack", dict(base, user_id="U0BOSS", user_name="boss"))
        refused, done = [w.data["text"] for w in services.chat.writes.writes if w.action == "respond"]
        assert "you may not release github:Codertocat/Hello-World" in refused and "slack:U0BOSS" in refused
        assert "Released *Codertocat/Hello-World 1.3.0*" in done
        assert len(forge.writes("create_tag")) == 1


class TestRetries:
    async def test_release_command_failing_after_the_tag_retries_without_a_second_tag(self, fake_services):
        """If publishing fails after the tag was made, the retry reuses the tag and creates one release."""
        from sqlalchemy import update

        from bot.store.tables import jobs
        from bot.worker import Worker

        services = fake_services()
        forge = services.forges["github"]
        arrange(forge)
        forge.fail_next["create_release"] = ForgeUnavailable("GitHub answered 502")
        row = await deliver(services, "github", "issue_comment", comment("/release", "maintainer"))
        assert row["status"] == "pending" and len(forge.writes("create_tag")) == 1
        async with services.db.begin() as conn:
            await conn.execute(update(jobs).values(run_at=0))
        worker = Worker(services, name="again")
        for job in await services.queue.claim("again", 5):
            await worker.process(job)
        assert len(forge.writes("create_tag")) == 1 and len(forge.writes("create_release")) == 1
        [answer] = forge.writes("upsert_comment")  # a retry edits its answer if it gave one already
        assert "Released **1.3.0**" in answer["body"] and answer["created"]
