"""The next-version, changelog and release commands, run as a user runs them, on real repositories."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.release.release_gitrepo import ROOT, GitRepo, git_env, run_cli

PYPROJECT = '[project]\nname = "demo"\nversion = "1.2.0"  # set by shipbot\n'


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    """A repository released as v1.2.0, then a feature, a fix and a docs change."""
    repo = GitRepo(tmp_path / "demo")
    repo.commit("chore: start", {"pyproject.toml": PYPROJECT, "CHANGELOG.md": "# Changelog\n\n## 1.2.0\n\n- old  entry\n"})
    repo.tag("v1.2.0")
    repo.git("remote", "add", "origin", "git@github.com:octo/demo.git")
    repo.commit("feat(cli): add --json (#12)")
    repo.commit("fix: handle empty input\n\nCloses #4", author=("Bo", "7+bo@users.noreply.github.com"))
    repo.commit("docs: explain --json")
    return repo


def cli_json(*args: str) -> dict:
    done = run_cli("next-version", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class TestNextVersionCommand:
    def test_plain_prints_the_version(self, repo):
        """Plain output is the next version and nothing else."""
        done = run_cli("next-version", "--repo", str(repo.path))
        assert (done.returncode, done.stdout, done.stderr) == (0, "1.3.0\n", "")

    def test_json_document(self, repo):
        """--json gives DESIGN.md's keys: current, next, bump, commits and reasons."""
        result = cli_json("--repo", str(repo.path))
        assert list(result) == ["current", "next", "bump", "commits", "reasons"]
        assert (result["current"], result["next"], result["bump"]) == ("1.2.0", "1.3.0", "minor")
        assert [(c["subject"], c["type"], c["scope"], c["breaking"]) for c in result["commits"]] == [
            ("docs: explain --json", "docs", None, False), ("fix: handle empty input", "fix", None, False),
            ("feat(cli): add --json (#12)", "feat", "cli", False)]
        assert [reason.split(" ", 1)[1] for reason in result["reasons"]] == [
            "fix: handle empty input → patch", "feat(cli): add --json (#12) → minor"]

    def test_no_release_due_prints_nothing(self, repo):
        """With only docs since the tag the plain output is empty and the exit code 0."""
        repo.tag("v1.3.0")
        repo.commit("docs: more")
        done = run_cli("next-version", "--repo", str(repo.path))
        assert (done.returncode, done.stdout) == (0, "")
        assert cli_json("--repo", str(repo.path))["bump"] == "none"

    def test_not_conventional_commit_is_listed(self, repo):
        """A commit that does not parse is listed with type null, and is not an error."""
        repo.commit("Update README.md")
        assert cli_json("--repo", str(repo.path))["commits"][0]["type"] is None

    def test_first_release(self, tmp_path):
        """With no tag yet: current null and next the initial version from .shipbot.yml."""
        repo = GitRepo(tmp_path / "new")
        repo.commit("chore: init", {".shipbot.yml": "release:\n  initial_version: 1.0.0\n"})
        result = cli_json("--repo", str(repo.path))
        assert (result["current"], result["next"], result["bump"]) == (None, "1.0.0", "major")

    def test_rev(self, repo):
        """--rev counts only the commits reachable from that revision."""
        assert run_cli("next-version", "--repo", str(repo.path), "--rev", "HEAD~2").stdout == "1.3.0\n"
        assert run_cli("next-version", "--repo", str(repo.path), "--rev", "v1.2.0").stdout == ""

    def test_tags_on_other_branches_do_not_count(self, repo):
        """A higher tag that HEAD cannot reach (another branch) is not the current release."""
        repo.git("switch", "-q", "-c", "maintenance", "v1.2.0")
        repo.commit("fix: backport")
        repo.tag("v9.0.0")
        repo.commit("feat: only here")
        repo.tag("v9.1.0-rc.1")
        repo.git("switch", "-q", "main")
        result = cli_json("--repo", str(repo.path))
        assert (result["current"], result["next"], len(result["commits"])) == ("1.2.0", "1.3.0", 3)
        assert run_cli("next-version", "--repo", str(repo.path), "--rev", "maintenance").stdout == "9.1.0\n"

    def test_prerelease_cycle(self, repo):
        """--pre rc gives rc.1, then rc.2 after more commits, then the final without --pre."""
        path = str(repo.path)
        assert run_cli("next-version", "--repo", path, "--pre", "rc").stdout == "1.3.0-rc.1\n"
        repo.tag("v1.3.0-rc.1")
        assert run_cli("next-version", "--repo", path, "--pre", "rc").stdout == ""
        repo.commit("fix: another")
        assert run_cli("next-version", "--repo", path, "--pre", "rc").stdout == "1.3.0-rc.2\n"
        result = cli_json("--repo", path)
        assert (result["current"], result["next"], result["bump"]) == ("1.3.0-rc.1", "1.3.0", "minor")

    def test_monorepo_paths_and_tag_format(self, tmp_path):
        """A package's tags and paths count only the commits that touch that package."""
        repo = GitRepo(tmp_path / "mono")
        repo.commit("chore: start", {"api/a.txt": "1", "web/w.txt": "1"})
        repo.tag("api@1.0.0")
        repo.tag("web-v2.0.0")
        repo.commit("feat(web): new page", {"web/w.txt": "2"})
        repo.commit("fix(api): bad status", {"api/a.txt": "2"})
        repo.commit("feat: touch both", {"api/a.txt": "3", "README": "x"})
        path = str(repo.path)
        api = cli_json("--repo", path, "--tag-format", "api@{version}", "--path", "api")
        web = run_cli("next-version", "--repo", path, "--tag-format", "web-v{version}", "--path", "web")
        assert (api["next"], len(api["commits"])) == ("1.1.0", 2)
        assert web.stdout == "2.1.0\n"

    def test_config_in_github_folder(self, tmp_path):
        """.github/shipbot.yml is read when there is no .shipbot.yml."""
        repo = GitRepo(tmp_path / "gh")
        config = "release:\n  tag_format: '{version}'\n  types: {refactor: patch}\n"
        repo.commit("chore: start", {".github/shipbot.yml": config})
        repo.tag("3.1.4")
        repo.commit("refactor: simpler")
        assert run_cli("next-version", "--repo", str(repo.path)).stdout == "3.1.5\n"

    @pytest.mark.parametrize(("config", "message"), [
        ("release:\n  types: {feat: huge}\n", "release.types.feat: 'huge' is not one of"),
        ("release: [1, 2\n", "not valid YAML"),
    ])
    def test_bad_config_is_one_clear_line(self, tmp_path, config, message):
        """A bad .shipbot.yml stops the command with exit 1 and the key at fault."""
        repo = GitRepo(tmp_path / "bad")
        repo.commit("chore: start", {".shipbot.yml": config})
        done = run_cli("next-version", "--repo", str(repo.path))
        assert done.returncode == 1 and message in done.stderr and done.stdout == ""

    def test_not_a_repository(self, tmp_path):
        """Outside a git checkout the command says so and exits 1."""
        done = run_cli("next-version", "--repo", str(tmp_path))
        assert done.returncode == 1 and "not a git repository" in done.stderr


class TestChangelogCommand:
    def test_default_range_to_stdout(self, repo):
        """Without flags: the notes of the next release, from the last tag to HEAD."""
        done = run_cli("changelog", "--repo", str(repo.path))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(
            "## [1.3.0](https://github.com/octo/demo/compare/v1.2.0...v1.3.0) - 2024-04-30\n")
        assert "- **cli:** add --json ([#12](https://github.com/octo/demo/pull/12))" in done.stdout
        assert "closes [#4](https://github.com/octo/demo/issues/4) by @bo" in done.stdout
        assert "explain --json" not in done.stdout

    def test_failing_repository_template_is_one_clear_line(self, repo):
        """A repository template that fails stops `shipbot changelog` with the reason, not a traceback."""
        repo.commit("chore: notes template", {".shipbot.yml": "release:\n  changelog_template: notes.j2\n",
                                              "notes.j2": "{{ 'x' * 2000000 }}"})
        done = run_cli("changelog", "--repo", str(repo.path))
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.strip() == ("shipbot changelog: error: release.changelog_template notes.j2: "
                                       "its output is larger than 1,048,576 bytes")

    def test_to_a_tag_gives_that_release(self, repo):
        """--to an existing tag renders that release, dated by the tag, from the tag before it."""
        repo.tag("v1.3.0")
        repo.commit("feat: later")
        done = run_cli("changelog", "--repo", str(repo.path), "--to", "v1.3.0")
        assert done.stdout.startswith("## [1.3.0](https://github.com/octo/demo/compare/v1.2.0...v1.3.0) - 2024-01-01\n")
        assert "later" not in done.stdout

    def test_explicit_range_is_unreleased(self, repo):
        """An explicit --from with an untagged --to is headed Unreleased."""
        done = run_cli("changelog", "--repo", str(repo.path), "--from", "HEAD~2", "--to", "HEAD")
        sha = repo.git("rev-parse", "HEAD~2").strip()
        assert done.stdout.startswith(f"## [Unreleased](https://github.com/octo/demo/compare/{sha}...HEAD)")
        assert "handle empty input" in done.stdout and "add --json" not in done.stdout

    def test_output_prepends_and_keeps_old_bytes(self, repo, tmp_path):
        """--output puts the new section on top; the older entries stay byte for byte; a rerun adds nothing."""
        target = tmp_path / "CHANGES.md"
        old = "# Changes\r\n\r\n## 1.2.0 - 2023-12-01\r\n\r\n- kept   as is\r\n"
        target.write_bytes(old.encode())
        for _ in range(2):
            done = run_cli("changelog", "--repo", str(repo.path), "--output", str(target))
            assert done.returncode == 0, done.stderr
        text = target.read_bytes().decode()
        assert text.startswith("# Changes\r\n\r\n## [1.3.0]")
        assert text.endswith("\r\n\r\n" + old[len("# Changes\r\n\r\n"):])
        assert text.count("## [1.3.0]") == 1 and "already has a section" in done.stderr


class TestReleaseCommand:
    def test_dry_run_changes_nothing(self, repo):
        """--dry-run prints the tag, the edits and the notes, and leaves the repository untouched."""
        before = repo.state()
        files = {name: (repo.path / name).read_bytes() for name in ("pyproject.toml", "CHANGELOG.md")}
        done = run_cli("release", "--repo", str(repo.path), "--dry-run")
        assert done.returncode == 0, done.stderr
        assert "Would release v1.3.0 (minor; current v1.2.0)" in done.stdout
        assert '-version = "1.2.0"  # set by shipbot\n+version = "1.3.0"  # set by shipbot' in done.stdout
        assert "Would prepend the release notes below to CHANGELOG.md" in done.stdout
        assert "### Added" in done.stdout
        assert repo.state() == before
        assert files == {name: (repo.path / name).read_bytes() for name in files}

    def test_release_commits_and_tags(self, repo):
        """Without --dry-run: version files and changelog edited, committed, annotated tag created."""
        done = run_cli("release", "--repo", str(repo.path))
        assert done.returncode == 0, done.stderr
        assert repo.git("log", "-1", "--format=%s").strip() == "chore(release): 1.3.0"
        assert repo.git("cat-file", "-t", "v1.3.0").strip() == "tag"
        assert repo.git("tag", "-l", "--format=%(contents)", "v1.3.0").startswith("## [1.3.0]")
        assert 'version = "1.3.0"  # set by shipbot' in (repo.path / "pyproject.toml").read_text()
        changelog = (repo.path / "CHANGELOG.md").read_text()
        assert changelog.startswith("# Changelog\n\n## [1.3.0]") and changelog.endswith("## 1.2.0\n\n- old  entry\n")
        assert repo.git("status", "--porcelain") == ""
        assert run_cli("next-version", "--repo", str(repo.path)).stdout == ""
        head = repo.git("rev-parse", "HEAD").strip()  # the release commit, not the one before
        assert done.stdout.startswith(f"Released v1.3.0 at {head[:7]}:")

    def test_refuses_a_dirty_tree(self, repo):
        """Uncommitted changes stop a real release before anything is written."""
        (repo.path / "pyproject.toml").write_text(PYPROJECT + "# local edit\n")
        done = run_cli("release", "--repo", str(repo.path))
        assert done.returncode == 1 and "uncommitted changes in pyproject.toml" in done.stderr
        assert repo.git("tag", "--list") == "v1.2.0\n"

    def test_refuses_another_branch(self, repo):
        """With release.branches set, a release from another branch is refused."""
        repo.commit("chore: config", {".shipbot.yml": "release:\n  branches: [main]\n"})
        repo.git("switch", "-q", "-c", "topic")
        done = run_cli("release", "--repo", str(repo.path))
        assert done.returncode == 1 and "releases are cut from main, not from topic" in done.stderr

    def test_existing_tag_stops_before_any_edit(self, repo):
        """If the next tag already exists elsewhere, nothing is edited, committed or tagged."""
        repo.git("tag", "v1.3.0", "v1.2.0")  # a stray tag HEAD's history does not lead to
        repo.git("switch", "-q", "-c", "elsewhere", "v1.2.0")
        repo.commit("chore: move the stray tag off HEAD's history")
        repo.git("tag", "-f", "v1.3.0")
        repo.git("switch", "-q", "main")
        before = repo.state()
        done = run_cli("release", "--repo", str(repo.path))
        assert done.returncode == 1 and "tag v1.3.0 already exists" in done.stderr
        assert repo.state() == before

    def test_default_version_file_without_literal_version_is_skipped(self, tmp_path):
        """A pyproject.toml with a dynamic version is left alone when only the default names it."""
        repo = GitRepo(tmp_path / "dyn")
        repo.commit("chore: start", {"pyproject.toml": "[project]\nname = 'x'\ndynamic = ['version']\n"})
        repo.tag("v0.1.0")
        repo.commit("fix: x")
        done = run_cli("release", "--repo", str(repo.path), "--dry-run")
        assert done.returncode == 0, done.stderr
        assert "Would edit pyproject.toml" not in done.stdout and "v0.1.1" in done.stdout

    def test_nothing_due(self, repo):
        """When no release is due the command says so and exits 0."""
        repo.tag("v1.3.0")
        done = run_cli("release", "--repo", str(repo.path), "--dry-run")
        assert (done.returncode, done.stdout.split(":")[0]) == (0, "No release due")

    def test_missing_listed_version_file(self, repo):
        """A version file the config lists but the checkout lacks is an error, not a silent skip."""
        repo.commit("chore: config", {".shipbot.yml": "release:\n  version_files: [package.json]\n"})
        done = run_cli("release", "--repo", str(repo.path), "--dry-run")
        assert done.returncode == 1 and "package.json: listed in release.version_files" in done.stderr


class TestStartup:
    PROBE = textwrap.dedent("""
        import sys
        from bot.release_cli import main
        code = main(sys.argv[1:])
        print("MODULES", " ".join(sorted(sys.modules)))
    """)
    SERVICE_MODULES = ("aiohttp", "sqlalchemy", "gidgethub", "gitlab", "slack_bolt", "slack_sdk",
                       "asyncpg", "aiosqlite", "alembic")

    @pytest.mark.parametrize("command", ["next-version", "changelog", "release --dry-run"])
    def test_no_service_imports(self, repo, command):
        """The commands import nothing of the web service (aiohttp, sqlalchemy, forges, Slack)."""
        done = subprocess.run([sys.executable, "-c", self.PROBE, *command.split(), "--repo", str(repo.path)],
                              cwd=ROOT, env=git_env(), capture_output=True, text=True, check=True)
        modules = done.stdout.rsplit("MODULES ", 1)[1].split()
        loaded = [name for name in modules if name.split(".")[0] in self.SERVICE_MODULES]
        assert loaded == []
        if command == "next-version":
            assert "jinja2" not in modules and "tomlkit" not in modules

    def test_git_started_early_is_adopted_or_stopped(self, tmp_path, capsys):
        """git runs started before the imports (bot.git_prefetch) on a guess of the range are
        used when the guess holds and stopped when the config says otherwise: same answer."""
        from bot import git_prefetch
        from bot.release_cli import main

        repo = GitRepo(tmp_path / "guess")
        repo.commit("chore: start", {".shipbot.yml": "release:\n  tag_format: 'pkg-{version}'\n"})
        repo.tag("pkg-1.0.0")
        repo.tag("v7.0.0")  # what the default format would take for the last release
        repo.commit("fix: x")
        assert main(["next-version", "--repo", str(repo.path)]) == 0
        assert main(["changelog", "--repo", str(repo.path), "--to", "HEAD"]) == 0
        assert main(["next-version", "--repo", str(repo.path), "--tag-format", "v{version}"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert (lines[0], lines[1][:8], lines[-2][:4], lines[-1]) == (
            "1.0.1", "## 1.0.1", "- x ", "7.0.1")
        assert (git_prefetch._started, git_prefetch._finished) == ({}, {})

    def test_git_starts_before_the_heavy_imports(self):
        """What runs before git starts (bot.git_prefetch, bot.spawn) imports none of subprocess,
        re, pathlib, argparse or typing: each costs milliseconds git could be working."""
        probe = "import sys; import bot.git_prefetch; print(' '.join(sorted(sys.modules)))"
        done = subprocess.run([sys.executable, "-S", "-c", probe], cwd=ROOT, env=git_env(),
                              capture_output=True, text=True, check=True)
        loaded = set(done.stdout.split())
        assert loaded.isdisjoint({"subprocess", "re", "pathlib", "argparse", "typing", "threading"})

    def test_started_from_the_raw_command_line_and_adopted(self, repo, capsys):
        """start_early reads a plain command line and starts git's walk of the range; the
        command adopts it, and leaves nothing running."""
        from bot import git_prefetch
        from bot.release_cli import main

        argv = ["next-version", "--repo", str(repo.path)]
        git_prefetch.start_early(argv)
        started = [command for _, command in git_prefetch._started]
        assert any(command[:2] == ("git", "log") for command in started)
        assert main(argv) == 0
        assert capsys.readouterr().out == "1.3.0\n"
        assert (git_prefetch._started, git_prefetch._finished) == ({}, {})

    @pytest.mark.parametrize("argv", [["next-version", "--rep", "x"], ["next-version", "--path", "a"],
                                      ["changelog", "--from", "v1"], ["next-version", "--repo"],
                                      ["release", "--dry-run"], ["nxt-version"], []])
    def test_early_start_leaves_what_it_cannot_read_to_the_command(self, argv):
        """An abbreviation, a typo, --path or --from: nothing is started before argparse."""
        from bot import git_prefetch

        git_prefetch.start_early(argv)
        assert (git_prefetch._started, git_prefetch._finished) == ({}, {})
        git_prefetch.discard()

    @pytest.mark.parametrize("where", ["repo", "missing"])
    def test_cycle_collector_is_restored(self, repo, where, capsys):
        """The command pauses Python's cycle collector while it runs (bench/changelog.py) and
        turns it back on afterwards, when it succeeds and when it fails alike."""
        import gc

        from bot.release_cli import main

        path = repo.path if where == "repo" else repo.path / "missing"
        assert gc.isenabled()
        assert main(["next-version", "--repo", str(path)]) == (0 if where == "repo" else 1)
        assert gc.isenabled()
        gc.disable()  # a caller that had it off keeps it off
        try:
            main(["next-version", "--repo", str(path)])
            assert not gc.isenabled()
        finally:
            gc.enable()
        capsys.readouterr()
