"""What must hold for any input to each parser; shared by the hypothesis tests and the atheris harnesses.

Each `check_*` feeds one input to a parser and raises AssertionError when the parser raised an
error it does not document, or returned something malformed.
"""
from __future__ import annotations

import math
import re
from typing import Any

import orjson

from bot.errors import ConfigError
from bot.ingress.routing_view import GITHUB_ROUTING_FIELDS, routing_view
from bot.sansio import commands, commits, events, junit, release_config, repoconfig

TYPE_RE = re.compile(r"[a-z][a-z0-9_-]*")
# What ingress answers 400 for ("does not have the shape of that event"): bot/ingress/common.py.
MALFORMED = (AttributeError, KeyError, TypeError, ValueError)


def check_commit_message(message: str, merge: bool = False) -> None:
    """parse_commit never raises; a parsed commit has a lower-case type and readable parts."""
    parents = ("a" * 40, "b" * 40) if merge else ("a" * 40,)
    commit = commits.Commit("c" * 40, message, parents, "Ann", "ann@example.com", "2024-01-01T00:00:00Z")
    result = commits.parse_commit(commit)
    if isinstance(result, commits.ParseError):
        assert isinstance(result.reason, str) and result.reason
        assert result.pr is None or result.pr >= 0
        return
    assert isinstance(result, commits.ParsedCommit), type(result)
    assert TYPE_RE.fullmatch(result.type), result.type
    assert result.scope is None or (result.scope and "\n" not in result.scope)
    assert isinstance(result.breaking, bool) and all(isinstance(n, str) for n in result.breaking_notes)
    assert result.breaking or not result.breaking_notes
    assert result.pr is None or result.pr >= 0
    assert isinstance(result.body, str) and isinstance(result.subject, str)
    assert all(isinstance(t, str) and isinstance(v, str) for t, v in result.footers)
    assert all(isinstance(n, int) and n >= 0 for n in result.issues)
    assert all(isinstance(a, str) for a in result.co_authors)
    for squashed in commits.squashed_commits(commit, result.pr):
        assert TYPE_RE.fullmatch(squashed.type) and "\n" not in (squashed.line or "")


def check_command_text(text: str, in_comment: bool, forge: str | None) -> None:
    """parse_text never raises; every result is a known command or a usage error with a message."""
    for parsed in commands.parse_text(text, in_comment=in_comment, forge=forge):
        if isinstance(parsed, commands.UsageError):
            assert parsed.message and isinstance(parsed.line, str)
            continue
        assert isinstance(parsed, commands.Command), type(parsed)
        assert parsed.name in commands.COMMANDS, parsed.name
        assert all(isinstance(a, str) for a in parsed.args)
        if parsed.name == "deploy":
            request = commands.parse_deploy(parsed)
            assert isinstance(request, (commands.DeployRequest, commands.DeployConfirm, commands.UsageError))
            if isinstance(request, commands.DeployRequest):
                assert commands.ENV_RE.match(request.env)
        elif parsed.name == "release":
            request = commands.parse_release(parsed)
            assert isinstance(request, (commands.ReleaseRequest, commands.UsageError))
            if isinstance(request, commands.ReleaseRequest):
                assert request.bump in (None, "patch", "minor", "major")


def check_repo_config(text: str) -> None:
    """parse raises only ConfigError; a valid file gives every section and usable environments."""
    try:
        config = repoconfig.parse(text)
    except ConfigError as exc:
        assert exc.message.startswith(".shipbot.yml"), exc.message
        return
    assert set(config.data) >= {"chat", "release", "test_report", "deploy"}
    for env in config.environments:
        assert isinstance(env.name, str) and isinstance(env.confirm, bool)
        assert config.environment(env.name).name == env.name
    for key in ("lock_ttl", "confirm_ttl", "timeout"):
        assert repoconfig.duration_seconds(config.section("deploy")[key]) > 0
    try:
        config.environment("no-such-environment-\u2603")
    except LookupError as exc:
        assert "unknown environment" in str(exc)
    try:
        release_config.release_settings(config.given.get("release"))
    except release_config.ReleaseConfigError as exc:
        assert str(exc).startswith("release"), str(exc)


def check_junit(data: bytes) -> None:
    """parse_junit never raises; counts are whole and not negative, the duration finite."""
    report = junit.parse_junit(data, "junit.xml")
    assert min(report.passed, report.failed, report.skipped, report.errored) >= 0
    assert math.isfinite(report.duration) and report.duration >= 0
    assert report.failed + report.errored == len(report.failures)
    for failure in report.failures:
        assert failure.kind in ("failure", "error") and isinstance(failure.title, str)
        assert failure.line is None or failure.line >= 0
    found, notes = junit.junit_files(data, ["**/*.xml"], max_bytes=1 << 20)
    assert all(isinstance(n, str) for n in notes) and sum(len(d) for _, d in found) <= 1 << 20


def check_event(source: str, name: str, payload: Any) -> None:
    """normalize raises only what ingress answers 400 for; an Event has well-formed parts."""
    try:
        event = events.normalize(source, name, payload, "fuzz-delivery")
    except MALFORMED:
        return
    assert isinstance(event.name, str)
    assert event.repo is None or (isinstance(event.repo, events.RepoRef) and event.repo.path)
    assert all(isinstance(c, (commands.Command, commands.UsageError)) for c in event.commands)
    assert event.actor is None or isinstance(event.actor.login, str)
    if source == "github":  # ingress routes from a view of the payload: it must route the same
        try:
            body = orjson.dumps(payload)
        except (TypeError, orjson.JSONEncodeError):
            return
        seen = events.normalize(source, name, routing_view(body, GITHUB_ROUTING_FIELDS), "fuzz-delivery")
        assert (seen.name, seen.repo, seen.actor, seen.installation_id, seen.commands, seen.reply_to) == (
            event.name, event.repo, event.actor, event.installation_id, event.commands, event.reply_to)
