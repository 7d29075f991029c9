"""Payloads and look-ups shared by the deploy and lock handler tests."""
from __future__ import annotations

from tests.peers import github_example, gitlab_payload

CHANNEL = "C0DEPLOY"
SLACK_ENV = {"SLACK_SIGNING_SECRET": "s", "SHIPBOT_SLACK_CHANNELS": f"{CHANNEL}=github:octo/widget"}
GITHUB_REPO = "Codertocat/Hello-World"  # the repository of GitHub's own webhook examples
GITLAB_REPO = "gitlab-org/gitlab-test"  # the project of GitLab's documented note example


def slash(text: str, *, user: str = "U0123ABC", channel: str = CHANNEL, command: str = "/shipbot") -> dict:
    """A Slack slash command payload as the ingress stores it."""
    return {"command": command, "text": text, "user_id": user, "user_name": user.lower(), "channel_id": channel,
            "channel_name": "deploys", "team_id": "T1", "trigger_id": "t",
            "response_url": "https://hooks.slack.com/commands/T1/1/x"}


def click(action_id: str, value: str, *, user: str = "U0123ABC", channel: str = CHANNEL,
          message_ts: str = "dry.1") -> dict:
    """A Slack block_actions payload for one button.

    https://api.slack.com/reference/interaction-payloads/block-actions
    """
    return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "username": user.lower()},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "channel": {"id": channel, "name": "deploys"}, "response_url": "https://hooks.slack.com/actions/T1/1/y",
            "actions": [{"action_id": action_id, "block_id": "deploy", "type": "button", "value": value}]}


def pr_comment(body: str, *, login: str = "Codertocat", number: int = 7) -> dict:
    """GitHub's issue_comment.created example, turned into a comment on a pull request."""
    payload = github_example("issue_comment", "created")
    payload["issue"]["number"] = number
    payload["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{GITHUB_REPO}/pulls/{number}"}
    payload["comment"]["body"] = body
    payload["comment"]["user"]["login"] = login
    payload["sender"]["login"] = login
    return payload


def mr_note(body: str, *, username: str = "root") -> dict:
    """GitLab's documented merge request note, with our text."""
    payload = gitlab_payload("note_merge_request.json")
    payload["object_attributes"]["note"] = body
    payload["user"]["username"] = username
    return payload


def slack_texts(services, action: str | None = None) -> list[str]:
    return [w.data["text"] for w in services.chat.writes.writes if action is None or w.action == action]


def comments(forge, repo: str) -> list[str]:
    return [c["body"] for c in forge.writes("create_comment") if c["repo"] == repo]
