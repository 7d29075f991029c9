"""Act on GitLab through python-gitlab, each call in a dedicated thread pool, never on the event loop."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import gitlab
import structlog

from bot.forge import gitlab_flows as flows
from bot.forge import gitlab_shapes as shapes
from bot.forge.base import (
    ChangeRequest,
    Check,
    Comment,
    Commit,
    Deployment,
    Forge,
    ForgeError,
    ForgeUnavailable,
    NotFound,
    Release,
    Tag,
    TestTotals,
)
from bot.forge.gitlab_calls import GitLabCalls, absent, notes_of, project_id, project_of
from bot.sansio.events import RepoRef
from bot.settings import GitLabSettings

log = structlog.get_logger("shipbot.forge.gitlab")
T = TypeVar("T")

# Why 8 threads: the worker runs up to SHIPBOT_WORKERS jobs at once (default 8) and a handler makes
# its GitLab calls one after another, so one thread per running job keeps every job's call in flight
# without queueing (pass max_workers=settings.worker_concurrency when that is raised). Each call holds
# its thread for one HTTP round trip (~0.1-0.5 s): 8 threads make at most ~30 requests/s, just under
# GitLab.com's 2,000 authenticated requests per minute per user
# (https://docs.gitlab.com/ee/user/gitlab_com/#gitlabcom-specific-rate-limits); more threads would
# mostly buy 429s. The HTTP connection pool is sized to match (gitlab_calls.HostBoundSession).
DEFAULT_WORKERS = 8


class GitLabForge(Forge):
    """The Forge on GitLab (GITLAB_URL, GITLAB_TOKEN): merge requests, notes, pipelines, tags, releases."""

    name = "gitlab"
    read_attempts = 3  # reads (idempotent GETs) only; a write is tried once and the job queue retries
    retry_backoff = 0.25  # seconds before the second attempt, doubled after
    manual_job_wait = 15.0  # seconds to wait for a new pipeline's manual deploy job to become playable

    def __init__(self, settings: GitLabSettings, *, max_workers: int = DEFAULT_WORKERS,
                 timeout: float = 30.0) -> None:
        if not settings.url or not settings.token:
            raise ValueError("GitLabForge needs GITLAB_URL and GITLAB_TOKEN")
        self.calls = GitLabCalls(settings.url, settings.token, timeout=timeout, pool_size=max_workers)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="shipbot-gitlab")

    async def close(self) -> None:
        """Stop the pool (queued calls are dropped) and close the HTTP connections."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.calls.close()

    async def _run(self, doing: str, fn: Callable[[gitlab.Gitlab], T], *, read: bool) -> T:
        loop = asyncio.get_running_loop()
        attempts = self.read_attempts if read else 1
        for attempt in range(1, attempts + 1):
            try:
                return await loop.run_in_executor(self._pool, self.calls.run, fn, doing)
            except ForgeUnavailable as exc:
                if attempt >= attempts:
                    raise
                log.info("gitlab_read_retry", doing=doing, attempt=attempt, error=exc.message)
                await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def run_read(self, doing: str, fn: Callable[[gitlab.Gitlab], T]) -> T:
        """Run `fn(gl)` in the pool; a GET, so retried a few times when GitLab is unavailable."""
        return await self._run(doing, fn, read=True)

    async def run_write(self, doing: str, fn: Callable[[gitlab.Gitlab], T]) -> T:
        """Run `fn(gl)` in the pool once: a write is never repeated here."""
        return await self._run(doing, fn, read=False)

    # Reads -----------------------------------------------------------------------------------
    async def default_branch(self, repo: RepoRef) -> str:
        data = await self.run_read(f"read {repo.path}",
                                   lambda gl: gl.projects.get(project_id(repo)).attributes)
        if not data.get("default_branch"):
            raise NotFound(f"{repo.path} has no default branch yet (the repository is empty).")
        return data["default_branch"]

    async def read_file(self, repo: RepoRef, path: str, ref: str | None = None) -> str | None:
        # Without `ref` GitLab reads HEAD, the default branch, which saves a request:
        # https://docs.gitlab.com/ee/api/repository_files.html#get-raw-file-from-repository
        def fetch(gl: gitlab.Gitlab) -> bytes | None:
            try:
                return project_of(gl, repo).files.raw(file_path=path, ref=ref)
            except gitlab.exceptions.GitlabGetError as exc:
                # "404 File Not Found" means no such file; "404 Commit Not Found" a ref that does not
                # exist, which is an error unless we asked for HEAD of an empty repository.
                if absent(exc, "File Not Found") or (ref is None and absent(exc, "Commit Not Found")):
                    return None
                raise

        raw = await self.run_read(f"read {path} at {ref or 'the default branch'} of {repo.path}", fetch)
        return None if raw is None else raw.decode("utf-8", "replace")

    async def resolve_ref(self, repo: RepoRef, ref: str) -> str:
        data = await self.run_read(f"find {ref} in {repo.path}",
                                   lambda gl: project_of(gl, repo).commits.get(ref).attributes)
        return data["id"]

    async def list_tags(self, repo: RepoRef) -> list[Tag]:
        data = await self.run_read(f"list the tags of {repo.path}", lambda gl: [
            t.attributes for t in project_of(gl, repo).tags.list(get_all=True)])
        return [shapes.tag(t) for t in data]

    async def compare(self, repo: RepoRef, base: str | None, head: str) -> list[Commit]:
        if base is None:  # GitLab lists a ref's history newest first already
            data = await self.run_read(f"list the commits of {head} in {repo.path}", lambda gl: [
                c.attributes for c in project_of(gl, repo).commits.list(ref_name=head, get_all=True)])
            return [shapes.commit(c) for c in data]
        result = await self.run_read(f"compare {base}...{head} in {repo.path}",
                                     lambda gl: project_of(gl, repo).repository_compare(base, head))
        # GitLab's compare lists commits oldest first (`git log --reverse base..head`); we want newest first:
        # https://docs.gitlab.com/ee/api/repositories.html#compare-branches-tags-or-commits
        return [shapes.commit(c) for c in reversed(result.get("commits") or [])]

    async def get_change_request(self, repo: RepoRef, number: int) -> ChangeRequest:
        data = await self.run_read(f"read merge request !{number} of {repo.path}",
                                   lambda gl: project_of(gl, repo).mergerequests.get(number).attributes)
        return shapes.change_request(data)

    async def change_requests_for_commit(self, repo: RepoRef, sha: str) -> list[ChangeRequest]:
        # GitLab lists every MR that contains the commit; keep the open ones whose head it is.
        # https://docs.gitlab.com/ee/api/commits.html#list-merge-requests-associated-with-a-commit
        data = await self.run_read(f"list the merge requests of {sha[:12]} in {repo.path}", lambda gl: list(
            project_of(gl, repo).commits.get(sha, lazy=True).merge_requests(get_all=True)))
        return [shapes.change_request(mr) for mr in data
                if mr.get("state") == "opened" and mr.get("sha") == sha]

    async def find_change_request(self, repo: RepoRef, head_branch: str) -> ChangeRequest | None:
        def fetch(gl: gitlab.Gitlab) -> list[dict]:
            mrs = project_of(gl, repo).mergerequests
            return [mr.attributes for mr in mrs.list(source_branch=head_branch, state="opened", get_all=True)]

        data = await self.run_read(f"find the open merge request from {head_branch} in {repo.path}", fetch)
        same = [mr for mr in data if shapes.same_project(mr)]
        return shapes.change_request(same[0]) if same else None

    async def checks_for_commit(self, repo: RepoRef, sha: str) -> list[Check]:
        def fetch(gl: gitlab.Gitlab) -> list[tuple[dict, int]]:
            project = project_of(gl, repo)
            pipelines = [p.attributes for p in project.pipelines.list(sha=sha, get_all=True)]
            jobs = []
            for pipeline in shapes.latest_per_ref(pipelines):
                listed = project.pipelines.get(pipeline["id"], lazy=True).jobs.list(get_all=True)
                jobs += [(job.attributes, int(pipeline["id"])) for job in listed]
            return jobs

        data = await self.run_read(f"list the pipelines of {sha[:12]} in {repo.path}", fetch)
        return [shapes.check(job, pipeline_id) for job, pipeline_id in data]

    async def test_totals(self, repo: RepoRef, pipeline_id: int) -> TestTotals | None:
        def fetch(gl: gitlab.Gitlab) -> dict:
            pipeline = project_of(gl, repo).pipelines.get(pipeline_id, lazy=True)
            return pipeline.test_report_summary.get().attributes

        data = await self.run_read(f"read the test report of pipeline {pipeline_id} in {repo.path}", fetch)
        return shapes.test_totals(data)

    async def permission(self, repo: RepoRef, login: str) -> str:
        def fetch(gl: gitlab.Gitlab) -> dict | None:
            users = gl.users.list(username=login, get_all=True)
            if not users:
                return None
            try:  # members/all includes those who inherit access from the project's groups
                return project_of(gl, repo).members_all.get(users[0].id).attributes
            except gitlab.exceptions.GitlabGetError as exc:
                if absent(exc):
                    return None
                raise

        member = await self.run_read(f"check {login}'s access to {repo.path}", fetch)
        return shapes.permission_for(member)

    async def is_member(self, repo: RepoRef, group: str, login: str) -> bool:
        """gitlab-group:path membership, inherited memberships included (members/all)."""
        kind, _, path = group.partition(":")
        if kind != "gitlab-group" or not path:
            return False

        def fetch(gl: gitlab.Gitlab) -> bool:
            users = gl.users.list(username=login, get_all=True)
            if not users:
                return False
            try:  # https://docs.gitlab.com/ee/api/members.html#get-a-member-of-a-group-or-project-including-inherited-and-invited-members
                gl.groups.get(path, lazy=True).members_all.get(users[0].id)
                return True
            except gitlab.exceptions.GitlabGetError as exc:
                if absent(exc):
                    return False
                raise

        return await self.run_read(f"check whether {login} is in {path}", fetch)

    async def get_release(self, repo: RepoRef, tag: str) -> Release | None:
        def fetch(gl: gitlab.Gitlab) -> dict | None:
            try:
                return project_of(gl, repo).releases.get(tag).attributes
            except gitlab.exceptions.GitlabGetError as exc:
                if absent(exc):
                    return None
                raise

        data = await self.run_read(f"read the release {tag} of {repo.path}", fetch)
        return shapes.release(data) if data else None

    async def find_comment(self, repo: RepoRef, number: int, marker: str, *,
                           on_change_request: bool = True) -> Comment | None:
        def fetch(gl: gitlab.Gitlab) -> dict | None:
            notes = notes_of(gl, repo, number, on_change_request)
            for note in notes.list(iterator=True, sort="asc", order_by="created_at"):
                if not note.attributes.get("system") and marker in (note.attributes.get("body") or ""):
                    return note.attributes
            return None

        data = await self.run_read(f"read the comments on {_where(repo, number, on_change_request)}", fetch)
        return shapes.comment(data) if data else None

    # Writes ----------------------------------------------------------------------------------
    async def create_comment(self, repo: RepoRef, number: int, body: str, *,
                             on_change_request: bool = True) -> Comment:
        data = await self.run_write(f"comment on {_where(repo, number, on_change_request)}", lambda gl: (
            notes_of(gl, repo, number, on_change_request).create({"body": body}).attributes))
        return shapes.comment(data)

    async def upsert_comment(self, repo: RepoRef, number: int, marker: str, body: str, *,
                             on_change_request: bool = True) -> Comment:
        existing = await self.find_comment(repo, number, marker, on_change_request=on_change_request)
        if existing is None:
            return await self.create_comment(repo, number, body, on_change_request=on_change_request)
        if existing.body == body:  # nothing changed: no write, no "edited" mark
            return existing
        def update(gl: gitlab.Gitlab) -> dict:
            return notes_of(gl, repo, number, on_change_request).update(existing.id, {"body": body})

        data = await self.run_write(f"update a comment on {_where(repo, number, on_change_request)}", update)
        return shapes.comment(data)

    async def react(self, repo: RepoRef, number: int, comment_id: int, reaction: str, *,
                    on_change_request: bool = True) -> None:
        emoji = shapes.emoji_for(reaction)

        def award(gl: gitlab.Gitlab) -> None:
            note = notes_of(gl, repo, number, on_change_request).get(comment_id, lazy=True)
            try:
                note.awardemojis.create({"name": emoji})
            except gitlab.exceptions.GitlabCreateError as exc:
                # A repeated award answers 404 "Award Emoji Name has already been taken": already done.
                # https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/award_emoji.rb
                if not absent(exc, "has already been taken"):
                    raise

        await self.run_write(f"react to a comment on {_where(repo, number, on_change_request)}", award)

    async def create_tag(self, repo: RepoRef, name: str, sha: str, message: str) -> Tag:
        data = {"tag_name": name, "ref": sha, **({"message": message} if message else {})}
        created = await self.run_write(f"create the tag {name} in {repo.path}",
                                       lambda gl: project_of(gl, repo).tags.create(data).attributes)
        return shapes.tag(created)

    async def create_release(self, repo: RepoRef, tag: str, name: str, body: str, *,
                             prerelease: bool = False, draft: bool = False) -> Release:
        _refuse_draft(draft)  # GitLab has no pre-releases either; `prerelease` is only a word in the notes
        data = {"tag_name": tag, "name": name, "description": body}
        created = await self.run_write(f"publish the release {tag} of {repo.path}",
                                       lambda gl: project_of(gl, repo).releases.create(data).attributes)
        return shapes.release(created)

    async def update_release(self, repo: RepoRef, release: Release, *, body: str, name: str | None = None,
                             prerelease: bool | None = None, draft: bool | None = None) -> Release:
        _refuse_draft(bool(draft))
        data = {"description": body, **({"name": name} if name is not None else {})}
        updated = await self.run_write(f"update the release {release.tag} of {repo.path}",
                                       lambda gl: project_of(gl, repo).releases.update(release.tag, data))
        return shapes.release(updated)

    async def upsert_change_request(self, repo: RepoRef, *, branch: str, base: str, title: str, body: str,
                                    files: dict[str, str], message: str) -> ChangeRequest:
        return await flows.upsert_change_request(self, repo, branch=branch, base=base, title=title, body=body,
                                                 files=files, message=message)

    async def rerun_failed(self, repo: RepoRef, check: Check) -> None:
        # Retrying a pipeline re-runs only its failed and canceled jobs:
        # https://docs.gitlab.com/ee/api/pipelines.html#retry-jobs-in-a-pipeline
        if check.suite_id is not None:
            await self.run_write(f"retry pipeline {check.suite_id} of {repo.path}", lambda gl: (
                project_of(gl, repo).pipelines.get(check.suite_id, lazy=True).retry()))
        else:
            await self.run_write(f"retry job {check.name} of {repo.path}", lambda gl: (
                project_of(gl, repo).jobs.get(check.id, lazy=True).retry()))

    async def create_deployment(self, repo: RepoRef, *, ref: str, environment: str, inputs: dict[str, str],
                                payload: dict[str, Any], method: str = "deployment",
                                workflow: str | None = None, required_checks: bool = True,
                                job: str | None = None) -> Deployment:
        """Deploy with a pipeline on `ref` (a branch or tag) whose variables are the inputs.

        On GitLab every method is a pipeline: GitLab's deployments are made by jobs with an
        `environment:`. With `workflow`, the pipeline's manual job of that name is also played with
        the same variables. `required_checks` is the handler's business (checks_for_commit).
        """
        return await flows.start_pipeline(self, repo, ref=ref, environment=environment, inputs=inputs,
                                    payload=payload, method=method, job_name=job or workflow)

    async def set_deployment_status(self, repo: RepoRef, deployment: Deployment, state: str, *,
                                    description: str = "", log_url: str | None = None) -> None:
        """Record a status on a GitLab deployment made through the API; a pipeline's own is left to GitLab."""
        await flows.set_status(self, repo, deployment, state)


def _where(repo: RepoRef, number: int, on_change_request: bool) -> str:
    return f"{'merge request !' if on_change_request else 'issue #'}{number} of {repo.path}"


def _refuse_draft(draft: bool) -> None:
    # Publishing when a draft was asked for would announce a release nobody reviewed.
    if draft:
        raise ForgeError("GitLab has no draft releases; publish the release without draft, or prepare "
                         "the notes in a merge request first.")
