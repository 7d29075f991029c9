"""Translate GitLab's API objects and words into the neutral Forge dataclasses, and back."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.forge.base import ChangeRequest, Check, Comment, Commit, Release, Tag, TestTotals

# Project access levels, highest first, onto base.PERMISSIONS. GitLab's roles:
# https://docs.gitlab.com/ee/api/members.html#roles
#   50 Owner -> admin, 40 Maintainer -> maintain, 30 Developer -> write (push, run pipelines),
#   20 Reporter -> triage (read, manage issues and labels, like GitHub's triage),
#   15 Planner and 10 Guest -> read; 5 Minimal access, 0 No access, or not a member -> none.
ACCESS_LEVELS = ((50, "admin"), (40, "maintain"), (30, "write"), (20, "triage"), (10, "read"))

# GitHub reaction names (what handlers use) onto GitLab award emoji names.
REACTIONS = {"+1": "thumbsup", "-1": "thumbsdown", "laugh": "laughing", "confused": "confused",
             "heart": "heart", "hooray": "tada", "rocket": "rocket", "eyes": "eyes"}

# Neutral deployment states (GitHub's words) onto what GitLab's deployments API accepts:
# https://docs.gitlab.com/ee/api/deployments.html#update-a-deployment
DEPLOYMENT_STATES = {"queued": "running", "pending": "running", "in_progress": "running",
                     "success": "success", "failure": "failed", "error": "failed", "inactive": "canceled"}

MR_STATES = {"opened": "open", "locked": "open", "closed": "closed", "merged": "merged"}

# failure_reason values that mean the job ran out of time:
# https://docs.gitlab.com/ee/ci/jobs/job_troubleshooting.html
TIMEOUT_REASONS = {"job_execution_timeout", "stuck_or_timeout_failure"}
QUEUED = {"created", "pending", "preparing", "scheduled", "waiting_for_resource", "waiting_for_callback"}


def permission_for(member: Mapping[str, Any] | None) -> str:
    """The neutral permission of a project member; blocked users and pending invitations get none."""
    states = (member or {}).get("state", "active"), (member or {}).get("membership_state", "active")
    if not member or states != ("active", "active"):
        return "none"
    level = int(member.get("access_level") or 0)
    return next((name for minimum, name in ACCESS_LEVELS if level >= minimum), "none")


def emoji_for(reaction: str) -> str:
    """GitLab's award emoji name for a reaction; GitLab names pass through unchanged."""
    return REACTIONS.get(reaction, reaction)


def _user(data: Any) -> str | None:
    return data.get("username") if isinstance(data, Mapping) else None


def change_request(mr: Mapping[str, Any]) -> ChangeRequest:
    return ChangeRequest(
        number=int(mr["iid"]), title=mr.get("title") or "", head_ref=mr.get("source_branch") or "",
        head_sha=mr.get("sha") or "", base_ref=mr.get("target_branch") or "", author=_user(mr.get("author")),
        url=mr.get("web_url"), state=MR_STATES.get(mr.get("state") or "", "open"),
        from_fork=not same_project(mr), body=mr.get("description") or "")


def same_project(mr: Mapping[str, Any]) -> bool:
    """An MR whose source branch lives in the target project itself (not in a fork)."""
    return mr.get("source_project_id") == mr.get("target_project_id")


def commit(data: Mapping[str, Any]) -> Commit:
    return Commit(sha=data["id"], message=data.get("message") or data.get("title") or "",
                  author=data.get("author_name"), author_login=None,
                  date=data.get("authored_date") or data.get("created_at"), url=data.get("web_url"),
                  parents=tuple(data.get("parent_ids") or ()))


def tag(data: Mapping[str, Any]) -> Tag:
    target = data.get("commit") or {}
    return Tag(data["name"], target.get("id") or data.get("target") or "")


def release(data: Mapping[str, Any]) -> Release:
    # GitLab identifies a release by its tag; there are no draft or pre-releases.
    links = data.get("_links") or {}
    return Release(id=data["tag_name"], tag=data["tag_name"], name=data.get("name"),
                   body=data.get("description") or "", url=links.get("self"))


def comment(note: Mapping[str, Any]) -> Comment:
    return Comment(id=int(note["id"]), body=note.get("body") or "", author=_user(note.get("author")))


def check(job: Mapping[str, Any], pipeline_id: int | None) -> Check:
    """One CI job as a Check; jobs allowed to fail count as neutral, as GitLab shows them (a warning)."""
    status, conclusion = _job_state(job)
    return Check(id=int(job["id"]), name=job.get("name") or "", status=status, conclusion=conclusion,
                 url=job.get("web_url"), summary=job.get("failure_reason") or None,
                 started_at=job.get("started_at"), completed_at=job.get("finished_at"), suite_id=pipeline_id)


def _job_state(job: Mapping[str, Any]) -> tuple[str, str | None]:
    status, allowed = job.get("status"), bool(job.get("allow_failure"))
    if status in ("running", "canceling"):
        return "in_progress", None
    if status == "success":
        return "completed", "success"
    if status == "failed":
        if allowed:
            return "completed", "neutral"
        return "completed", "timed_out" if job.get("failure_reason") in TIMEOUT_REASONS else "failure"
    if status == "canceled":
        return "completed", "cancelled"
    if status == "skipped":
        return "completed", "skipped"
    if status == "manual":
        # A manual job that may be skipped does not hold the pipeline; one that may not ("blocking") does:
        # https://docs.gitlab.com/ee/ci/jobs/job_control.html#types-of-manual-jobs
        return ("completed", "skipped") if allowed else ("queued", None)
    return "queued", None


def test_totals(summary: Mapping[str, Any]) -> TestTotals | None:
    """GitLab's pipeline test report summary; None when the pipeline reported no tests at all."""
    total = summary.get("total") or {}
    if not total.get("count"):
        return None
    return TestTotals(passed=int(total.get("success") or 0), failed=int(total.get("failed") or 0),
                      skipped=int(total.get("skipped") or 0), errored=int(total.get("error") or 0),
                      duration=float(total["time"]) if total.get("time") is not None else None)


def latest_per_ref(pipelines: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The newest pipeline per ref (branch, tag, `refs/merge-requests/N/head`): a re-run replaces one."""
    newest: dict[str, Mapping[str, Any]] = {}
    for pipeline in pipelines:
        ref = str(pipeline.get("ref"))
        if ref not in newest or int(pipeline["id"]) > int(newest[ref]["id"]):
            newest[ref] = pipeline
    return sorted(newest.values(), key=lambda p: int(p["id"]), reverse=True)
