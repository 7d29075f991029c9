"""Real artifacts for tests: GitHub's webhook examples, GitLab's payloads, and signing as each sender signs."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
SHARED = ROOT.parent / "shared"
GITLAB_FIXTURES = SHARED / "fixtures" / "gitlab"
OCTOKIT_EXAMPLES = NODE_MODULES / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
OCTOKIT_SCHEMA = NODE_MODULES / "@octokit" / "webhooks-schemas" / "schema.json"


@lru_cache(maxsize=1)
def _octokit_index() -> dict[str, list[dict]]:
    if not OCTOKIT_EXAMPLES.exists():
        raise RuntimeError(f"{OCTOKIT_EXAMPLES} is missing: run `make test` (it runs npm ci)")
    return {entry["name"]: entry["examples"] for entry in json.loads(OCTOKIT_EXAMPLES.read_text())}


def github_examples(event: str) -> list[dict]:
    """Every example GitHub documents for `event` (a fresh copy each call)."""
    return json.loads(json.dumps(_octokit_index()[event]))


def github_example(event: str, action: str | None = None, **where) -> dict:
    """The first example of `event` with this action (and matching top-level fields)."""
    for example in github_examples(event):
        if action is not None and example.get("action") != action:
            continue
        if all(example.get(k) == v for k, v in where.items()):
            return example
    raise LookupError(f"no {event} example with action={action} {where}")


def gitlab_docs() -> list[tuple[str, dict, str]]:
    """(file name, payload, X-Gitlab-Event) for GitLab's documented examples."""
    headers = json.loads((GITLAB_FIXTURES / "docs" / "headers.json").read_text())
    return [(name, json.loads((GITLAB_FIXTURES / "docs" / name).read_text()), hook) for name, hook in headers.items()]


# go-playground/webhooks names its files by kind; the header is what GitLab sends for that kind.
GITLAB_WEBHOOK_HEADERS = {
    "build-event.json": "Job Hook", "job-event.json": "Job Hook", "comment-commit-event.json": "Note Hook",
    "comment-issue-event.json": "Note Hook", "comment-merge-request-event.json": "Note Hook",
    "deployment-event.json": "Deployment Hook", "issue-event.json": "Issue Hook",
    "merge-request-event.json": "Merge Request Hook", "pipeline-event.json": "Pipeline Hook",
    "push-event.json": "Push Hook", "release-event.json": "Release Hook", "tag-event.json": "Tag Push Hook",
}


def gitlab_webhooks() -> list[tuple[str, dict, str]]:
    return [(name, json.loads((GITLAB_FIXTURES / "webhooks" / name).read_text()), hook)
            for name, hook in GITLAB_WEBHOOK_HEADERS.items()]


def gitlab_payload(name: str) -> dict:
    folder = "docs" if (GITLAB_FIXTURES / "docs" / name).exists() else "webhooks"
    return json.loads((GITLAB_FIXTURES / folder / name).read_text())


def recorded_gitlab_push() -> tuple[dict[str, str], bytes]:
    """The delivery recorded from a real GitLab server: its headers and its exact body."""
    folder = GITLAB_FIXTURES / "recorded-push"
    headers = {}
    for line in (folder / "200.headers").read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip()] = value.strip()
    return headers, (folder / "body").read_bytes()


def body_of(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def github_headers(event: str, body: bytes, secret: str, *, delivery: str | None = None) -> dict[str, str]:
    """Headers as GitHub sends them, signed with HMAC-SHA256 of the body."""
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": signature, "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/test"}


def gitlab_headers(hook: str, token: str, *, uuid_: str | None = None) -> dict[str, str]:
    key = uuid_ or str(uuid.uuid4())
    return {"X-Gitlab-Event": hook, "X-Gitlab-Token": token, "Content-Type": "application/json",
            "X-Gitlab-Event-UUID": key, "Idempotency-Key": key}


def slack_headers(body: bytes, secret: str, *, content_type: str = "application/x-www-form-urlencoded",
                  timestamp: int | None = None) -> dict[str, str]:
    """Headers as Slack signs them, computed with slack_sdk's own signer."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature, "Content-Type": content_type}


def slash_command_body(command: str, text: str, *, user: str = "U0123ABC", channel: str = "C0123DEPLOY",
                       response_url: str = "https://hooks.slack.com/commands/T0001/1/abc",
                       trigger_id: str | None = None) -> bytes:
    """A slash command body with every field Slack sends:
    https://api.slack.com/interactivity/slash-commands#app_command_handling"""
    return urlencode({
        "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": "T0001", "team_domain": "example",
        "enterprise_id": "E0001", "enterprise_name": "Globular Construct Inc", "channel_id": channel,
        "channel_name": "deploys", "user_id": user, "user_name": "Steve", "command": command, "text": text,
        "response_url": response_url, "trigger_id": trigger_id or f"13345224609.738474920.{uuid.uuid4().hex}",
        "api_app_id": "A123456",
    }).encode()


def block_actions_body(action_id: str, value: str, *, user: str = "U0123ABC", channel: str = "C0123DEPLOY",
                       message_ts: str = "1548426417.840180") -> bytes:
    """A block_actions payload as Slack posts it (form field `payload`):
    https://api.slack.com/reference/interaction-payloads/block-actions"""
    payload = {
        "type": "block_actions", "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": "steve", "team_id": "T0001"}, "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO", "container": {"type": "message", "message_ts": message_ts,
                                                        "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"12321423423.333649436676.{uuid.uuid4().hex}", "channel": {"id": channel, "name": "deploys"},
        "message": {"type": "message", "ts": message_ts, "text": "Deploy?"},
        "response_url": "https://hooks.slack.com/actions/T0001/1/xyz",
        "actions": [{"action_id": action_id, "block_id": "confirm", "type": "button", "value": value,
                     "text": {"type": "plain_text", "text": "Confirm"}, "action_ts": "1548426417.840180"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
