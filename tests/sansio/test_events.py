"""Normalizing real GitHub, GitLab and Slack payloads into one Event shape."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.sansio.events import normalize
from tests.peers import github_example, github_examples, gitlab_docs, gitlab_payload, gitlab_webhooks

SANSIO = Path(__file__).resolve().parents[2] / "bot" / "sansio"
NETWORK_LIBRARIES = {"aiohttp", "gidgethub", "gitlab", "slack_bolt", "slack_sdk", "requests", "httpx",
                     "sqlalchemy", "asyncpg", "aiosqlite", "socket", "urllib.request", "http.client"}


class TestSansIO:
    @pytest.mark.parametrize("path", sorted(SANSIO.glob("*.py")), ids=lambda p: p.name)
    def test_no_network_libraries(self, path):
        """bot/sansio/ imports no network or database library (the house rule, executable)."""
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        bad = {m for m in imported if m in NETWORK_LIBRARIES or m.split(".")[0] in NETWORK_LIBRARIES}
        assert not bad, f"{path.name} imports {bad}"


class TestGitHub:
    @pytest.mark.parametrize("event", ["pull_request", "issue_comment", "check_suite", "check_run", "workflow_run",
                                       "push", "create", "release", "deployment", "deployment_status", "status"])
    def test_every_example_has_repo_and_name(self, event):
        """Every GitHub example names its repository and an `event.action` name."""
        for example in github_examples(event):
            ev = normalize("github", event, example, "d-1")
            assert ev.repo is not None and ev.repo.forge == "github"
            assert ev.name == (f"{event}.{example['action']}" if "action" in example else event)
            assert ev.actor is not None

    def test_comment_on_pull_request_carries_commands_and_reply_target(self):
        """A PR comment's command lines are parsed and the answer goes to that PR."""
        example = github_example("issue_comment", "created")
        example["comment"]["body"] = "Ship it\n/deploy staging"
        example["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
        ev = normalize("github", "issue_comment", example, "d-2")
        assert [c.name for c in ev.commands] == ["deploy"]
        assert ev.reply_to.kind == "comment" and ev.reply_to.on_change_request
        assert ev.reply_to.number == example["issue"]["number"]

    def test_edited_comments_and_bot_comments_are_not_commands(self):
        """Edits never re-run; comments by bots (shipbot included) never run."""
        edited = github_example("issue_comment", "edited")
        edited["comment"]["body"] = "/deploy production"
        assert normalize("github", "issue_comment", edited, "d").commands == ()
        by_bot = github_example("issue_comment", "created")
        by_bot["comment"]["body"] = "/deploy production"
        by_bot["sender"]["type"] = "Bot"
        assert normalize("github", "issue_comment", by_bot, "d").commands == ()
        ours = github_example("issue_comment", "created")
        ours["comment"]["body"] = "<!-- shipbot:test-report -->\n/retest"
        assert normalize("github", "issue_comment", ours, "d").commands == ()


class TestGitLab:
    @pytest.mark.parametrize("name, payload, hook", gitlab_docs() + gitlab_webhooks(), ids=lambda v: v if isinstance(v, str) else "")
    def test_every_fixture_normalizes(self, name, payload, hook):
        """Every GitLab payload gets a kind from its header and, where it has one, its project."""
        ev = normalize("gitlab", hook, payload, "u-1")
        assert ev.source == "gitlab" and ev.name
        if name not in ("note_snippet.json",):
            assert ev.repo is not None and "/" in ev.repo.path

    def test_names(self):
        """Names are object_kind plus action (or status for pipelines and deployments)."""
        assert normalize("gitlab", "Merge Request Hook", gitlab_payload("merge_request.json"), "u").name == "merge_request.open"
        assert normalize("gitlab", "Pipeline Hook", gitlab_payload("pipeline.json"), "u").name == "pipeline.success"
        assert normalize("gitlab", "Deployment Hook", gitlab_payload("deployment.json"), "u").name == "deployment.success"
        assert normalize("gitlab", "Tag Push Hook", gitlab_payload("tag_push.json"), "u").name == "tag_push"

    def test_note_on_merge_request(self):
        """A note's commands are parsed and answered on the merge request (by iid)."""
        payload = gitlab_payload("note_merge_request.json")
        payload["object_attributes"]["note"] = "/shipbot deploy staging"
        ev = normalize("gitlab", "Note Hook", payload, "u")
        assert [c.name for c in ev.commands] == ["deploy"]
        assert ev.reply_to.number == payload["merge_request"]["iid"] and ev.reply_to.on_change_request

    def test_project_bot_users_are_bots(self):
        """Project access-token users (project_N_bot_x) are treated as bots."""
        payload = gitlab_payload("note_issue.json")
        payload["user"]["username"] = "project_278964_bot_1a2b3c"
        payload["object_attributes"]["note"] = "/deploy staging"
        assert normalize("gitlab", "Note Hook", payload, "u").commands == ()


class TestSlack:
    def test_slash_command(self):
        """`/deploy staging` from Slack becomes a deploy command answered through response_url."""
        ev = normalize("slack", "slack", {"command": "/deploy", "text": "staging", "user_id": "U1",
                                          "channel_id": "C1", "response_url": "https://hooks.slack.com/x"}, "t")
        assert [c.name for c in ev.commands] == ["deploy"] and ev.reply_to.response_url
        assert ev.actor.principal == "slack:U1"

    def test_app_mention(self):
        """`@shipbot deploy staging` in a channel reads as `/shipbot deploy staging`."""
        ev = normalize("slack", "slack", {"type": "event_callback", "event_id": "Ev1", "event": {
            "type": "app_mention", "user": "U1", "text": "<@U0BOT> deploy staging", "channel": "C1", "ts": "1.2"}}, "Ev1")
        assert ev.name == "event.app_mention" and ev.commands[0].args == ("staging",)
