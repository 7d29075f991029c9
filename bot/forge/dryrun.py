"""Record forge writes instead of sending them; read through the real adapter when there is one."""
from __future__ import annotations

import itertools
from typing import Any

from bot.forge.base import (Artifact, ChangeRequest, Check, Comment, Deployment, Forge, NotFound, Release,
                            Tag)
from bot.sansio.events import RepoRef
from bot.writes import WriteLog


class DryRunForge(Forge):
    """Dry-run: writes are recorded and logged; reads go to `inner`, or get neutral answers offline.

    Offline (no credentials) there is nothing to read from, so permission checks assume write access
    and the default branch is `main`; `shipbot replay` says so in its output.
    """

    def __init__(self, name: str, inner: Forge | None = None, writes: WriteLog | None = None) -> None:
        self.name = name
        self.inner = inner
        self.writes = writes if writes is not None else WriteLog()
        self._ids = itertools.count(1)

    @property
    def offline(self) -> bool:
        return self.inner is None

    def _record(self, action: str, repo: RepoRef, **data: Any) -> int:
        self.writes.record(self.name, action, repo=str(repo), **data)
        return next(self._ids)

    async def default_branch(self, repo):
        return await self.inner.default_branch(repo) if self.inner else "main"

    async def read_file(self, repo, path, ref=None):
        return await self.inner.read_file(repo, path, ref) if self.inner else None

    async def resolve_ref(self, repo, ref):
        return await self.inner.resolve_ref(repo, ref) if self.inner else ref

    async def list_tags(self, repo):
        return await self.inner.list_tags(repo) if self.inner else []

    async def compare(self, repo, base, head):
        return await self.inner.compare(repo, base, head) if self.inner else []

    async def get_change_request(self, repo, number):
        if self.inner:
            return await self.inner.get_change_request(repo, number)
        raise NotFound(f"cannot read {repo}#{number} without credentials")

    async def change_requests_for_commit(self, repo, sha):
        return await self.inner.change_requests_for_commit(repo, sha) if self.inner else []

    async def find_change_request(self, repo, head_branch):
        return await self.inner.find_change_request(repo, head_branch) if self.inner else None

    async def checks_for_commit(self, repo, sha):
        return await self.inner.checks_for_commit(repo, sha) if self.inner else []

    async def test_totals(self, repo, pipeline_id):
        return await self.inner.test_totals(repo, pipeline_id) if self.inner else None

    async def permission(self, repo, login):
        return await self.inner.permission(repo, login) if self.inner else "write"

    async def is_member(self, repo, group, login):
        # Offline, like permission() above: assume yes, so a replay shows what would be sent.
        return await self.inner.is_member(repo, group, login) if self.inner else True

    async def get_release(self, repo, tag):
        return await self.inner.get_release(repo, tag) if self.inner else None

    async def find_comment(self, repo, number, marker, *, on_change_request=True):
        if not self.inner:
            return None
        return await self.inner.find_comment(repo, number, marker, on_change_request=on_change_request)

    async def list_annotations(self, repo, check: Check):
        return await self.inner.list_annotations(repo, check) if self.inner else list(check.annotations)

    async def list_artifacts(self, repo, run_id):
        return await self.inner.list_artifacts(repo, run_id) if self.inner else []

    async def download_artifact(self, repo, artifact: Artifact):
        if self.inner:
            return await self.inner.download_artifact(repo, artifact)
        raise NotFound(f"cannot download artifact {artifact.name!r} of {repo} without credentials")

    async def list_deliveries(self, *, since=None, limit=500):
        return await self.inner.list_deliveries(since=since, limit=limit) if self.inner else []

    async def create_comment(self, repo, number, body, *, on_change_request=True):
        return Comment(self._record("create_comment", repo, number=number, body=body,
                                    on_change_request=_only_if_issue(on_change_request)), body)

    async def upsert_comment(self, repo, number, marker, body, *, on_change_request=True):
        existing = await self.find_comment(repo, number, marker, on_change_request=on_change_request)
        action = "update_comment" if existing else "create_comment"
        cid = self._record(action, repo, number=number, marker=marker, body=body,
                           on_change_request=_only_if_issue(on_change_request))
        return Comment(existing.id if existing else cid, body)

    async def react(self, repo, number, comment_id, reaction, *, on_change_request=True):
        self._record("react", repo, number=number, comment_id=comment_id, reaction=reaction,
                     on_change_request=_only_if_issue(on_change_request))

    async def create_tag(self, repo, name, sha, message):
        self._record("create_tag", repo, name=name, sha=sha, message=message)
        return Tag(name, sha)

    async def create_release(self, repo, tag, name, body, *, prerelease=False, draft=False):
        rid = self._record("create_release", repo, tag=tag, name=name, body=body, prerelease=prerelease, draft=draft)
        return Release(rid, tag, name, body, None, draft, prerelease)

    async def update_release(self, repo, release, *, body, name=None, prerelease=None, draft=None):
        self._record("update_release", repo, release=release.id, tag=release.tag, body=body, name=name,
                     prerelease=prerelease, draft=draft)
        return Release(release.id, release.tag, name or release.name, body, release.url,
                       release.draft if draft is None else draft,
                       release.prerelease if prerelease is None else prerelease)

    async def upsert_change_request(self, repo, *, branch, base, title, body, files, message):
        number = self._record("upsert_change_request", repo, branch=branch, base=base, title=title, body=body,
                              files=sorted(files), message=message)
        return ChangeRequest(number, title, branch, "0" * 40, base, body=body)

    async def rerun_failed(self, repo, check: Check):
        self._record("rerun_failed", repo, check=check.name, run_id=check.run_id, suite_id=check.suite_id)

    async def create_deployment(self, repo, *, ref, environment, inputs, payload, method="deployment",
                                workflow=None, required_checks=True, job=None):
        did = self._record("create_deployment", repo, ref=ref, environment=environment, inputs=inputs,
                           payload=payload, method=method, workflow=workflow, required_checks=required_checks,
                           job=job)
        return Deployment(did, environment, ref, inputs.get("sha"), None, payload)

    async def set_deployment_status(self, repo, deployment: Deployment, state, *, description="", log_url=None):
        self._record("set_deployment_status", repo, deployment=deployment.id, state=state,
                     description=description, log_url=log_url)

    async def redeliver(self, delivery_id):
        self.writes.record(self.name, "redeliver", delivery_id=delivery_id)


def _only_if_issue(on_change_request: bool) -> bool | None:
    """Record `on_change_request=False` (an issue); the usual PR/MR case stays out of the write log."""
    return None if on_change_request else False
