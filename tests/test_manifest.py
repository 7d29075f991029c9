"""The Slack app manifest registers exactly commands shipbot understands, at the right URL."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.sansio.commands import COMMANDS, LONG_FORM

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "slack-app-manifest.yml"


class TestSlackManifest:
    def test_slash_commands_are_ours_and_post_to_slack_events(self):
        """Each slash command is /shipbot or a short form shipbot parses, and points at /slack/events."""
        manifest = yaml.safe_load(MANIFEST.read_text())
        commands = manifest["features"]["slash_commands"]
        for entry in commands:
            word = entry["command"].lstrip("/")
            assert word == LONG_FORM or word in COMMANDS, word
            assert urlsplit(entry["url"]).path == "/slack/events"
        assert {c["command"] for c in commands} >= {"/shipbot", "/deploy", "/release", "/help"}
        settings = manifest["settings"]
        assert urlsplit(settings["interactivity"]["request_url"]).path == "/slack/events"
        assert urlsplit(settings["event_subscriptions"]["request_url"]).path == "/slack/events"


class TestGitHubAppManifest:
    def test_events_and_permissions_cover_what_shipbot_does(self):
        """The App manifest subscribes to the events handlers take and grants the writes they make."""
        import json

        from bot.services import default_router
        from bot.sansio.events import normalize

        manifest = json.loads((MANIFEST.parent / "github-app-manifest.json").read_text())
        assert urlsplit(manifest["hook_attributes"]["url"]).path == "/webhooks/github"
        router = default_router()
        from tests.peers import github_examples

        for event in manifest["default_events"]:
            example = github_examples(event)[0]
            if event == "issue_comment":
                example["comment"]["body"] = "/help"
            assert router.routes(normalize("github", event, example, "d")), f"no handler takes {event}"
        wanted = {"contents": "write", "pull_requests": "write", "issues": "write", "deployments": "write",
                  "actions": "write", "checks": "read", "members": "read"}
        assert all(manifest["default_permissions"][k] == v for k, v in wanted.items())
