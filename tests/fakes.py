"""The one in-memory Forge for handler unit tests (end-to-end tests use the real adapters and peers).

State is plain data a test arranges (`forge.repo("o/r").files["main", ".shipbot.yml"] = …`), and
every write is appended to `forge.calls` as (operation, arguments) so tests assert on what was done.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.forge.base import (Artifact, ChangeRequest, Check, Comment, Commit, Conflict, Deployment, Forge, NotFound,
                            Release, Tag, TestTotals)
from bot.sansio.events import RepoRef


@dataclass
class FakeRepo:
    default_branch: str = "main"
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (ref, path) -> text
    refs: dict[str, str] = field(default_factory=lambda: {"main": "a" * 40})  # branch/tag -> sha
    commits: list[Commit] = field(default_factory=list)  # newest first, on the default branch
    tags: list[Tag] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=dict)
    teams: dict[str, set[str]] = field(default_factory=dict)  # "org/team" -> logins
    change_requests: dict[int, ChangeRequest] = field(default_factory=dict)
    comments: dict[int, list[Comment]] = field(default_factory=dict)
    releases: dict[str, Release] = field(default_factory=dict)
    checks: dict[str, list[Check]] = field(default_factory=dict)  # sha -> checks
    totals: dict[int, TestTotals] = field(default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)
    artifacts: dict[int, list[Artifact]] = field(default_factory=dict)  # run id -> its artifacts
    artifact_files: dict[int | str, bytes] = field(default_factory=dict)  # artifact id -> zip bytes


class FakeForge(Forge):
    """Implements every Forge operation on FakeRepo data; `fail_next[op] = exc` makes one call raise."""

    def __init__(self, name: str = "github") -> None:
        self.name = name
        self.repos: dict[str, FakeRepo] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_next: dict[str, Exception] = {}
        self.deliveries: list = []  # HookDelivery records the App's deliveries API returns
        self._ids = itertools.count(1000)

    def repo(self, path: str) -> FakeRepo:
        return self.repos.setdefault(path, FakeRepo())

    def _get(self, repo: RepoRef, op: str) -> FakeRepo:
        if op in self.fail_next:
            raise self.fail_next.pop(op)
        if repo.path not in self.repos:
            raise NotFound(f"{repo.path} does not exist or shipbot cannot see it")
        return self.repos[repo.path]

    def _write(self, op: str, repo: RepoRef, **args: Any) -> FakeRepo:
        data = self._get(repo, op)
        self.calls.append((op, {"repo": repo.path, **args}))
        return data

    def writes(self, op: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == op]

    async def default_branch(self, repo):
        return self._get(repo, "default_branch").default_branch

    async def read_file(self, repo, path, ref=None):
        data = self._get(repo, "read_file")
        return data.files.get((ref or data.default_branch, path))

    async def resolve_ref(self, repo, ref):
        data = self._get(repo, "resolve_ref")
        if ref in data.refs:
            return data.refs[ref]
        if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref):
            return ref
        raise NotFound(f"there is no branch, tag or commit '{ref}' in {repo.path}")

    async def list_tags(self, repo):
        return list(self._get(repo, "list_tags").tags)

    async def compare(self, repo, base, head):
        commits = self._get(repo, "compare").commits
        shas = [c.sha for c in commits]
        head_sha = self.repos[repo.path].refs.get(head, head)
        if head_sha in shas:  # history is one line: head's history starts at head
            commits = commits[shas.index(head_sha):]
            shas = shas[shas.index(head_sha):]
        if base is None:
            return list(commits)
        base_sha = self.repos[repo.path].refs.get(base, base)
        return list(commits[: shas.index(base_sha)]) if base_sha in shas else list(commits)

    async def get_change_request(self, repo, number):
        data = self._get(repo, "get_change_request")
        if number not in data.change_requests:
            raise NotFound(f"{repo.path} has no pull request #{number}")
        return data.change_requests[number]

    async def change_requests_for_commit(self, repo, sha):
        data = self._get(repo, "change_requests_for_commit")
        return [cr for cr in data.change_requests.values() if cr.head_sha == sha and cr.state == "open"]

    async def find_change_request(self, repo, head_branch):
        data = self._get(repo, "find_change_request")
        return next((cr for cr in data.change_requests.values()
                     if cr.head_ref == head_branch and cr.state == "open"), None)

    async def checks_for_commit(self, repo, sha):
        return list(self._get(repo, "checks_for_commit").checks.get(sha, []))

    async def test_totals(self, repo, pipeline_id):
        return self._get(repo, "test_totals").totals.get(pipeline_id)

    async def permission(self, repo, login):
        return self._get(repo, "permission").permissions.get(login, "none")

    async def is_member(self, repo, group, login):
        # "github-team:org/ops" / "gitlab-group:org/ops" -> FakeRepo.teams["org/ops"]
        return login in self._get(repo, "is_member").teams.get(group.partition(":")[2], set())

    async def get_release(self, repo, tag):
        return self._get(repo, "get_release").releases.get(tag)

    async def find_comment(self, repo, number, marker, *, on_change_request=True):
        data = self._get(repo, "find_comment")
        return next((c for c in data.comments.get(number, []) if marker in c.body), None)

    async def create_comment(self, repo, number, body, *, on_change_request=True):
        data = self._write("create_comment", repo, number=number, body=body, on_change_request=on_change_request)
        comment = Comment(next(self._ids), body, "shipbot[bot]")
        data.comments.setdefault(number, []).append(comment)
        return comment

    async def upsert_comment(self, repo, number, marker, body, *, on_change_request=True):
        existing = await self.find_comment(repo, number, marker)
        if existing is None:
            data = self._write("upsert_comment", repo, number=number, marker=marker, body=body, created=True)
            comment = Comment(next(self._ids), body, "shipbot[bot]")
            data.comments.setdefault(number, []).append(comment)
            return comment
        data = self._write("upsert_comment", repo, number=number, marker=marker, body=body, created=False)
        updated = Comment(existing.id, body, existing.author)
        data.comments[number] = [updated if c.id == existing.id else c for c in data.comments[number]]
        return updated

    async def react(self, repo, number, comment_id, reaction, *, on_change_request=True):
        self._write("react", repo, number=number, comment_id=comment_id, reaction=reaction)

    async def create_tag(self, repo, name, sha, message):
        data = self._get(repo, "create_tag")
        if any(t.name == name for t in data.tags):
            raise Conflict(f"the tag {name} exists already in {repo.path}")
        self._write("create_tag", repo, name=name, sha=sha, message=message)
        tag = Tag(name, sha)
        data.tags.insert(0, tag)
        data.refs[name] = sha
        return tag

    async def create_release(self, repo, tag, name, body, *, prerelease=False, draft=False):
        data = self._get(repo, "create_release")
        if tag in data.releases:
            raise Conflict(f"a release for {tag} exists already")
        self._write("create_release", repo, tag=tag, name=name, body=body, prerelease=prerelease, draft=draft)
        release = Release(next(self._ids), tag, name, body, f"https://forge.example/{repo.path}/releases/{tag}",
                          draft, prerelease)
        data.releases[tag] = release
        return release

    async def update_release(self, repo, release, *, body, name=None, prerelease=None, draft=None):
        data = self._write("update_release", repo, tag=release.tag, body=body, name=name, prerelease=prerelease,
                           draft=draft)
        updated = Release(release.id, release.tag, name or release.name, body, release.url,
                          release.draft if draft is None else draft,
                          release.prerelease if prerelease is None else prerelease)
        data.releases[release.tag] = updated
        return updated

    async def upsert_change_request(self, repo, *, branch, base, title, body, files, message):
        data = self._write("upsert_change_request", repo, branch=branch, base=base, title=title, body=body,
                           files=dict(files), message=message)
        sha = f"{next(self._ids):040x}"
        data.refs[branch] = sha
        existing = await self.find_change_request(repo, branch)
        number = existing.number if existing else max(data.change_requests, default=0) + 1
        cr = ChangeRequest(number, title, branch, sha, base, "shipbot[bot]", None, "open", False, body)
        data.change_requests[number] = cr
        return cr

    async def rerun_failed(self, repo, check):
        self._write("rerun_failed", repo, check=check.name, run_id=check.run_id, suite_id=check.suite_id)

    async def create_deployment(self, repo, *, ref, environment, inputs, payload, method="deployment",
                                workflow=None, required_checks=True, job=None):
        data = self._write("create_deployment", repo, ref=ref, environment=environment, inputs=dict(inputs),
                           payload=dict(payload), method=method, workflow=workflow, required_checks=required_checks,
                           **({"job": job} if job else {}))
        deployment = Deployment(next(self._ids), environment, ref, inputs.get("sha"), None, dict(payload))
        data.deployments.append(deployment)
        return deployment

    async def set_deployment_status(self, repo, deployment, state, *, description="", log_url=None):
        self._write("set_deployment_status", repo, deployment=deployment.id, state=state, description=description,
                    log_url=log_url)

    async def list_artifacts(self, repo, run_id):
        return list(self._get(repo, "list_artifacts").artifacts.get(run_id, []))

    async def download_artifact(self, repo, artifact):
        data = self._get(repo, "download_artifact")
        if artifact.expired or artifact.id not in data.artifact_files:
            raise NotFound(f"artifact {artifact.name!r} of {repo.path} has expired")
        return data.artifact_files[artifact.id]

    async def list_deliveries(self, *, since=None, limit=500):
        return list(self.deliveries)

    async def redeliver(self, delivery_id):
        self.calls.append(("redeliver", {"delivery_id": delivery_id}))
