"""The command grammar shared by Slack and PR/MR comments."""
from __future__ import annotations

import pytest

from bot.sansio.commands import (Command, DeployConfirm, DeployRequest, DoraRequest, ReleaseRequest, UsageError,
                                 command_lines, parse_deploy, parse_dora, parse_release, parse_text)


def one(text: str, *, in_comment: bool = False, forge: str | None = None):
    found = parse_text(text, in_comment=in_comment, forge=forge)
    assert len(found) == 1, found
    return found[0]


class TestParseText:
    @pytest.mark.parametrize("text, name, args", [
        ("/deploy staging", "deploy", ("staging",)),
        ("/shipbot deploy staging", "deploy", ("staging",)),
        ("/shipbot deploy widget@v1.2 to production", "deploy", ("widget@v1.2", "to", "production")),
        ("/help", "help", ()),
        ("/shipbot", "help", ()),
        ("/shipbot help deploy", "help", ("deploy",)),
        ("/release-as 2.0.0", "release-as", ("2.0.0",)),
        ("/retest", "retest", ()),
        ("/shipbot lock staging \"db migration running\"", "lock", ("staging", "db migration running")),
    ])
    def test_known_commands(self, text, name, args):
        """Long and short forms parse to the same command."""
        cmd = one(text)
        assert isinstance(cmd, Command)
        assert (cmd.name, cmd.args) == (name, args)

    def test_options_with_values_and_flags(self):
        """--repo takes a value (also as --repo=x), --force is a flag."""
        cmd = one("/deploy production v1.2.0 --repo=octo/widget --force")
        assert cmd.options == {"repo": "octo/widget", "force": True}
        assert cmd.args == ("production", "v1.2.0")

    def test_unknown_option_names_the_known_ones(self):
        """A typo in an option is an error listing what the command takes."""
        err = one("/deploy staging --forse")
        assert isinstance(err, UsageError)
        assert "--forse" in err.message and "--force" in err.message

    def test_option_missing_its_value(self):
        """--repo at the end of the line is an error, not a silent default."""
        assert isinstance(one("/deploy staging --repo"), UsageError)

    def test_typo_in_slack_gets_a_suggestion(self):
        """In Slack every line is for us, so an unknown word is an error with a suggestion."""
        err = one("/shipbot deploi staging")
        assert isinstance(err, UsageError) and "did you mean /deploy" in err.message

    def test_unknown_word_in_slack_is_an_error(self):
        """An unknown command with no close match still gets an answer in Slack."""
        err = one("/shipbot frobnicate")
        assert isinstance(err, UsageError) and "help" in err.message


class TestComments:
    def test_one_command_per_line_at_line_start(self):
        """Each line starting with a command is one command; prose lines are not."""
        body = "Looks good!\n/deploy staging\nthen please /deploy production\n/retest"
        found = parse_text(body, in_comment=True)
        assert [c.name for c in found] == ["deploy", "retest"]

    def test_quotes_code_and_html_comments_are_not_commands(self):
        """Quoted lines, fenced and indented code and HTML comments never run."""
        body = ("> /deploy production\n```\n/deploy production\n```\n~~~\n/release\n~~~\n"
                "    /deploy production\n<!-- /deploy production -->\n<!--\n/release\n-->\n/help")
        assert command_lines(body) == ["/help"]

    def test_other_bots_commands_are_left_alone(self):
        """A slash word that is not ours and not close to ours is someone else's (e.g. Prow's /assign)."""
        assert parse_text("/assign @me\n/lgtm", in_comment=True) == []

    def test_close_typo_in_comment_is_answered(self):
        """A near miss of one of our commands gets a suggestion rather than silence."""
        err = one("/deplyo staging", in_comment=True)
        assert isinstance(err, UsageError) and "/deploy" in err.message

    def test_gitlab_quick_actions_need_the_long_form(self):
        """On GitLab /lock is GitLab's own quick action; /shipbot lock is ours."""
        assert parse_text("/lock staging", in_comment=True, forge="gitlab") == []
        cmd = one("/shipbot lock staging", in_comment=True, forge="gitlab")
        assert cmd.name == "lock" and cmd.args == ("staging",)
        assert one("/lock staging", in_comment=True, forge="github").name == "lock"

    def test_windows_line_endings(self):
        """CRLF comment bodies parse like LF ones."""
        assert [c.name for c in parse_text("/retest\r\n/help\r\n", in_comment=True)] == ["retest", "help"]


class TestDeployGrammar:
    @pytest.mark.parametrize("text, expected", [
        ("/deploy staging", DeployRequest("staging")),
        ("/deploy staging feature/x", DeployRequest("staging", "feature/x")),
        ("/deploy widget@v1.2 to production", DeployRequest("production", "v1.2", "widget")),
        ("/deploy octo/widget to prod", DeployRequest("prod", None, "octo/widget")),
        ("/deploy staging --repo gitlab:g/sub/p --force", DeployRequest("staging", None, "gitlab:g/sub/p", True)),
        ("/deploy confirm 7KQ2", DeployConfirm("7KQ2")),
    ])
    def test_forms(self, text, expected):
        """Every documented deploy form reads to the same request."""
        assert parse_deploy(one(text)) == expected

    @pytest.mark.parametrize("text, fragment", [
        ("/deploy", "which environment"),
        ("/deploy widget to", "usage"),
        ("/deploy a b c d", "too many"),
        ("/deploy st@ging", "not an environment"),
        ("/deploy staging bad..ref~1", "not a valid git ref"),
        ("/deploy confirm", "confirm <code>"),
    ])
    def test_errors_never_guess(self, text, fragment):
        """A deploy without a clear environment is an error; it never defaults to one."""
        result = parse_deploy(one(text))
        assert isinstance(result, UsageError) and fragment in result.message


class TestReleaseGrammar:
    @pytest.mark.parametrize("text, expected", [
        ("/release", ReleaseRequest()),
        ("/release minor", ReleaseRequest(bump="minor")),
        ("/release v2.0.0 --dry-run", ReleaseRequest(version="2.0.0", dry_run=True)),
        ("/release --pre rc", ReleaseRequest(pre="rc")),
    ])
    def test_forms(self, text, expected):
        """Bump words, explicit versions, prereleases and dry-run."""
        assert parse_release(one(text)) == expected

    def test_nonsense_bump(self):
        """A word that is neither a bump nor a version is explained."""
        result = parse_release(one("/release huge"))
        assert isinstance(result, UsageError) and "X.Y.Z" in result.message


class TestDoraGrammar:
    @pytest.mark.parametrize("text, expected", [
        ("/shipbot dora", DoraRequest(30, None)),
        ("/shipbot dora 7d", DoraRequest(7, None)),
        ("/shipbot dora octo/widget 90d", DoraRequest(90, "octo/widget")),
        ("/shipbot dora 7D widget", DoraRequest(7, "widget")),
        ("/shipbot dora --repo gitlab:g/p 30d", DoraRequest(30, "gitlab:g/p")),
    ])
    def test_repo_and_window_in_any_order(self, text, expected):
        assert parse_dora(one(text)) == expected

    @pytest.mark.parametrize("text, fragment", [
        ("/shipbot dora 45d", "'45d' is not a window; use one of 7d, 30d, 90d"),
        ("/shipbot dora 30", "'30' is not a window"),
        ("/shipbot dora 2w", "'2w' is not a window"),
        ("/shipbot dora 7d 30d", "give one window"),
        ("/shipbot dora a/b c/d", "name one repository"),
        ("/shipbot dora a/b --repo c/d", "name one repository"),
    ])
    def test_bad_input_is_a_usage_error(self, text, fragment):
        """Windows other than 7d/30d/90d and extra words are usage errors that show the usage."""
        result = parse_dora(one(text))
        assert isinstance(result, UsageError) and fragment in result.message
        assert result.message.endswith("usage: /shipbot dora [<repo>] [7d|30d|90d]")
