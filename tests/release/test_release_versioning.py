"""Next-version decisions: bump rules, pre-1.0 policy, prereleases, tags, reverts and merges."""
from __future__ import annotations

import pytest
from semver import Version

from bot.sansio.commits import Commit
from bot.sansio.history import collect_changes
from bot.sansio.release_config import ReleaseConfigError, release_settings
from bot.sansio.versioning import (
    Bump, TagFormat, decide_bump, next_version, plan_release, release_tags)


def sha(number: int) -> str:
    """A fake sha whose short form shows the number: 0000002000…."""
    return f"{number:07x}".ljust(40, "0")


def linear(*messages: str) -> list[Commit]:
    """Commits newest first, each the child of the next; the oldest is sha(1)."""
    shas = [sha(i) for i in range(len(messages), 0, -1)]
    return [Commit(sha, message, (shas[i + 1],) if i + 1 < len(shas) else ())
            for i, (sha, message) in enumerate(zip(shas, messages))]


def plan(tags, *messages, pre=None, new_since_latest=True, **config):
    settings = release_settings(config)
    return plan_release(release_tags(tags, settings.tags), linear(*messages), settings,
                        pre=pre, new_since_latest=new_since_latest)


class TestBumpRules:
    # (commit messages newest first, expected bump from 1.2.3)
    CASES = [
        (["feat: a"], "minor"),
        (["fix: a"], "patch"),
        (["perf: a"], "patch"),
        (["deps: bump x"], "patch"),
        (["docs: a", "chore: b", "refactor: c", "test: d", "ci: e", "build: f", "style: g"], "none"),
        (["fix: a", "feat: b"], "minor"),
        (["feat!: a", "fix: b"], "major"),
        (["docs: a\n\nBREAKING CHANGE: the docs site moved"], "major"),
        (["chore(deps): bump x from 1 to 2"], "none"),
        (["Update README", "wip"], "none"),
        (["fix: a\n\nfeat: this line is a footer, not a feature"], "patch"),
        (["fix: a\n\n* feat: squashed bullet"], "patch"),
    ]

    @pytest.mark.parametrize(("messages", "bump"), CASES)
    def test_default_types(self, messages, bump):
        """Breaking is major, feat minor, fix/perf/deps patch, everything else no release."""
        assert plan(["v1.2.3"], *messages).bump == bump

    def test_configured_types(self):
        """`types` replaces the default map: here refactor releases and perf does not."""
        result = plan(["v1.2.3"], "refactor: a", "perf: b", types={"feat": "minor", "refactor": "patch"})
        assert (result.bump, str(result.next)) == ("patch", "1.2.4")
        assert plan(["v1.2.3"], "perf: b", types={"feat": "minor"}).bump == "none"

    def test_scoped_type_key(self):
        """A `type(scope)` key such as `chore(deps)` wins over the bare type."""
        assert plan(["v1.2.3"], "chore(deps): bump x", types={"chore(deps)": "patch"}).bump == "patch"

    def test_squash_bullets_only_when_configured(self):
        """Conventional bullets of a squash body count only with `squash_bullets: true`."""
        message = "Big change (#5)\n\n* feat: one\n* fix: two"
        assert plan(["v1.2.3"], message).bump == "none"
        assert plan(["v1.2.3"], message, squash_bullets=True).bump == "minor"

    def test_reasons_name_the_commits(self):
        """Reasons list each deciding commit as '<sha7> <subject> → <bump>'."""
        result = plan(["v1.2.3"], "docs: x", "feat: add X", "fix: y")
        assert [str(r) for r in result.reasons] == [
            "0000002 feat: add X → minor", "0000001 fix: y → patch"]


class TestPreOnePointZero:
    def test_breaking_bumps_minor_below_one(self):
        """Below 1.0.0 a breaking change bumps minor by default."""
        result = plan(["v0.4.1"], "feat!: drop x")
        assert (result.bump, str(result.next)) == ("minor", "0.5.0")
        assert "breaking change below 1.0.0" in str(result.reasons[0])

    def test_major_on_zero(self):
        """With `major_on_zero: true` a breaking change below 1.0.0 gives 1.0.0."""
        assert str(plan(["v0.4.1"], "feat!: drop x", major_on_zero=True).next) == "1.0.0"


class TestNoRelease:
    def test_nothing_releasable_is_none(self):
        """Only docs and chores: no release, and no error either."""
        result = plan(["v1.2.3"], "docs: a", "chore: b")
        assert (result.next, result.next_tag, result.bump) == (None, None, "none")

    def test_empty_range_is_none(self):
        """No commit since the tag: no release."""
        assert plan(["v1.2.3"]).next is None

    def test_first_release_is_initial_version(self):
        """With no tag at all the next version is the initial version."""
        result = plan([], "chore: init")
        assert (result.current, str(result.next), result.bump) == (None, "0.1.0", "minor")
        assert str(plan([], "feat: x", initial_version="1.0.0").next) == "1.0.0"


class TestPrereleases:
    def test_first_prerelease(self):
        """`--pre rc` after 1.2.0 with a feature gives 1.3.0-rc.1."""
        result = plan(["v1.2.0"], "feat: x", pre="rc")
        assert (str(result.next), result.bump, result.next_tag) == ("1.3.0-rc.1", "prerelease", "v1.3.0-rc.1")

    def test_next_prerelease(self):
        """After 1.3.0-rc.1, more commits give 1.3.0-rc.2."""
        assert str(plan(["v1.2.0", "v1.3.0-rc.1"], "fix: y", "feat: x", pre="rc").next) == "1.3.0-rc.2"

    def test_final_after_prerelease(self):
        """Without --pre, 1.3.0-rc.2 is followed by the final 1.3.0."""
        result = plan(["v1.2.0", "v1.3.0-rc.1", "v1.3.0-rc.2"], "feat: x")
        assert (str(result.current), str(result.next), result.bump) == ("1.3.0-rc.2", "1.3.0", "minor")

    def test_breaking_after_rc_moves_the_line(self):
        """A breaking change after 1.3.0-rc.1 moves the prerelease line to 2.0.0-rc.1."""
        assert str(plan(["v1.2.0", "v1.3.0-rc.1"], "feat!: y", "feat: x", pre="rc").next) == "2.0.0-rc.1"

    def test_no_new_commit_since_rc(self):
        """Asking for another rc with nothing new since the last one gives no release."""
        assert plan(["v1.2.0", "v1.3.0-rc.1"], "feat: x", pre="rc", new_since_latest=False).next is None

    def test_other_identifier_starts_at_one(self):
        """Switching from beta to rc starts the rc count at 1."""
        assert str(plan(["v1.2.0", "v1.3.0-beta.3"], "feat: x", pre="rc").next) == "1.3.0-rc.1"

    def test_next_version_doctests(self):
        """next_version() leaves `base` alone when no bump is due."""
        assert next_version(Version.parse("1.0.0"), Bump.NONE, initial=Version.parse("0.1.0")) is None


class TestTagFormats:
    @pytest.mark.parametrize(("pattern", "tag", "version"), [
        ("v{version}", "v1.2.3", "1.2.3"),
        ("{version}", "1.2.3", "1.2.3"),
        ("pkg@{version}", "pkg@1.2.3-rc.1", "1.2.3-rc.1"),
        ("pkg-v{version}", "pkg-v10.0.0", "10.0.0"),
        ("v{version}", "1.2.3", None),
        ("v{version}", "v1.2", None),
        ("pkg@{version}", "other@1.2.3", None),
        ("pkg-v{version}", "pkg-v1.2.3-extra-stuff", "1.2.3-extra-stuff"),
    ])
    def test_parse(self, pattern, tag, version):
        """A tag format recognises its own tags and no others."""
        parsed = TagFormat(pattern).parse(tag)
        assert (str(parsed) if parsed else None) == version

    def test_highest_reachable_wins(self):
        """The current release is the highest version among the tags, not the newest tag."""
        state = release_tags(["v1.10.0", "v1.9.0", "v2.0.0-rc.1", "junk"], TagFormat("v{version}"))
        assert state.latest[0] == "v2.0.0-rc.1" and state.latest_final[0] == "v1.10.0"

    def test_monorepo_tag(self):
        """A package tag format formats the next tag in the same shape."""
        assert plan(["api@1.0.0", "web@3.0.0"], "fix: x", tag_format="api@{version}").next_tag == "api@1.0.1"


class TestRevertsAndMerges:
    def test_commit_and_revert_cancel(self):
        """A feature reverted in the same release asks for nothing."""
        commits = linear('Revert "feat: x"\n\nThis reverts commit ' + f"{sha(1)}.", "feat: x")
        history = collect_changes(commits)
        assert history.changes == () and len(history.cancelled) == 1
        assert decide_bump(history, release_settings({}).types)[0] is Bump.NONE

    def test_revert_by_subject(self):
        """A revert that names no sha cancels the older commit with the quoted subject."""
        assert plan(["v1.0.0"], 'Revert "feat: x"', "fix: y", "feat: x").bump == "patch"

    def test_revert_of_revert_restores(self):
        """Reverting the revert brings the original change back."""
        first, second = sha(1), sha(2)
        result = plan(["v1.0.0"], f'Revert "Revert "feat: x""\n\nThis reverts commit {second}.',
                      f'Revert "feat: x"\n\nThis reverts commit {first}.', "feat: x")
        assert result.bump == "minor"

    def test_revert_of_older_release_stands(self):
        """A revert of a commit outside the range is a change of its own (type revert)."""
        message = 'Revert "feat: x"\n\nThis reverts commit ' + "f" * 40 + "."
        assert plan(["v1.0.0"], message).bump == "none"
        assert plan(["v1.0.0"], message, types={"revert": "patch"}).bump == "patch"

    def test_merged_pr_is_one_change(self):
        """A merged PR with a conventional title folds its commits; their bumps still count."""
        base, c1, c2, merge = "0" * 40, "1" * 40, "2" * 40, "3" * 40
        commits = [
            Commit(merge, "Merge pull request #7 from me/x\n\nfeat: the feature", (base, c2)),
            Commit(c2, "fix!: inner breaking fix", (c1,)),
            Commit(c1, "wip", (base,)),
        ]
        history = collect_changes(commits)
        assert [change.headline.sha for change in history.changes] == [merge]
        assert history.changes[0].breaking and history.unparsed == ()
        assert decide_bump(history, release_settings({}).types)[0] is Bump.MAJOR


class TestReleaseConfig:
    def test_defaults(self):
        """No file at all gives DESIGN.md's defaults."""
        settings = release_settings(None)
        assert (settings.tag_format, settings.initial_version, settings.major_on_zero,
                settings.changelog, dict(settings.types)) == (
            "v{version}", "0.1.0", False, "CHANGELOG.md",
            {"feat": Bump.MINOR, "fix": Bump.PATCH, "perf": Bump.PATCH, "deps": Bump.PATCH})

    @pytest.mark.parametrize(("mapping", "message"), [
        ({"tag_format": "v"}, "release.tag_format: must contain {version}"),
        ({"types": {"feat": "big"}}, "release.types.feat: 'big' is not one of"),
        ({"initial_version": "1.0"}, "release.initial_version: '1.0' is not a semantic version"),
        ({"mode": "push"}, "release.mode: 'push' is not one of tag, pr"),
        ({"major_on_zero": "yes"}, "release.major_on_zero: expected true or false"),
        ({"tag_fromat": "v{version}"}, "release.tag_fromat: unknown key"),
    ])
    def test_errors_name_the_key(self, mapping, message):
        """A bad value is refused with the key and the reason."""
        with pytest.raises(ReleaseConfigError, match=message.replace("{", r"\{").replace("(", r"\(")):
            release_settings(mapping)


def test_strongest_bump_is_decide_bumps_on_every_corpus_release():
    """next-version's bump without reasons (strongest_bump) is decide_bump's, on the 1,000
    real releases and under every policy: scoped types, 0.x, major_on_zero."""
    import json

    from bot.sansio.commits import Commit
    from bot.sansio.history import collect_changes
    from bot.sansio.versioning import strongest_bump
    from tests.release.release_gitrepo import ROOT

    policies = [release_settings({}), release_settings({"major_on_zero": True}),
                release_settings({"types": {"feat": "major", "chore(deps)": "patch", "docs": "patch"}})]
    for path in sorted((ROOT.parent / "shared" / "corpus" / "release-bumps").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            commits = [Commit(c["sha"] if "sha" in c else str(n), c["subject"] + ("\n\n" + c["body"] if c["body"] else ""))
                       for n, c in enumerate(row["commits"])]
            history = collect_changes(commits)
            for settings in policies:
                for base in (Version.parse("0.4.0"), Version.parse("2.1.0"), None):
                    kwargs = {"major_on_zero": settings.major_on_zero, "base": base}
                    assert strongest_bump(history, settings.types, **kwargs) is \
                        decide_bump(history, settings.types, **kwargs)[0]
