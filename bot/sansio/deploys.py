"""Decide deploy questions without I/O: who may, which refs, confirmation codes, lock and deploy expiry.

No clock here: every function that needs the time takes `now` (Unix seconds) from its caller.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from bot.sansio.events import Actor
from bot.sansio.permissions import describe, match

# Unambiguous characters only: a code is read in one place and typed in another (no 0/O, 1/l/I).
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 8

QUEUED, IN_PROGRESS, SUCCESS, FAILURE, ERROR, CANCELLED, TIMED_OUT = (
    "queued", "in_progress", "success", "failure", "error", "cancelled", "timed_out")
FINAL_STATES = frozenset({SUCCESS, FAILURE, ERROR, CANCELLED, TIMED_OUT})

# GitHub deployment_status states:
# https://docs.github.com/en/rest/deployments/statuses#create-a-deployment-status
GITHUB_STATES = {"pending": QUEUED, "queued": QUEUED, "in_progress": IN_PROGRESS, "success": SUCCESS,
                 "failure": FAILURE, "error": ERROR}
# GitLab deployment statuses (Deployment Hook) and pipeline statuses (Pipeline Hook):
# https://docs.gitlab.com/ee/user/project/integrations/webhook_events.html
GITLAB_STATES = {"created": QUEUED, "pending": QUEUED, "waiting_for_resource": QUEUED, "preparing": QUEUED,
                 "scheduled": QUEUED, "running": IN_PROGRESS, "success": SUCCESS, "failed": FAILURE,
                 "canceled": CANCELLED, "skipped": CANCELLED}


@dataclass(frozen=True)
class Verdict:
    """A permission outcome: `allowed`, or `groups` still to look up, and the words for a refusal."""

    allowed: bool
    reason: str = ""
    groups: tuple[str, ...] = ()


def deploy_permission(allow: tuple[str, ...] | None, actor: Actor, *, base_ok: bool, base_rule: str,
                      action: str, member_of: frozenset[str] = frozenset()) -> Verdict:
    """May `actor` do `action` ("deploy to production")? `base_ok`: the base check passed;
    `member_of`: groups already found to hold them.

    The base check always applies (write access for a comment, a linked channel for Slack); an
    `allow` list narrows it further. Groups not yet looked up come back in `groups`.
    """
    if not base_ok:
        return Verdict(False, f"you need {base_rule}")
    if allow is None:
        return Verdict(True)
    found = match(allow, actor)
    if found.allowed or member_of.intersection(found.groups):
        return Verdict(True)
    missing = tuple(g for g in found.groups if g not in member_of)
    who = describe(allow)
    return Verdict(False, f"{actor.principal} may not {action}; who may: {who}", missing)


def ref_allowed(ref: str, patterns: Sequence[str]) -> bool:
    """True when no patterns are set, or the ref (with or without `refs/heads/`) matches one glob."""
    if not patterns:
        return True
    short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    return any(fnmatch.fnmatchcase(short, p) or fnmatch.fnmatchcase(ref, p) for p in patterns)


def new_code(randbelow: Callable[[int], int]) -> str:
    """A one-time confirmation code from a random source (`secrets.randbelow` in production)."""
    return "".join(CODE_ALPHABET[randbelow(len(CODE_ALPHABET))] for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    return text.strip().strip("`").lower()


def confirmation_problem(row: Mapping[str, Any] | None, *, principal: str, repo: str | None, now: float) -> str | None:
    """Why a confirmation cannot be used now, in words; None when it can."""
    if row is None:
        return "there is no pending deploy with that code; ask again with /deploy"
    if row["requested_by"] != principal:
        return f"only {row['requested_by']}, who asked for this deploy, can confirm it"
    if repo is not None and row["repo"] != repo:
        return f"that code belongs to {row['repo']}; confirm it there"
    if row["used_at"] is not None and row["outcome"] == "refused":
        return "this deploy was refused when it was confirmed; ask again with /deploy"
    if row["used_at"] is not None:
        return f"this deploy was {row['outcome'] or 'handled'} already"
    if now >= row["expires_at"]:
        return "the confirmation expired; ask again with /deploy"
    return None


def github_state(state: str) -> str | None:
    """Our state for a GitHub deployment status, None for states we do not follow (`inactive`)."""
    return GITHUB_STATES.get(state)


def gitlab_state(status: str) -> str | None:
    return GITLAB_STATES.get(status)


# GitHub Actions run conclusions: https://docs.github.com/en/webhooks/webhook-events-and-payloads#workflow_run
RUN_CONCLUSIONS = {"success": SUCCESS, "failure": FAILURE, "timed_out": FAILURE, "startup_failure": ERROR,
                   "action_required": ERROR, "stale": ERROR, "cancelled": CANCELLED, "skipped": CANCELLED,
                   "neutral": SUCCESS}


def workflow_run_state(action: str, conclusion: str | None) -> str | None:
    """Our state for a workflow_run event of a dispatched deploy workflow (method: workflow)."""
    if action == "requested":
        return QUEUED
    if action == "in_progress":
        return IN_PROGRESS
    if action == "completed":
        return RUN_CONCLUSIONS.get(conclusion or "", ERROR)
    return None


def rollback_target(history: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """From newest-first deploys of one environment: the last success before the current one.

    The current one is the newest successful deploy; a rollback redeploys the success before it
    (a different sha, so that it changes something).
    """
    successes = [row for row in history if row["status"] == SUCCESS]
    if not successes:
        return None
    current = successes[0]
    return next((row for row in successes[1:] if row["sha"] != current["sha"]), None)
