"""Property tests: the parsers of untrusted text never raise an undocumented error, whatever they are fed.

Inputs mix real ones (the release corpus's commit messages, the test suite's examples) with
generated structure (headers, footers, YAML of the config's own keys, JUnit trees, webhook-shaped
JSON). Derandomized and bounded, so every run checks the same few hundred cases per parser.
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from fuzz.properties import check_command_text, check_commit_message, check_event, check_junit, check_repo_config

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "release-bumps"  # DESIGN.md §5: ../shared/corpus
BOUNDED = settings(max_examples=250, derandomize=True, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def corpus_messages(limit: int = 400) -> list[str]:
    found: list[str] = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            for commit in json.loads(line)["commits"]:
                found.append(commit["subject"] + ("\n\n" + commit["body"] if commit.get("body") else ""))
    return sorted(set(found))[:limit] or ["feat: x"]


TYPES = st.sampled_from(["feat", "fix", "FEAT", "perf", "deps", "revert", "chore", "docs", "x-y_z", "Merge"])
SCOPES = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["api", "", " ", "a(b", "a)b"]))
FOOTER_TOKENS = st.sampled_from(["BREAKING CHANGE", "BREAKING-CHANGE", "Closes", "Refs", "Co-authored-by",
                                 "Reviewed-by", "breaking change", "Fixes"])


@st.composite
def commit_messages(draw) -> str:
    """A Conventional-Commit-like message with random holes, or a corpus message with noise."""
    if draw(st.booleans()):
        message = draw(st.sampled_from(corpus_messages()))
        noise = draw(st.text(max_size=20))
        cut = draw(st.integers(0, len(message)))
        return message[:cut] + noise + message[cut:]
    scope = draw(SCOPES)
    header = (draw(TYPES) + (f"({scope})" if scope is not None else "") + draw(st.sampled_from(["", "!"]))
              + draw(st.sampled_from([": ", ":", ":  ", " : "])) + draw(st.text(max_size=30))
              + draw(st.sampled_from(["", " (#12)", " (!7)", " (#)", " (#\u0663)", ")"])))
    footers = draw(st.lists(st.tuples(FOOTER_TOKENS, st.sampled_from([": ", " #"]), st.text(max_size=20)),
                            max_size=4))
    body = draw(st.text(max_size=60))
    glue = draw(st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n\n\n"]))
    return header + glue + body + glue + "\n".join(t + s + v for t, s, v in footers)


class TestCommitMessages:
    @BOUNDED
    @given(commit_messages(), st.booleans())
    def test_structured_and_corpus_messages(self, message, merge):
        """Any message, as a plain or a merge commit: a ParsedCommit or a ParseError, well-formed."""
        check_commit_message(message, merge)

    @BOUNDED
    @given(st.text(max_size=200), st.booleans())
    def test_any_text(self, message, merge):
        """Arbitrary text, control characters and lone surrogates included."""
        check_commit_message(message, merge)


WORDS = st.sampled_from(["/shipbot", "/deploy", "/release", "/lock", "/help", "/retest", "deploy", "release",
                         "staging", "prod", "to", "confirm", "--repo", "--repo=o/r", "--force", "--pre", "rc",
                         "--dry-run", "--steal", "v1.2.3", "major", "widget@v1", "'quoted", '"', "\\", "--",
                         "--=", "release-as", "1.0.0", "```", "> /deploy", "<!--", "-->", "    /deploy", "\n"])


class TestCommands:
    @BOUNDED
    @given(st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=12), st.booleans(),
           st.sampled_from([None, "github", "gitlab"]))
    def test_command_like_text(self, words, in_comment, forge):
        """Lines built from the grammar's own words, in Slack or in a comment, on either forge."""
        check_command_text(" ".join(words), in_comment, forge)

    @BOUNDED
    @given(st.text(max_size=200), st.booleans())
    def test_any_text(self, text, in_comment):
        """Arbitrary text never raises."""
        check_command_text(text, in_comment, "gitlab")


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=10),
                    st.sampled_from(["4h", "0s", "30s", "10m", "2d", "*", "github:octocat", "#ci", "C0123ABC",
                                     "v{version}", "{version}", "pkg@{version}", "tag", "pr", "minor", "1.0.0"]))
KEYS = st.sampled_from(["chat", "release", "test_report", "deploy", "slack_channels", "tag_format", "branches",
                        "mode", "version_files", "changelog", "changelog_template", "initial_version",
                        "major_on_zero", "types", "paths", "allow", "announce", "comment", "junit", "notify",
                        "method", "workflow", "lock_ttl", "confirm_ttl", "timeout", "environments", "staging",
                        "production", "prod", "aliases", "confirm", "require_checks", "url", "feat", "fix"])
TREES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)), max_leaves=25)


class TestRepoConfig:
    @BOUNDED
    @given(st.dictionaries(KEYS, TREES, max_size=5))
    def test_yaml_of_the_configs_own_keys(self, tree):
        """Documents built from the real keys with wrong and right values: valid, or a ConfigError."""
        check_repo_config(yaml.safe_dump(tree))

    @BOUNDED
    @given(st.text(max_size=200))
    def test_any_text(self, text):
        """Arbitrary text (broken YAML, tabs, anchors, tags) is a ConfigError at worst."""
        check_repo_config(text)


NAMES = st.sampled_from(["testsuites", "testsuite", "testcase", "failure", "error", "skipped", "system-out",
                         "properties", "flakyFailure", "rerunFailure"])
ATTRS = st.dictionaries(st.sampled_from(["name", "classname", "time", "file", "line", "message", "tests",
                                         "type"]),
                        st.one_of(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8),
                                  st.sampled_from(["nan", "inf", "-1", "1e400", "\u00b2", "12", "3.5"])),
                        max_size=4)


@st.composite
def junit_documents(draw, depth: int = 0) -> str:
    name = draw(NAMES)
    attrs = "".join(f' {k}="{v.replace("&", "&amp;").replace("<", "&lt;").replace(chr(34), "&quot;")}"'
                    for k, v in draw(ATTRS).items())
    children = "" if depth > 2 else "".join(draw(st.lists(junit_documents(depth + 1), max_size=3)))
    return f"<{name}{attrs}>{children}</{name}>"


class TestJUnit:
    @BOUNDED
    @given(junit_documents())
    def test_junit_shaped_trees(self, xml):
        """Any nesting of the JUnit elements with odd attribute values gives a report."""
        check_junit(xml.encode())

    @BOUNDED
    @given(st.binary(max_size=300))
    def test_any_bytes(self, data):
        """Arbitrary bytes, as a file and as a zip archive, never raise."""
        check_junit(data)
        check_junit(b"PK\x03\x04" + data)


JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                              st.text(max_size=10)),
                    lambda children: st.one_of(st.lists(children, max_size=3),
                                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
                    max_leaves=20)
FIELDS = st.sampled_from(["action", "repository", "sender", "installation", "issue", "comment", "project",
                          "object_kind", "object_attributes", "user", "user_username", "merge_request", "command",
                          "text", "type", "event", "actions", "channel", "container", "team", "full_name",
                          "login", "body", "note", "noteable_type", "path_with_namespace", "homepage", "id"])
PAYLOADS = st.recursive(st.one_of(JSON, st.sampled_from(["created", "create", "note", "Bot", "app_mention",
                                                          "block_actions", "/deploy staging", "o/r"])),
                        lambda children: st.dictionaries(FIELDS, children, max_size=6), max_leaves=30)


class TestEvents:
    @BOUNDED
    @given(st.sampled_from(["github", "gitlab", "slack"]),
           st.sampled_from(["issue_comment", "push", "pull_request", "Note Hook", "Pipeline Hook", "ping", ""]),
           st.one_of(PAYLOADS, JSON))
    def test_webhook_shaped_payloads(self, source, name, payload):
        """normalize raises only what ingress answers 400 for, and builds well-formed events."""
        check_event(source, name, payload)
