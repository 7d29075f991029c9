"""Conventional Commits parsing: the spec's own examples and the edge cases around them."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sansio.commits import Commit, ParsedCommit, ParseError, parse_commit, squashed_commits

SHA = "a" * 40


def parse(message: str, parents: tuple[str, ...] = ("b" * 40,)) -> ParsedCommit | ParseError:
    return parse_commit(Commit(SHA, message, parents))


# (message, type, scope, description, breaking) — the examples of
# https://www.conventionalcommits.org/en/v1.0.0/#examples
SPEC_EXAMPLES = [
    ("feat: allow provided config object to extend other configs\n\nBREAKING CHANGE: `extends` "
     "key in config file is now used for extending other config files",
     "feat", None, "allow provided config object to extend other configs", True),
    ("feat!: send an email to the customer when a product is shipped",
     "feat", None, "send an email to the customer when a product is shipped", True),
    ("feat(api)!: send an email to the customer when a product is shipped",
     "feat", "api", "send an email to the customer when a product is shipped", True),
    ("chore!: drop support for Node 6\n\nBREAKING CHANGE: use JavaScript features not available "
     "in Node 6.", "chore", None, "drop support for Node 6", True),
    ("docs: correct spelling of CHANGELOG", "docs", None, "correct spelling of CHANGELOG", False),
    ("feat(lang): add Polish language", "feat", "lang", "add Polish language", False),
    ("fix: prevent racing of requests\n\nIntroduce a request id and a reference to latest request. "
     "Dismiss\nincoming responses other than from latest request.\n\nRemove timeouts which were "
     "used to mitigate the racing issue but are\nobsolete now.\n\nReviewed-by: Z\nRefs: #123",
     "fix", None, "prevent racing of requests", False),
    ("revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868",
     "revert", None, "let us never again speak of the noodle incident", False),
]


class TestSpecExamples:
    @pytest.mark.parametrize(("message", "type_", "scope", "description", "breaking"), SPEC_EXAMPLES)
    def test_example(self, message, type_, scope, description, breaking):
        """Every example of the specification parses to its type, scope, description and breaking flag."""
        parsed = parse(message)
        assert isinstance(parsed, ParsedCommit)
        assert (parsed.type, parsed.scope, parsed.description, parsed.breaking) == (
            type_, scope, description, breaking)

    def test_body_and_footers_split(self):
        """A multi-paragraph body keeps its paragraphs and the footers are read one by one."""
        parsed = parse(SPEC_EXAMPLES[6][0])
        assert parsed.body.startswith("Introduce a request id")
        assert parsed.body.endswith("obsolete now.")
        assert parsed.footers == (("Reviewed-by", "Z"), ("Refs", "#123"))
        assert parsed.issues == (123,)

    def test_revert_refs_name_the_reverted_commit(self):
        """A `revert:` commit names the first sha of its Refs footer as the reverted commit."""
        assert parse(SPEC_EXAMPLES[7][0]).reverts == "676104e"


class TestHeader:
    def test_type_is_case_insensitive(self):
        """Types are not case sensitive (spec §15): `Feat:` is `feat`."""
        assert parse("Feat: shout").type == "feat"

    def test_empty_scope_is_no_scope(self):
        """`fix(): x` has no scope rather than an empty one."""
        assert parse("fix(): x").scope is None

    def test_pr_suffix_becomes_pr_number(self):
        """A GitHub squash title's `(#123)` is the PR number, not part of the description."""
        parsed = parse("fix(cli): handle empty input (#123)")
        assert (parsed.description, parsed.pr) == ("handle empty input", 123)

    @pytest.mark.parametrize("message", [
        "Update README", "feat:no space", "feat: ", "(scope): x", "feat(a)(b): x",
        "refactor(renamed x to y, not backward compatible):", "", "\n\n",
    ])
    def test_not_conventional_is_a_value(self, message):
        """A message that does not parse comes back as a ParseError with a reason, never raises."""
        result = parse(message)
        assert isinstance(result, ParseError)
        assert result.reason

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def test_never_raises(self, message):
        """Any text at all gives a ParsedCommit or a ParseError."""
        assert isinstance(parse(message), (ParsedCommit, ParseError))


class TestBreaking:
    def test_hyphenated_token(self):
        """BREAKING-CHANGE is a synonym of BREAKING CHANGE (spec §16)."""
        assert parse("fix: x\n\nBREAKING-CHANGE: y").breaking_notes == ("y",)

    def test_lower_case_token_is_not_breaking(self):
        """BREAKING CHANGE must be upper case (spec §15), so 'breaking change:' is free text."""
        assert parse("fix: x\n\nbreaking change: y").breaking is False

    def test_free_text_mention_is_not_breaking(self):
        """Body prose that mentions a breaking change does not make the commit breaking."""
        assert parse("fix: x\n\nThis is a BREAKING CHANGE: for some people").breaking is False

    def test_multi_line_note(self):
        """A footer value runs over several lines and paragraphs until the next token."""
        parsed = parse("feat: x\n\nBREAKING CHANGE: first line\nsecond line\n\nmore\nRefs: #4")
        assert parsed.breaking_notes == ("first line\nsecond line\n\nmore",)
        assert parsed.issues == (4,)

    def test_bang_note_is_the_description(self):
        """With only `!`, the description is the breaking-change note."""
        assert parse("feat(api)!: drop v1").breaking_notes == ("drop v1",)

    def test_breaking_footer_on_unparsed_commit_is_flagged(self):
        """A non-conventional commit with a BREAKING CHANGE footer is flagged for a warning."""
        result = parse("Update things\n\nBREAKING CHANGE: everything")
        assert isinstance(result, ParseError) and result.has_breaking_footer


class TestFooters:
    def test_hash_separator(self):
        """`Closes #12` uses the ' #' separator (spec §8) and names issue 12."""
        assert parse("fix: x\n\nCloses #12").issues == (12,)

    def test_several_issues(self):
        """Fixes/Closes/Refs footers list every issue once, in order."""
        parsed = parse("fix: x\n\nFixes #3\nCloses #4, #3\nRefs: #5")
        assert parsed.issues == (3, 4, 5)

    def test_co_authors(self):
        """Co-authored-by trailers are kept as co-authors."""
        parsed = parse("feat: x\n\nCo-authored-by: Ann <ann@example.com>\nCo-authored-by: Bo <b@x>")
        assert parsed.co_authors == ("Ann <ann@example.com>", "Bo <b@x>")

    def test_crlf_messages(self):
        """Windows line endings parse like Unix ones."""
        assert parse("fix: x\r\n\r\nBREAKING CHANGE: y\r\n").breaking_notes == ("y",)


class TestReverts:
    def test_git_revert_message(self):
        """git's own `Revert "…"` message is a revert of the quoted subject and sha."""
        parsed = parse('Revert "feat: add x (#4)"\n\nThis reverts commit ' + "c" * 40 + ".")
        assert (parsed.type, parsed.reverts, parsed.reverted_header) == ("revert", "c" * 40, "feat: add x")

    def test_revert_of_revert(self):
        """Reverting a revert quotes the whole first revert subject."""
        parsed = parse('Revert "Revert "feat: add x""')
        assert parsed.reverted_header == 'Revert "feat: add x"'


class TestMerges:
    def test_github_merge_reads_pr_title(self):
        """A GitHub merge commit is read through the PR title in its body, with the PR number."""
        parsed = parse("Merge pull request #348 from org/feat/x\n\nfeat(changelog): multiline body",
                       parents=("b" * 40, "c" * 40))
        assert (parsed.type, parsed.scope, parsed.pr) == ("feat", "changelog", 348)
        assert parsed.subject == "feat(changelog): multiline body"

    def test_gitlab_merge_reads_mr_title(self):
        """A GitLab merge commit is read through the MR title and 'See merge request …!N'."""
        message = ("Merge branch 'fix-x' into 'main'\n\nfix: handle x\n\nCloses #7\n\n"
                   "See merge request group/sub/project!42")
        parsed = parse(message, parents=("b" * 40, "c" * 40))
        assert (parsed.type, parsed.pr, parsed.issues) == ("fix", 42, (7,))

    def test_merge_with_free_title_is_error_with_pr(self):
        """A merge whose PR title is not conventional is a ParseError that keeps the PR number."""
        result = parse("Merge pull request #9 from a/b\n\nSome work", parents=("b" * 40, "c" * 40))
        assert isinstance(result, ParseError) and result.pr == 9


class TestSquashBullets:
    def test_bullets_are_read(self):
        """Conventional bullets of a squash body become commits of their own."""
        commit = Commit(SHA, "Big PR (#5)\n\n* feat(a): one\n\n* fix!: two\n- docs: three\nprose: no")
        found = squashed_commits(commit, 5)
        assert [(c.type, c.scope, c.breaking, c.pr) for c in found] == [
            ("feat", "a", False, 5), ("fix", None, True, 5), ("docs", None, False, 5), ("prose", None, False, 5)]
        assert found[0].subject == "feat(a): one"
