"""Changelog model and rendering: golden files, folding rules, sandboxed templates, prepending."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from bot.changelog_render import render_release_notes
from bot.sansio.changelog import build_release_notes, has_section, prepend_section
from bot.sansio.commits import Commit
from bot.sansio.forge_links import forge_links
from bot.sansio.history import collect_changes
from bot.sansio.release_config import release_settings
from bot.template_sandbox import Limits, TemplateRejected

GOLDEN = Path(__file__).parent / "golden" / "changelog"
CASES = sorted(path.stem for path in GOLDEN.glob("*.json"))
# SHIPBOT_UPDATE_GOLDEN=1 rewrites the .md files; review the diff before committing it.
UPDATE = os.environ.get("SHIPBOT_UPDATE_GOLDEN") == "1"


def fake_sha(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def load_case(name: str):
    """The commits, settings, links and release fields a golden case describes."""
    case = json.loads((GOLDEN / f"{name}.json").read_text())
    raw = case["commits"]
    ids = [item.get("id", f"c{index}") for index, item in enumerate(raw)]
    commits = []
    for index, item in enumerate(raw):
        parents = item.get("parents") or [ids[index + 1] if index + 1 < len(raw) else "base"]
        message = item["message"]
        for other in ids:  # let a message name another commit of the case by its id
            message = message.replace(f"commit {other}.", f"commit {fake_sha(other)}.")
        name_, email = item["author"]
        commits.append(Commit(fake_sha(ids[index]), message, tuple(fake_sha(p) for p in parents),
                              name_, email, "2024-01-01T00:00:00+00:00"))
    settings = release_settings(case["config"])
    return commits, settings, forge_links(case["remote"]), case["release"]


def render_case(name: str, template: str | None = None, limits: Limits = Limits()) -> str:
    commits, settings, links, release = load_case(name)
    notes = build_release_notes(collect_changes(commits, squash_bullets=settings.squash_bullets),
                                settings, **release)
    return render_release_notes(notes, links, template=template, limits=limits)


def check_golden(path: Path, text: str) -> None:
    if UPDATE or not path.exists():
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs; rerun with SHIPBOT_UPDATE_GOLDEN=1 and review"


class TestGoldenChangelogs:
    @pytest.mark.parametrize("name", CASES)
    def test_golden(self, name):
        """The default template renders each case exactly as its reviewed golden file."""
        check_golden(GOLDEN / f"{name}.md", render_case(name))

    def test_repository_template(self):
        """A repository's own template renders in the sandbox with our macros available."""
        template = (GOLDEN / "repo_template.md.j2").read_text()
        check_golden(GOLDEN / "repo_template.expected.md", render_case("github_basic", template))


    @pytest.mark.parametrize("name", CASES)
    def test_entry_macro_is_a_line_of_entries(self, name):
        """`m.entry(e)`, for a repository's template, gives each line `m.entries` gives in ours."""
        head = ('{% import "changelog_macros.md.j2" as m with context %}'
                '{% for s in release.sections %}')
        one_by_one = head + "{% for e in s.entries %}{{ m.entry(e) }}\n{% endfor %}{% endfor %}"
        together = head + "{% if s.entries %}{{ m.entries(s.entries) }}\n{% endif %}{% endfor %}"
        lines = render_case(name, one_by_one)
        assert lines == render_case(name, together)
        assert lines.strip() == "" or lines.startswith("- ")


class TestModel:
    def test_merged_pr_is_one_entry(self):
        """A merged PR with a conventional title is one entry whatever the commits inside."""
        commits, settings, _, release = load_case("merges_and_reverts")
        notes = build_release_notes(collect_changes(commits), settings, **release)
        entries = [entry.description for section in notes.sections for entry in section.entries]
        assert entries.count("export to CSV") == 1
        assert "first CSV writer" not in entries and "quote commas" not in entries

    def test_revert_pair_leaves_nothing(self):
        """A feature and its revert in the same release leave no entry at all."""
        commits, settings, _, release = load_case("merges_and_reverts")
        text = render_release_notes(build_release_notes(collect_changes(commits), settings, **release))
        assert "experimental sync" not in text

    def test_bot_updates_fold_into_one_line(self):
        """Dependency-bot fixes become one line naming each package at its newest version."""
        commits, settings, _, release = load_case("dependency_bots")
        notes = build_release_notes(collect_changes(commits), settings, **release)
        (fixed,) = [section for section in notes.sections if section.title == "Fixed"]
        assert fixed.dependencies.packages == (("@types/node", "v22.16.3"), ("tomlkit", "0.12.5"))
        assert fixed.dependencies.bots == ("renovate[bot]", "dependabot[bot]")
        assert [entry.description for entry in fixed.entries] == [
            "update dependency aggregate-error to v5", "keep the token out of logs"]


    def test_co_authors_in_any_letter_case(self):
        """Co-authored-by trailers count whatever their letter case, as git treats them."""
        commits = [Commit("a" * 40, "fix: x\n\nCO-AUTHORED-BY: Bo <bo@example.com>\n"
                          "Co-Authored-By: Cy <5+cy@users.noreply.github.com>", ("b" * 40,), "Ann", "ann@x")]
        notes = build_release_notes(collect_changes(commits), release_settings({}))
        assert notes.sections[0].entries[0].authors == ("Ann", "Bo", "@cy")


class TestSandbox:
    def test_repository_template_cannot_escape(self):
        """A repository template reaching for Python internals is stopped by the sandbox."""
        with pytest.raises(TemplateRejected, match="the sandbox forbids"):
            render_case("nothing_to_say", "{{ release.__class__.__init__.__globals__ }}")
        with pytest.raises(TemplateRejected, match="the sandbox forbids"):
            render_case("nothing_to_say", "{{ ''.__class__.__mro__ }}")

    def test_output_is_capped(self):
        """Rendering stops once the output passes the limit (1 MiB by default)."""
        flood = '{% for i in range(100000) %}{{ "x" * 1000 }}{% endfor %}'
        with pytest.raises(TemplateRejected, match="larger than 1,048,576 bytes"):
            render_case("nothing_to_say", flood)
        with pytest.raises(TemplateRejected, match="larger than 1,000 bytes"):
            render_case("nothing_to_say", "{{ 'y' * 1001 }}", Limits(max_bytes=1000))
        assert render_case("nothing_to_say", "{{ 'y' * 999 }}", Limits(max_bytes=1000)) == "y" * 999 + "\n"

    def test_endless_loops_are_stopped_in_time(self):
        """10^10 loop turns (each range under jinja2's cap) are stopped when the time limit passes."""
        import time

        started = time.monotonic()
        with pytest.raises(TemplateRejected, match="longer than 1.5 s"):
            render_case("nothing_to_say", "{% for i in range(100000) %}{% for j in range(100000) %}"
                                          "{% endfor %}{% endfor %}", Limits(seconds=1.5))
        assert time.monotonic() - started < 5

    def test_memory_is_capped(self):
        """A template asking for gigabytes is stopped by the memory limit, with a plain reason."""
        with pytest.raises(TemplateRejected, match="more than 300 MB of memory"):
            render_case("nothing_to_say", "{{ ('x' * 2000000000)|length }}", Limits(memory_bytes=300 << 20))

    @pytest.mark.parametrize("template, reason", [
        ("{% for i in range(10**9) %}{% endfor %}", "OverflowError: Range too big"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recurses too deeply"),
        ("## {{ release.version }}\n{% if %}", "line 2: Expected an expression"),
        ("{{ release.no_such_field }}", "does not exist"),
    ])
    def test_other_failures_say_why(self, template, reason):
        """jinja2's own range cap, deep recursion, syntax and typos each come back as one plain reason."""
        with pytest.raises(TemplateRejected, match=reason):
            render_case("nothing_to_say", template)


class TestPrepend:
    EXISTING = ("# Changelog\n\nAll notable changes.\n\n## [1.0.0] - 2024-01-01\n\n### Added\n\n"
                "- first\n\n```md\n## not a heading\n```\n\n## 0.9.0\n\n- older  \n")

    def test_new_section_goes_first_and_old_bytes_stay(self):
        """The new section lands before the first release heading; older text is untouched."""
        result = prepend_section(self.EXISTING, "## 1.1.0\n\n- new\n")
        head = "# Changelog\n\nAll notable changes.\n\n"
        assert result == head + "## 1.1.0\n\n- new\n\n" + self.EXISTING[len(head):]

    def test_new_file(self):
        """An empty or missing changelog gets a title and the section."""
        assert prepend_section("", "## 1.0.0\n\n- a\n") == "# Changelog\n\n## 1.0.0\n\n- a\n"

    def test_title_only_file(self):
        """A file with only a title gets the section after it."""
        assert prepend_section("# Changes", "## 1.0.0\n") == "# Changes\n\n## 1.0.0\n"

    def test_crlf_file(self):
        """A CRLF changelog gets a CRLF section and keeps its own bytes."""
        existing = "# Changelog\r\n\r\n## 1.0.0\r\n\r\n- a\r\n"
        assert prepend_section(existing, "## 1.1.0\n\n- b\n") == (
            "# Changelog\r\n\r\n## 1.1.0\r\n\r\n- b\r\n\r\n## 1.0.0\r\n\r\n- a\r\n")

    def test_unreleased_section_is_replaced(self):
        """A leading Unreleased section is replaced by the release that supersedes it."""
        existing = "# Changelog\n\n## [Unreleased]\n\n- a\n\n## 1.0.0\n\n- b\n"
        assert prepend_section(existing, "## 1.1.0\n\n- a\n") == (
            "# Changelog\n\n## 1.1.0\n\n- a\n\n## 1.0.0\n\n- b\n")

    @pytest.mark.parametrize(("version", "found"), [
        ("1.0.0", True), ("0.9.0", True), ("1.0", False), ("0.9.0-rc.1", False)])
    def test_has_section(self, version, found):
        """A release already in the file is recognised in any heading style, and only it."""
        assert has_section(self.EXISTING, version) is found


class TestForgeLinks:
    @pytest.mark.parametrize(("remote", "kind", "url"), [
        ("git@github.com:octo/repo.git", "github", "https://github.com/octo/repo"),
        ("https://x-access-token:secret@github.com/octo/repo.git", "github", "https://github.com/octo/repo"),
        ("ssh://git@gitlab.example.com:2222/group/sub/project.git", "gitlab",
         "https://gitlab.example.com/group/sub/project"),
        ("https://gitlab.com/group/project", "gitlab", "https://gitlab.com/group/project"),
        ("http://gitlab.local:8080/g/p.git", "gitlab", "http://gitlab.local:8080/g/p"),
        ("https://git.example.com/o/r.git", None, None),
        ("/srv/git/repo.git", None, None),
        (None, None, None),
    ])
    def test_remote_urls(self, remote, kind, url):
        """The forge and web URL come from the remote, without credentials, or not at all."""
        links = forge_links(remote)
        assert (links.kind if links else None, links.repo_url if links else None) == (kind, url)

    def test_configured_forge_wins(self):
        """A configured kind and URL serve a self-hosted forge whose name says nothing."""
        links = forge_links("https://git.example.com/o/r.git", kind="gitlab",
                            repo_url="https://git.example.com/o/r")
        assert links.pull(3) == "https://git.example.com/o/r/-/merge_requests/3"
        assert links.compare("v1.0.0", "v1.1.0") == "https://git.example.com/o/r/-/compare/v1.0.0...v1.1.0"

    def test_monorepo_tags_in_compare_links(self):
        """Tags such as pkg@1.2.3 stay readable in compare links; odd characters are quoted."""
        assert forge_links("https://github.com/o/r").compare("pkg@1.0.0", "pkg@1.1.0+b 1") == (
            "https://github.com/o/r/compare/pkg@1.0.0...pkg@1.1.0%2Bb%201")
