"""Release PR/MR mode: one PR kept up to date on pushes, /release-as, and publishing on merge."""
from __future__ import annotations

import asyncio

from bot.forge.base import Commit, Tag
from tests.conftest import deliver
from tests.handlers.test_release import HEAD, OLD, arrange, comment
from tests.peers import github_example, gitlab_payload

CONFIG = "release:\n  mode: pr\n  version_files: [pyproject.toml]\n"
PYPROJECT = '[project]\nname = "hello"\nversion = "1.2.0"  # keep this comment\n'


def push_main() -> dict:
    payload = github_example("push")
    payload.update(ref="refs/heads/main", created=False, deleted=False, after=HEAD)
    payload["repository"]["default_branch"] = "main"
    return payload


def pr_mode(forge):
    repo = arrange(forge, config=CONFIG)
    repo.files["main", "pyproject.toml"] = PYPROJECT
    repo.files["main", "CHANGELOG.md"] = "# Changelog\n\n## [1.2.0] - 2026-10-01\n\n- older entry\n"
    return repo


class TestReleasePR:
    async def test_push_opens_one_release_pr_with_bumped_files(self, fake_services):
        """A push to main opens the release PR: version files bumped, changelog prepended, notes in the body."""
        services = fake_services()
        forge = services.forges["github"]
        pr_mode(forge)
        assert (await deliver(services, "github", "push", push_main()))["status"] == "done"
        [upsert] = forge.writes("upsert_change_request")
        assert upsert["branch"] == "shipbot/release" and upsert["title"] == "chore(release): 1.3.0"
        assert upsert["files"]["pyproject.toml"] == PYPROJECT.replace("1.2.0", "1.3.0")
        changelog = upsert["files"]["CHANGELOG.md"]
        assert changelog.index("## [1.3.0]") < changelog.index("## [1.2.0] - 2026-10-01\n\n- older entry")
        assert "<!-- shipbot:notes -->" in upsert["body"] and "add pagination" in upsert["body"]

    async def test_concurrent_pushes_never_make_two_prs(self, fake_services):
        """Several pushes at once end with a single open release PR."""
        services = fake_services()
        forge = services.forges["github"]
        repo = pr_mode(forge)
        await asyncio.gather(*(deliver(services, "github", "push", push_main()) for _ in range(4)))
        assert len([cr for cr in repo.change_requests.values() if cr.head_ref == "shipbot/release"]) == 1

    async def test_release_as_pins_the_version(self, fake_services):
        """/release-as 2.0.0 by a maintainer rewrites the PR, and later pushes keep that version."""
        services = fake_services()
        forge = services.forges["github"]
        pr_mode(forge)
        await deliver(services, "github", "push", push_main())
        await deliver(services, "github", "issue_comment", comment("/release-as 2.0.0", "maintainer"))
        await deliver(services, "github", "push", push_main())
        titles = [u["title"] for u in forge.writes("upsert_change_request")]
        assert titles == ["chore(release): 1.3.0", "chore(release): 2.0.0", "chore(release): 2.0.0"]
        assert "now releases **2.0.0**" in forge.writes("create_comment")[0]["body"]

    async def test_release_as_needs_a_maintainer(self, fake_services):
        """A writer cannot choose the version."""
        services = fake_services()
        forge = services.forges["github"]
        pr_mode(forge)
        await deliver(services, "github", "issue_comment", comment("/release-as 2.0.0", "dev"))
        assert "needs maintainer rights" in forge.writes("create_comment")[0]["body"]

    async def test_merging_the_release_pr_tags_and_publishes(self, fake_services):
        """Merging the release PR tags its merge commit and publishes the notes the PR carried."""
        services = fake_services()
        forge = services.forges["github"]
        pr_mode(forge)
        await deliver(services, "github", "push", push_main())
        pr_body = forge.writes("upsert_change_request")[0]["body"]
        closed = github_example("pull_request", "closed")
        closed["pull_request"].update(merged=True, title="chore(release): 1.3.0", body=pr_body,
                                      merge_commit_sha="4" * 40)
        closed["pull_request"]["head"]["ref"] = "shipbot/release"
        assert (await deliver(services, "github", "pull_request", closed))["status"] == "done"
        [tag] = forge.writes("create_tag")
        assert (tag["name"], tag["sha"]) == ("v1.3.0", "4" * 40)
        assert "add pagination" in forge.writes("create_release")[0]["body"]

    async def test_push_of_the_merged_release_does_not_reopen_it(self, fake_services):
        """The push that merges the release commit does not open a new release PR for the same version."""
        services = fake_services()
        forge = services.forges["github"]
        repo = pr_mode(forge)
        repo.commits.insert(0, Commit("5" * 40, "chore(release): 1.3.0 (#9)"))
        repo.refs["main"] = "5" * 40
        await deliver(services, "github", "push", push_main())
        assert forge.writes("upsert_change_request") == []

    async def test_gitlab_merge_request_merged(self, fake_services):
        """On GitLab the merged release MR is tagged and released the same way."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = services.forges["gitlab"]
        arrange(forge, path="gitlabhq/gitlab-test", config=CONFIG)
        merged = gitlab_payload("merge_request.json")
        merged["object_attributes"].update(action="merge", source_branch="shipbot/release",
                                           title="chore(release): 1.3.0", merge_commit_sha="6" * 40,
                                           description="<!-- shipbot:notes -->\nNotes\n<!-- shipbot:notes-end -->")
        assert (await deliver(services, "gitlab", "Merge Request Hook", merged))["status"] == "done"
        assert forge.writes("create_tag")[0]["sha"] == "6" * 40
        assert forge.writes("create_release")[0]["body"].endswith("Notes\n")


class TestPreview:
    async def test_pull_request_states_its_bump(self, fake_services):
        """With release.preview, an opened PR gets one comment naming the bump and the next version."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge, config="release:\n  preview: true\n")
        opened = github_example("pull_request", "opened")
        opened["pull_request"]["title"] = "feat: export to CSV"
        assert (await deliver(services, "github", "pull_request", opened))["status"] == "done"
        edited = github_example("pull_request", "opened")
        edited["pull_request"]["title"] = "feat!: export to CSV, dropping XML"
        await deliver(services, "github", "pull_request", edited)
        first, second = forge.writes("upsert_comment")
        assert first["created"] and not second["created"]
        assert "**minor** release: 1.2.0 → **1.3.0**" in first["body"]
        assert "**major** release: 1.2.0 → **2.0.0**" in second["body"]

    async def test_off_by_default(self, fake_services):
        """Without release.preview nothing is posted."""
        services = fake_services()
        forge = services.forges["github"]
        arrange(forge, config="")
        await deliver(services, "github", "pull_request", github_example("pull_request", "opened"))
        assert forge.calls == []
