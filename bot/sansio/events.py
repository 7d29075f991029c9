"""Turn a verified GitHub, GitLab or Slack payload into one neutral Event."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from bot.sansio.commands import Command, UsageError, parse_text

# Our own comments carry this marker; they are never read as commands.
MARKER_PREFIX = "<!-- shipbot"
# GitLab names project/group access-token users like this:
# https://docs.gitlab.com/ee/user/project/settings/project_access_tokens.html#bot-users-for-projects
GITLAB_BOT_RE = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$")
SLACK_MENTION_RE = re.compile(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>\s*")
GITLAB_HOOKS = {
    "Push Hook": "push", "Tag Push Hook": "tag_push", "Note Hook": "note", "Issue Hook": "issue",
    "Confidential Issue Hook": "issue", "Confidential Note Hook": "note",
    "Merge Request Hook": "merge_request", "Wiki Page Hook": "wiki_page", "Pipeline Hook": "pipeline",
    "Job Hook": "build", "Deployment Hook": "deployment", "Release Hook": "release",
    "Emoji Hook": "emoji", "Feature Flag Hook": "feature_flag", "Member Hook": "member",
    "Subgroup Hook": "subgroup", "Resource Access Token Hook": "access_token",
    "Milestone Hook": "milestone", "Vulnerability Hook": "vulnerability",
    "System Hook": "system",
}


@dataclass(frozen=True)
class RepoRef:
    """A repository on one forge: `github:owner/name` or `gitlab:group/sub/project`."""

    forge: str
    path: str
    id: int | None = None

    def __str__(self) -> str:
        return f"{self.forge}:{self.path}"


@dataclass(frozen=True)
class Actor:
    """Who caused the event, on the platform that sent it."""

    platform: str
    login: str
    id: str | None = None
    is_bot: bool = False
    name: str | None = None

    @property
    def principal(self) -> str:
        """The name used in `allow` lists: `github:octocat`, `slack:U0123ABC`."""
        return f"{self.platform}:{self.id if self.platform == 'slack' else self.login}"


@dataclass(frozen=True)
class ReplyTarget:
    """Where to answer the person who asked: a Slack conversation or a forge comment thread."""

    kind: str  # "slack" | "comment"
    channel: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None
    user: str | None = None
    repo: RepoRef | None = None
    number: int | None = None
    on_change_request: bool = False
    comment_id: int | None = None


@dataclass(frozen=True)
class Event:
    """A normalized event: what every handler receives, whatever the source."""

    source: str
    name: str
    delivery_id: str
    payload: Mapping[str, Any]
    repo: RepoRef | None = None
    actor: Actor | None = None
    installation_id: int | None = None
    commands: tuple[Command | UsageError, ...] = ()
    reply_to: ReplyTarget | None = None
    team_id: str | None = None

    @property
    def kind(self) -> str:
        """The name without its action: `pull_request` for `pull_request.opened`."""
        return self.name.split(".", 1)[0]


def normalize(source: str, name: str, payload: Mapping[str, Any], delivery_id: str) -> Event:
    """Build the Event for a payload; `name` is the X-GitHub-Event / X-Gitlab-Event header."""
    if source == "github":
        return from_github(name, payload, delivery_id)
    if source == "gitlab":
        return from_gitlab(name, payload, delivery_id)
    if source == "slack":
        return from_slack(payload, delivery_id)
    raise ValueError(f"unknown source {source!r}")


def _comment_commands(body: str | None, actor: Actor | None, forge: str) -> tuple:
    if not body or (actor and actor.is_bot) or MARKER_PREFIX in body:
        return ()
    return tuple(parse_text(body, in_comment=True, forge=forge))


def from_github(event: str, payload: Mapping[str, Any], delivery_id: str) -> Event:
    """Normalize a GitHub webhook: https://docs.github.com/en/webhooks/webhook-events-and-payloads"""
    action = payload.get("action")
    name = f"{event}.{action}" if isinstance(action, str) and action else event
    repo_data = payload.get("repository") or {}
    repo = None
    if isinstance(repo_data, Mapping) and repo_data.get("full_name"):
        repo = RepoRef("github", str(repo_data["full_name"]), repo_data.get("id"))
    sender = payload.get("sender") or {}
    actor = None
    if isinstance(sender, Mapping) and sender.get("login"):
        login = str(sender["login"])
        actor = Actor("github", login, str(sender.get("id")), sender.get("type") == "Bot" or login.endswith("[bot]"))
    installation = payload.get("installation") or {}
    commands: tuple = ()
    reply_to = None
    if event == "issue_comment" and action == "created" and repo:
        issue, comment = payload.get("issue") or {}, payload.get("comment") or {}
        comment_user = comment.get("user") or {}
        if comment_user.get("type") == "Bot" and actor:
            actor = Actor("github", actor.login, actor.id, True)
        commands = _comment_commands(comment.get("body"), actor, "github")
        reply_to = ReplyTarget("comment", repo=repo, number=issue.get("number"),
                               on_change_request=bool(issue.get("pull_request")),
                               comment_id=comment.get("id"))
    return Event("github", name, delivery_id, payload, repo, actor,
                 installation.get("id") if isinstance(installation, Mapping) else None,
                 commands, reply_to)


def _gitlab_repo(payload: Mapping[str, Any]) -> RepoRef | None:
    project = payload.get("project")
    pid = payload.get("project_id")
    if isinstance(project, Mapping):
        pid = project.get("id", pid)
        if project.get("path_with_namespace"):
            return RepoRef("gitlab", str(project["path_with_namespace"]), pid)
    repository = payload.get("repository")
    if isinstance(repository, Mapping) and repository.get("homepage"):
        path = urlsplit(str(repository["homepage"])).path.strip("/")
        if path:
            return RepoRef("gitlab", path, pid)
    return None


def _gitlab_actor(payload: Mapping[str, Any]) -> Actor | None:
    user = payload.get("user")
    if isinstance(user, Mapping) and user.get("username"):
        login = str(user["username"])
        return Actor("gitlab", login, str(user.get("id")), bool(GITLAB_BOT_RE.match(login)), user.get("name"))
    login = payload.get("user_username")
    if login:
        return Actor("gitlab", str(login), str(payload.get("user_id")), bool(GITLAB_BOT_RE.match(str(login))),
                     payload.get("user_name"))
    return None


def from_gitlab(header: str, payload: Mapping[str, Any], delivery_id: str) -> Event:
    """Normalize a GitLab webhook: https://docs.gitlab.com/ee/user/project/integrations/webhook_events.html"""
    kind = str(payload.get("object_kind") or GITLAB_HOOKS.get(header, header.lower().replace(" ", "_")))
    attrs = payload.get("object_attributes") if isinstance(payload.get("object_attributes"), Mapping) else {}
    if kind in ("pipeline",):
        action = attrs.get("status")
    elif kind in ("deployment",):
        action = payload.get("status")
    elif kind in ("build",):
        action = payload.get("build_status")
    elif kind in ("release",):
        action = payload.get("action")
    elif kind == "note":
        # Older payloads carry no action; a note without one was just created.
        action = attrs.get("action") or "create"
    else:
        action = attrs.get("action")
    name = f"{kind}.{action}" if action else kind
    repo = _gitlab_repo(payload)
    actor = _gitlab_actor(payload)
    commands: tuple = ()
    reply_to = None
    if kind == "note" and action == "create" and repo:
        noteable = attrs.get("noteable_type")
        target = payload.get("merge_request") if noteable == "MergeRequest" else payload.get("issue")
        number = target.get("iid") if isinstance(target, Mapping) else None
        if noteable in ("MergeRequest", "Issue"):
            commands = _comment_commands(attrs.get("note"), actor, "gitlab")
            reply_to = ReplyTarget("comment", repo=repo, number=number,
                                   on_change_request=noteable == "MergeRequest", comment_id=attrs.get("id"))
    return Event("gitlab", name, delivery_id, payload, repo, actor, None, commands, reply_to)


def from_slack(payload: Mapping[str, Any], delivery_id: str) -> Event:
    """Normalize a Slack slash command, interaction or Events API callback."""
    if payload.get("command"):
        text = f"{payload['command']} {payload.get('text') or ''}".strip()
        actor = Actor("slack", str(payload.get("user_name") or payload.get("user_id")), payload.get("user_id"))
        reply = ReplyTarget("slack", channel=payload.get("channel_id"), response_url=payload.get("response_url"),
                            user=payload.get("user_id"))
        return Event("slack", "slash_command", delivery_id, payload, None, actor, None,
                     tuple(parse_text(text, in_comment=False)), reply, payload.get("team_id"))
    if payload.get("type") == "block_actions":
        user = payload.get("user") or {}
        actions = payload.get("actions") or [{}]
        action_id = actions[0].get("action_id", "unknown") if isinstance(actions[0], Mapping) else "unknown"
        channel = (payload.get("channel") or {}).get("id")
        message_ts = (payload.get("container") or {}).get("message_ts")
        actor = Actor("slack", str(user.get("username") or user.get("id")), user.get("id"))
        reply = ReplyTarget("slack", channel=channel, thread_ts=message_ts,
                            response_url=payload.get("response_url"), user=user.get("id"))
        team = (payload.get("team") or {}).get("id")
        return Event("slack", f"block_actions.{action_id}", delivery_id, payload, None, actor, None, (), reply, team)
    inner = payload.get("event") or {}
    etype = inner.get("type", payload.get("type", "unknown"))
    commands: tuple = ()
    actor = None
    reply = None
    if inner.get("user"):
        actor = Actor("slack", str(inner["user"]), inner["user"], bool(inner.get("bot_id")))
    if etype == "app_mention" and actor and not actor.is_bot:
        text = SLACK_MENTION_RE.sub("", str(inner.get("text") or ""), count=1).strip()
        line = text if text.startswith("/") else f"/shipbot {text}"
        commands = tuple(parse_text(line, in_comment=False))
        reply = ReplyTarget("slack", channel=inner.get("channel"), thread_ts=inner.get("thread_ts") or inner.get("ts"),
                            user=inner.get("user"))
    return Event("slack", f"event.{etype}", delivery_id, payload, None, actor, None, commands, reply,
                 payload.get("team_id"))
