"""GitLab REST answers shaped as GitLab's API documentation shows them (trimmed, same keys and types).

Sources: https://docs.gitlab.com/ee/api/ (merge_requests, notes, commits, repositories, tags,
releases, pipelines, jobs, members, users, emoji_reactions, deployments).
"""
from __future__ import annotations

SHA = "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd"
OLD_SHA = "a91957a858320c0e17f3a0eca7cfacbff50ea29a"
WEB = "https://gitlab.example.com/acme/platform/api"


def user(uid: int = 1, username: str = "root", name: str = "Administrator") -> dict:
    return {"id": uid, "username": username, "name": name, "state": "active", "locked": False,
            "avatar_url": f"https://www.gravatar.com/avatar/{uid}?s=80&d=identicon",
            "web_url": f"https://gitlab.example.com/{username}"}


def project(pid: int = 42, default_branch: str | None = "main") -> dict:
    return {"id": pid, "description": "The API", "name": "api", "name_with_namespace": "acme / platform / api",
            "path": "api", "path_with_namespace": "acme/platform/api", "created_at": "2023-01-12T10:00:00.000Z",
            "default_branch": default_branch, "ssh_url_to_repo": "git@gitlab.example.com:acme/platform/api.git",
            "http_url_to_repo": f"{WEB}.git", "web_url": WEB, "visibility": "private"}


def commit(sha: str = SHA, title: str = "feat: add the thing", parents: tuple[str, ...] = (OLD_SHA,)) -> dict:
    return {"id": sha, "short_id": sha[:8], "created_at": "2024-05-01T10:12:02.000+00:00",
            "parent_ids": list(parents), "title": title, "message": f"{title}\n\nBody of {title}.\n",
            "author_name": "Jane Doe", "author_email": "jane@example.com",
            "authored_date": "2024-05-01T10:12:02.000+00:00", "committer_name": "Jane Doe",
            "committer_email": "jane@example.com", "committed_date": "2024-05-01T10:12:02.000+00:00",
            "trailers": {}, "extended_trailers": {}, "web_url": f"{WEB}/-/commit/{sha}"}


def merge_request(iid: int = 7, *, state: str = "opened", sha: str = SHA, source_branch: str = "feature/thing",
                  target_branch: str = "main", title: str = "feat: add the thing", description: str = "Adds it.",
                  source_project_id: int = 42, target_project_id: int = 42) -> dict:
    return {"id": 1000 + iid, "iid": iid, "project_id": target_project_id, "title": title,
            "description": description, "state": state, "created_at": "2024-05-01T10:12:02.000Z",
            "updated_at": "2024-05-01T10:12:02.000Z", "merged_by": None, "merged_at": None,
            "closed_by": None, "closed_at": None, "target_branch": target_branch,
            "source_branch": source_branch, "user_notes_count": 1, "upvotes": 0, "downvotes": 0,
            "author": user(12, "jdoe", "Jane Doe"), "assignees": [], "reviewers": [],
            "source_project_id": source_project_id, "target_project_id": target_project_id, "labels": [],
            "draft": False, "work_in_progress": False, "milestone": None,
            "merge_when_pipeline_succeeds": False, "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable", "sha": sha, "merge_commit_sha": None,
            "squash_commit_sha": None, "discussion_locked": None, "should_remove_source_branch": None,
            "force_remove_source_branch": True, "reference": f"!{iid}",
            "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"acme/platform/api!{iid}"},
            "web_url": f"{WEB}/-/merge_requests/{iid}", "squash": False, "has_conflicts": False,
            "blocking_discussions_resolved": True}


def note(nid: int, body: str, *, system: bool = False, noteable_type: str = "MergeRequest", iid: int = 7) -> dict:
    return {"id": nid, "type": None, "body": body, "attachment": None, "author": user(99, "project_42_bot", "shipbot"),
            "created_at": "2024-05-01T10:12:02.000Z", "updated_at": "2024-05-01T10:12:02.000Z",
            "system": system, "noteable_id": 1000 + iid, "noteable_type": noteable_type, "project_id": 42,
            "resolvable": False, "confidential": False, "internal": False, "noteable_iid": iid,
            "commands_changes": {}}


def tag(name: str = "v1.2.0", sha: str = SHA, message: str = "") -> dict:
    return {"name": name, "message": message, "target": sha, "commit": commit(sha), "release": None,
            "protected": False, "created_at": None}


def release(tag_name: str = "v1.2.0", name: str = "v1.2.0", description: str = "## Features\n") -> dict:
    return {"tag_name": tag_name, "description": description, "name": name,
            "created_at": "2024-05-01T10:12:02.000Z", "released_at": "2024-05-01T10:12:02.000Z",
            "upcoming_release": False, "author": user(), "commit": commit(), "milestones": [],
            "commit_path": f"/acme/platform/api/-/commit/{SHA}", "tag_path": f"/acme/platform/api/-/tags/{tag_name}",
            "assets": {"count": 0, "sources": [], "links": []}, "evidences": [],
            "_links": {"self": f"{WEB}/-/releases/{tag_name}", "edit_url": f"{WEB}/-/releases/{tag_name}/edit"}}


def pipeline(pid: int, *, ref: str = "main", sha: str = SHA, status: str = "running", source: str = "push") -> dict:
    return {"id": pid, "iid": pid - 40, "project_id": 42, "status": status, "source": source, "ref": ref,
            "sha": sha, "name": None, "web_url": f"{WEB}/-/pipelines/{pid}",
            "created_at": "2024-05-01T10:12:02.000Z", "updated_at": "2024-05-01T10:13:02.000Z",
            "before_sha": "0000000000000000000000000000000000000000", "tag": False, "yaml_errors": None,
            "user": user(), "started_at": None, "finished_at": None, "committed_at": None,
            "duration": None, "queued_duration": 0.01, "coverage": None}


def job(jid: int, name: str, status: str, *, pipeline_id: int, stage: str = "test",
        allow_failure: bool = False, failure_reason: str | None = None) -> dict:
    data = {"id": jid, "name": name, "stage": stage, "status": status, "allow_failure": allow_failure,
            "created_at": "2024-05-01T10:12:02.000Z", "started_at": "2024-05-01T10:12:10.000Z",
            "finished_at": None if status in ("running", "created", "manual", "pending") else "2024-05-01T10:14:10.000Z",
            "erased_at": None, "duration": 120.0, "queued_duration": 0.01, "coverage": None,
            "archived": False, "source": "push", "ref": "main", "tag": False,
            "commit": {"id": SHA, "short_id": SHA[:8], "title": "feat: add the thing"},
            "pipeline": {"id": pipeline_id, "project_id": 42, "ref": "main", "sha": SHA, "status": "running"},
            "web_url": f"{WEB}/-/jobs/{jid}", "artifacts": [], "runner": None, "user": user(),
            "project": {"ci_job_token_scope_enabled": False}}
    if failure_reason:
        data["failure_reason"] = failure_reason
    return data


def report_summary(count: int = 3363, success: int = 3349, failed: int = 2, skipped: int = 12,
                        error: int = 0) -> dict:
    return {"total": {"time": 1904, "count": count, "success": success, "failed": failed, "skipped": skipped,
                      "error": error, "suite_error": None},
            "test_suites": [{"name": "test", "total_time": 1904, "total_count": count, "success_count": success,
                             "failed_count": failed, "skipped_count": skipped, "error_count": error,
                             "build_ids": [66004], "suite_error": None}]}


def member(uid: int, access_level: int, *, state: str = "active") -> dict:
    return {**user(uid, "jdoe", "Jane Doe"), "state": state, "access_level": access_level,
            "created_at": "2024-01-01T00:00:00.000Z", "expires_at": None, "membership_state": "active"}


def award(name: str) -> dict:
    return {"id": 4, "name": name, "user": user(99, "project_42_bot", "shipbot"),
            "created_at": "2024-05-01T10:12:02.000Z", "updated_at": "2024-05-01T10:12:02.000Z",
            "awardable_id": 301, "awardable_type": "Note"}
