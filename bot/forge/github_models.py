"""Translate between GitHub's words and JSON objects and the Forge's neutral ones."""
from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import gidgethub

from bot.forge.base import (PERMISSIONS, Artifact, ChangeRequest, Check, Comment, Commit, Conflict, ForgeError,
                            ForgeUnavailable, HookDelivery, NotFound, PermissionDenied, RateLimited, Release)

ACTIONS_RUN = re.compile(r"/actions/runs/(\d+)")
FAILED = {"failure", "timed_out", "action_required", "startup_failure"}
# https://docs.github.com/en/rest/reactions/reactions#about-reactions
REACTIONS = {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}
# https://docs.github.com/en/rest/deployments/statuses#create-a-deployment-status
DEPLOY_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
# Secondary rate limits without Retry-After: "wait for at least one minute":
# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
SECONDARY_WAIT = 60.0
STATE_WORDS = {"failed": "failure", "running": "in_progress", "started": "in_progress", "timed_out": "error",
               "cancelled": "error", "canceled": "error"}


def q(value: Any) -> str:
    """One URL path segment: `/` in a branch or file name is escaped as %2F, as Octokit does."""
    return quote(str(value), safe="")


def error(exc: gidgethub.HTTPException, key: str, what: str) -> ForgeError | ForgeUnavailable:
    """Turn GitHub's answer into an error whose message a user can act on (never a credential)."""
    status = int(exc.status_code)
    headers = exc.headers or {}
    message = exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else exc.status_code.phrase
    if status in (403, 429):
        # https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
        if headers.get("x-ratelimit-remaining") == "0":
            reset = float(headers.get("x-ratelimit-reset") or 0) - time.time()
            wait = max(reset, 1.0)
            return RateLimited(f"GitHub's API rate limit for shipbot is used up; it resets in {wait:.0f} s "
                               "and shipbot will try again then", retry_after=wait)
        if headers.get("retry-after") or status == 429 or "secondary rate" in message.lower():
            wait = float(headers.get("retry-after") or SECONDARY_WAIT)
            return RateLimited(f"GitHub asked shipbot to slow down (secondary rate limit); it will try "
                               f"again in {wait:.0f} s", retry_after=wait)
    if status == 401:
        who = {"app": "the App's JWT (check GITHUB_APP_ID, the private key and the clock)",
               "token": "GITHUB_TOKEN (it may be expired or revoked)",
               "installation": "the App installation's token (is the App still installed?)"}.get(
                   key.split(":")[0], "anonymous requests")
        return PermissionDenied(f"GitHub did not accept {who} to {what}", status=401)
    if status == 403:
        return PermissionDenied(f"GitHub did not allow shipbot to {what}: {message}. Give shipbot's GitHub "
                                "App (or token) the permission this needs", status=403)
    if status in (404, 410):  # 410: gone for good, such as an expired artifact
        return NotFound(f"GitHub found nothing when shipbot tried to {what}: check the names, and that "
                        "shipbot has access to the repository", status=status)
    if status in (409, 422):
        return Conflict(f"GitHub refused to {what}: {message}", status=status)
    if status >= 500:
        return ForgeUnavailable(f"GitHub failed to {what} ({status}); shipbot will try again later")
    return ForgeError(f"GitHub answered {status} when shipbot tried to {what}: {message}", status=status)


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def reaction(word: str) -> str:
    if word not in REACTIONS:
        raise ForgeError(f"GitHub has no reaction {word!r}; use one of {', '.join(sorted(REACTIONS))}")
    return word


def deployment_state(word: str) -> str:
    state = STATE_WORDS.get(word, word)
    if state not in DEPLOY_STATES:
        raise ForgeError(f"GitHub has no deployment state {word!r}; use one of {', '.join(sorted(DEPLOY_STATES))}")
    return state


def permission(data: dict) -> str:
    # role_name is the finer one (triage, maintain); custom roles fall back to their base permission.
    return next((v for v in (data.get("role_name"), data.get("permission")) if v in PERMISSIONS), "none")


def commit(c: dict) -> Commit:
    git = c.get("commit") or {}
    author = git.get("author") or {}
    return Commit(c["sha"], git.get("message") or "", author.get("name"), (c.get("author") or {}).get("login"),
                  author.get("date"), c.get("html_url"), tuple(p["sha"] for p in c.get("parents") or ()))


def pull(p: dict) -> ChangeRequest:
    head, base = p.get("head") or {}, p.get("base") or {}
    head_repo, base_repo = head.get("repo") or {}, base.get("repo") or {}
    state = "merged" if p.get("merged_at") or p.get("merged") else p.get("state", "open")
    return ChangeRequest(p["number"], p.get("title") or "", head.get("ref") or "", head.get("sha") or "",
                         base.get("ref") or "", (p.get("user") or {}).get("login"), p.get("html_url"), state,
                         head_repo.get("full_name") != base_repo.get("full_name"), p.get("body") or "")


def release(r: dict) -> Release:
    return Release(r["id"], r["tag_name"], r.get("name"), r.get("body") or "", r.get("html_url"),
                   bool(r.get("draft")), bool(r.get("prerelease")))


def comment(c: dict) -> Comment:
    return Comment(c["id"], c.get("body") or "", (c.get("user") or {}).get("login"), c.get("html_url"))


def check(run: dict) -> Check:
    # Actions' check runs link to their workflow run; other apps' runs have only their suite.
    actions = (run.get("app") or {}).get("slug") == "github-actions"
    match = ACTIONS_RUN.search(run.get("details_url") or "") if actions else None
    return Check(run["id"], run.get("name") or "", run.get("status") or "queued", run.get("conclusion"),
                 run.get("html_url") or run.get("details_url"), (run.get("output") or {}).get("summary"),
                 run.get("started_at"), run.get("completed_at"), (run.get("check_suite") or {}).get("id"),
                 int(match.group(1)) if match else None)


def annotation(a: dict) -> dict[str, Any]:
    return {"path": a.get("path"), "start_line": a.get("start_line"), "end_line": a.get("end_line"),
            "level": a.get("annotation_level"), "title": a.get("title"), "message": a.get("message")}


def artifact(a: dict, run_id: int) -> Artifact:
    return Artifact(a["id"], a["name"], a.get("size_in_bytes"), bool(a.get("expired")),
                    (a.get("workflow_run") or {}).get("id") or run_id, a.get("archive_download_url"))


def delivery(d: dict) -> HookDelivery:
    return HookDelivery(d["id"], d["guid"], d["event"], d.get("action"), d.get("status_code") or 0,
                        d["delivered_at"], bool(d.get("redelivery")), d.get("repository_id"),
                        d.get("installation_id"))
