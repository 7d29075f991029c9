"""Pure deploy decisions: permissions, allowed refs, confirmation codes, expiry, rollback targets."""
from __future__ import annotations

import random

import pytest

from bot.sansio.deploys import (CODE_ALPHABET, CODE_LENGTH, confirmation_problem, deploy_permission,
                                github_state, gitlab_state, new_code, normalize_code,
                                ref_allowed, rollback_target, workflow_run_state)
from bot.sansio.events import Actor

OCTOCAT = Actor("github", "octocat", "1")
SLACK_USER = Actor("slack", "steve", "U0123ABC")


def verdict(allow, actor=OCTOCAT, base_ok=True, member_of=frozenset()):
    return deploy_permission(allow, actor, base_ok=base_ok, base_rule="write access to o/r",
                             action="deploy to production", member_of=member_of)


class TestDeployPermission:
    def test_base_check_always_applies(self):
        """Without the base check nobody deploys, even when listed by name."""
        result = verdict(("github:octocat",), base_ok=False)
        assert not result.allowed and result.reason == "you need write access to o/r"

    def test_no_allow_list_means_base_check(self):
        """An environment without `allow` lets everyone who passes the base check."""
        assert verdict(None).allowed

    def test_empty_allow_list_means_nobody(self):
        """`allow: []` (production by default) refuses everyone and says how to fix it."""
        result = verdict(())
        assert not result.allowed and "nobody yet (list people under `allow`" in result.reason

    @pytest.mark.parametrize("allow, actor, allowed", [
        (("*",), SLACK_USER, True),
        (("github:octocat",), OCTOCAT, True),
        (("github:OctoCat",), OCTOCAT, True),
        (("github:octocat",), SLACK_USER, False),
        (("slack:U0123ABC",), SLACK_USER, True),
        (("gitlab:octocat",), OCTOCAT, False),
    ])
    def test_principals_match_on_their_own_platform(self, allow, actor, allowed):
        """A principal names one identity on one platform, case-insensitively."""
        assert verdict(allow, actor).allowed is allowed

    def test_groups_come_back_to_look_up(self):
        """Group principals of the actor's platform are returned for a membership lookup."""
        result = verdict(("github-team:org/ops", "slack-group:S1"))
        assert not result.allowed and result.groups == ("github-team:org/ops",)
        assert "who may: members of github-team:org/ops, members of slack-group:S1" in result.reason
        assert verdict(("github-team:org/ops",), member_of=frozenset({"github-team:org/ops"})).allowed


class TestRefAllowed:
    @pytest.mark.parametrize("ref, patterns, allowed", [
        ("feature/x", (), True),
        ("main", ("main",), True),
        ("refs/heads/main", ("main",), True),
        ("release/1.2", ("main", "release/*"), True),
        ("v1.2.0", ("v*",), True),
        ("feature/x", ("main", "release/*"), False),
        ("mainline", ("main",), False),
        ("a" * 40, ("main",), False),
    ])
    def test_globs(self, ref, patterns, allowed):
        """Refs are matched against fnmatch globs; no patterns allows every ref."""
        assert ref_allowed(ref, patterns) is allowed


class TestConfirmationCode:
    def test_code_from_random_source(self):
        """A code has a fixed length from an unambiguous alphabet and depends only on the random source."""
        code = new_code(random.Random(4).randrange)
        assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
        assert code == new_code(random.Random(4).randrange)
        assert normalize_code(f" `{code.upper()}` ") == code

    def row(self, **changes):
        return {"requested_by": "github:octocat", "repo": "github:o/r", "used_at": None, "outcome": None,
                "expires_at": 100.0, **changes}

    @pytest.mark.parametrize("row_changes, principal, now, problem", [
        ({}, "github:octocat", 50.0, None),
        ({}, "github:hubot", 50.0, "only github:octocat, who asked for this deploy, can confirm it"),
        ({}, "github:octocat", 100.0, "the confirmation expired; ask again with /deploy"),
        ({"used_at": 60.0, "outcome": "confirmed"}, "github:octocat", 70.0, "this deploy was confirmed already"),
    ])
    def test_problems(self, row_changes, principal, now, problem):
        """A code works once, for the person who asked, before it expires."""
        assert confirmation_problem(self.row(**row_changes), principal=principal, repo="github:o/r",
                                    now=now) == problem

    def test_unknown_code_and_other_repository(self):
        """An unknown code and a code of another repository are refused."""
        assert "no pending deploy" in confirmation_problem(None, principal="x", repo=None, now=0)
        assert "belongs to github:o/r" in confirmation_problem(self.row(), principal="github:octocat",
                                                                repo="github:o/other", now=0)


class TestStates:
    def test_forge_states(self):
        """GitHub and GitLab states map onto ours; states we do not follow map to None."""
        assert github_state("in_progress") == "in_progress" and github_state("inactive") is None
        assert gitlab_state("failed") == "failure" and gitlab_state("canceled") == "cancelled"


class TestRollbackTarget:
    def test_the_success_before_the_current_one(self):
        """Rollback picks the newest success whose sha differs from the current deploy."""
        rows = [{"status": "failure", "sha": "d"}, {"status": "success", "sha": "c"},
                {"status": "success", "sha": "c"}, {"status": "error", "sha": "b"}, {"status": "success", "sha": "a"}]
        assert rollback_target(rows)["sha"] == "a"
        assert rollback_target(rows[:3]) is None


class TestWorkflowRunState:
    @pytest.mark.parametrize("action, conclusion, state", [
        ("requested", None, "queued"), ("in_progress", None, "in_progress"), ("completed", "success", "success"),
        ("completed", "timed_out", "failure"), ("completed", "cancelled", "cancelled"),
        ("completed", "startup_failure", "error"), ("completed", None, "error"), ("deleted", None, None),
    ])
    def test_states(self, action, conclusion, state):
        """A dispatched run's action and conclusion map onto our states."""
        assert workflow_run_state(action, conclusion) == state
