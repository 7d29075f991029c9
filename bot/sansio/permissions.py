"""Decide who may run what from `allow` lists of principals, before any membership lookups."""
from __future__ import annotations

from dataclasses import dataclass

from bot.sansio.events import Actor

GROUP_KINDS = {"github-team": "github", "gitlab-group": "gitlab", "slack-group": "slack"}


@dataclass(frozen=True)
class Match:
    """`allowed` when a principal names the actor directly (or `*`); else `groups` still to look up."""

    allowed: bool
    groups: tuple[str, ...] = ()


def match(allow: tuple[str, ...] | list[str], actor: Actor) -> Match:
    """Match an actor against principals like `github:octocat`, `github-team:org/ops`, `slack:U0123`.

    A principal only ever matches an identity on its own platform: a Slack user is listed as
    `slack:U…` or through a `slack-group:S…`, never by a GitHub login.
    """
    groups: list[str] = []
    for principal in allow:
        if principal == "*":
            return Match(True)
        kind, _, name = principal.partition(":")
        if kind == actor.platform and name.lower() in {actor.login.lower(), (actor.id or "").lower()}:
            return Match(True)
        if GROUP_KINDS.get(kind) == actor.platform:
            groups.append(principal)
    return Match(False, tuple(groups))


def describe(allow: tuple[str, ...] | list[str]) -> str:
    """Who may, in words, for refusals: 'github:octocat, members of github-team:org/ops'."""
    if not allow:
        return "nobody yet (list people under `allow` in .shipbot.yml)"
    parts = []
    for principal in allow:
        kind = principal.split(":", 1)[0]
        parts.append(f"members of {principal}" if kind in GROUP_KINDS else ("anyone" if principal == "*" else principal))
    return ", ".join(parts)
