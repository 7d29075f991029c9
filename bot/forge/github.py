"""Implement the Forge interface on GitHub's REST API (gidgethub on the process's aiohttp session)."""
from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.forge import github_models as gm
from bot.forge.base import Check, Conflict, Deployment, Forge, ForgeError, NotFound, Tag, Unsupported
from bot.forge.github_client import GitHubClient, InstallationLookup, check_api_url
from bot.forge.github_models import q
from bot.sansio.events import RepoRef
from bot.settings import GitHubSettings


class GitHubForge(Forge):
    """GitHub for the features: App (many installations) or token auth, behind the neutral interface."""

    name = "github"

    def __init__(self, session: aiohttp.ClientSession, settings: GitHubSettings, *,
                 installation_id_for: InstallationLookup | None = None, cache_size: int = 512,
                 timeout: float = 30.0, retry_delays: tuple[float, ...] = (0.5, 2.0),
                 max_artifact_bytes: int = 200 * 1024 * 1024) -> None:
        self.client = GitHubClient(session, settings, installation_id_for=installation_id_for,
                                   cache_size=cache_size, timeout=timeout, retry_delays=retry_delays)
        self.max_artifact_bytes = max_artifact_bytes

    def remember_installation(self, repo: RepoRef, installation_id: int) -> None:
        """Note the installation an event carried, so no lookup is needed for this repository."""
        self.client.remember_installation(repo, installation_id)

    # Plumbing ------------------------------------------------------------------------------------
    def _path(self, repo: RepoRef, tail: str = "", **query: Any) -> str:
        if repo.forge != "github" or repo.path.count("/") != 1:
            raise ForgeError(f"{repo} is not a GitHub repository (owner/name)")
        owner, name = repo.path.split("/")
        params = urlencode({k: v for k, v in query.items() if v is not None})
        return f"/repos/{q(owner)}/{q(name)}{tail}" + (f"?{params}" if params else "")

    async def _get(self, repo: RepoRef, tail: str, what: str | None = None, **query: Any) -> Any:
        what = what or f"read {tail.lstrip('/')} of {repo.path}"
        return await self.client.call("GET", self._path(repo, tail, **query), repo, what=what)

    async def _list(self, repo: RepoRef, tail: str, key: str | None = None, until=None, **query: Any) -> list:
        path, what = self._path(repo, tail, per_page=100, **query), f"list {tail.lstrip('/')} of {repo.path}"
        return await self.client.call("GET", path, repo, pages={"key": key, "until": until}, what=what)

    async def _send(self, method: str, repo: RepoRef, tail: str, data: Any, what: str | None = None) -> Any:
        what = what or f"write to {tail.lstrip('/')} of {repo.path}"
        return await self.client.call(method, self._path(repo, tail), repo, data=data, what=what)

    # Reads ---------------------------------------------------------------------------------------
    async def default_branch(self, repo):
        return (await self._get(repo, "", f"read repository {repo.path}"))["default_branch"]

    async def read_file(self, repo, path, ref=None):
        what = f"read {path} in {repo.path}" + (f" at {ref}" if ref else "")
        try:
            data = await self._get(repo, f"/contents/{q(path.lstrip('/'))}", what, ref=ref)
        except NotFound:
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            return None  # a directory, symlink or submodule is not a file to read
        try:
            if data.get("encoding") != "base64":
                # Files over 1 MB come without content: read their blob instead.
                # https://docs.github.com/en/rest/repos/contents#get-repository-content
                data = await self._get(repo, f"/git/blobs/{q(data['sha'])}", what)
            return base64.b64decode(data.get("content") or "").decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            raise ForgeError(f"GitHub sent {path} of {repo.path} in a form shipbot cannot decode") from None

    async def resolve_ref(self, repo, ref):
        return (await self._get(repo, f"/commits/{q(ref)}", f"find {ref} in {repo.path}"))["sha"]

    async def list_tags(self, repo):
        return [Tag(t["name"], t["commit"]["sha"]) for t in await self._list(repo, "/tags")]

    async def compare(self, repo, base, head):
        if base is None:
            return [gm.commit(c) for c in await self._list(repo, "/commits", sha=head)]
        # Compare lists oldest first and pages only with per_page set:
        # https://docs.github.com/en/rest/commits/commits#compare-two-commits
        found = await self._list(repo, f"/compare/{q(base)}...{q(head)}", key="commits")
        return [gm.commit(c) for c in reversed(found)]

    async def get_change_request(self, repo, number):
        return gm.pull(await self._get(repo, f"/pulls/{int(number)}", f"read pull request #{number} of {repo.path}"))

    async def change_requests_for_commit(self, repo, sha):
        pulls = await self._list(repo, f"/commits/{q(sha)}/pulls")
        if not pulls:
            # That list misses pull requests from forks (their commits live in the fork): fall back to
            # the open pull requests whose head is this commit.
            pulls = await self._list(repo, "/pulls", state="open")
        return [gm.pull(p) for p in pulls if p.get("state") == "open" and (p.get("head") or {}).get("sha") == sha]

    async def find_change_request(self, repo, head_branch):
        owner = repo.path.split("/")[0]
        pulls = await self._list(repo, "/pulls", state="open", head=f"{owner}:{head_branch}")
        for pull in map(gm.pull, pulls):
            if pull.head_ref == head_branch and not pull.from_fork:
                return pull
        return None

    async def checks_for_commit(self, repo, sha):
        # filter=all keeps earlier runs of a re-run check, so a test that failed and then passed
        # can be called flaky; oldest first, so the newest run of each name is the last one seen.
        # https://docs.github.com/en/rest/checks/runs#list-check-runs-for-a-git-reference
        runs = await self._list(repo, f"/commits/{q(sha)}/check-runs", key="check_runs", filter="all")
        runs.sort(key=lambda run: int(run.get("id") or 0))
        checks = []
        for run in runs:
            check = gm.check(run)
            if check.conclusion in gm.FAILED and ((run.get("output") or {}).get("annotations_count") or 0):
                check = Check(**{**check.__dict__, "annotations": tuple(await self.list_annotations(repo, check))})
            checks.append(check)
        return checks

    async def list_annotations(self, repo, check):
        return [gm.annotation(a) for a in await self._list(repo, f"/check-runs/{int(check.id)}/annotations")]

    async def test_totals(self, repo, pipeline_id):
        return None  # GitHub has no test report summary; the test-report feature reads JUnit artifacts

    async def permission(self, repo, login):
        try:
            return gm.permission(await self._get(repo, f"/collaborators/{q(login)}/permission",
                                                 f"check {login}'s access to {repo.path}"))
        except NotFound:
            return "none"

    async def is_member(self, repo, group, login):
        """github-team:org/team membership, through the repository's installation (or token)."""
        kind, _, path = group.partition(":")
        org, _, team = path.partition("/")
        if kind != "github-team" or not team:
            return False
        # https://docs.github.com/en/rest/teams/members#get-team-membership-for-a-user
        url = f"/orgs/{q(org)}/teams/{q(team)}/memberships/{q(login)}"
        try:
            data = await self.client.call("GET", url, repo, what=f"check whether {login} is in {path}")
        except NotFound:
            return False
        return isinstance(data, dict) and data.get("state") == "active"

    async def get_release(self, repo, tag):
        try:
            return gm.release(await self._get(repo, f"/releases/tags/{q(tag)}"))
        except NotFound:
            return None

    async def find_comment(self, repo, number, marker, *, on_change_request=True):
        me = await self.client.login()

        def ours(c: dict) -> bool:
            return marker in (c.get("body") or "") and me in (None, (c.get("user") or {}).get("login"))

        found = await self._list(repo, f"/issues/{int(number)}/comments", until=ours)
        return next((gm.comment(c) for c in found if ours(c)), None)

    # Writes (on_change_request changes nothing: GitHub numbers PRs and issues in one sequence) ----
    async def create_comment(self, repo, number, body, *, on_change_request=True):
        return gm.comment(await self._send("POST", repo, f"/issues/{int(number)}/comments", {"body": body},
                                         f"comment on #{number} of {repo.path}"))

    async def upsert_comment(self, repo, number, marker, body, *, on_change_request=True):
        existing = await self.find_comment(repo, number, marker)
        if existing:
            try:
                return gm.comment(await self._send("PATCH", repo, f"/issues/comments/{existing.id}", {"body": body},
                                                 f"edit comment {existing.id} on #{number} of {repo.path}"))
            except NotFound:
                pass  # deleted since we found it: write it again
        return await self.create_comment(repo, number, body)

    async def react(self, repo, number, comment_id, reaction, *, on_change_request=True):
        what = f"react to comment {comment_id} on #{number} of {repo.path}"
        await self._send("POST", repo, f"/issues/comments/{int(comment_id)}/reactions",
                         {"content": gm.reaction(reaction)}, what)

    async def create_tag(self, repo, name, sha, message):
        # An annotated tag is a tag object plus a ref: https://docs.github.com/en/rest/git/tags
        obj = await self._send("POST", repo, "/git/tags", {"tag": name, "message": message, "object": sha,
                                                           "type": "commit"}, f"create tag {name} in {repo.path}")
        try:
            await self._send("POST", repo, "/git/refs", {"ref": f"refs/tags/{name}", "sha": obj["sha"]},
                             f"create tag {name} in {repo.path}")
        except Conflict:
            # A retried job may have made it already; that is fine when it points at the same commit.
            existing = await self.resolve_ref(repo, f"tags/{name}")
            if existing != sha:
                raise Conflict(f"tag {name} already exists in {repo.path} and points at {existing[:7]}, "
                               f"not {sha[:7]}", status=422) from None
        return Tag(name, sha)

    async def create_release(self, repo, tag, name, body, *, prerelease=False, draft=False):
        data = {"tag_name": tag, "name": name, "body": body, "draft": draft, "prerelease": prerelease}
        return gm.release(await self._send("POST", repo, "/releases", data, f"create release {tag} in {repo.path}"))

    async def update_release(self, repo, release, *, body, name=None, prerelease=None, draft=None):
        data = {k: v for k, v in {"body": body, "name": name, "prerelease": prerelease, "draft": draft}.items()
                if v is not None}
        return gm.release(await self._send("PATCH", repo, f"/releases/{int(release.id)}", data,
                                         f"update release {release.tag} in {repo.path}"))

    async def upsert_change_request(self, repo, *, branch, base, title, body, files, message):
        # One commit on top of base via the git data API: https://docs.github.com/en/rest/git
        what = f"prepare branch {branch} in {repo.path}"
        parent = await self._get(repo, f"/commits/{q(base)}", f"find {base} in {repo.path}")
        entries = []
        for path, text in files.items():
            blob = await self._send("POST", repo, "/git/blobs", {"content": text, "encoding": "utf-8"}, what)
            entries.append({"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]})
        tree = await self._send("POST", repo, "/git/trees", {"base_tree": parent["commit"]["tree"]["sha"],
                                                             "tree": entries}, what)
        commit = await self._send("POST", repo, "/git/commits", {"message": message, "tree": tree["sha"],
                                                                 "parents": [parent["sha"]]}, what)
        try:
            await self._send("PATCH", repo, f"/git/refs/{q('heads/' + branch)}",
                             {"sha": commit["sha"], "force": True}, what)
        except (NotFound, Conflict):  # GitHub answers 422 "Reference does not exist" for a new branch
            await self._send("POST", repo, "/git/refs", {"ref": f"refs/heads/{branch}", "sha": commit["sha"]}, what)
        pull = await self.find_change_request(repo, branch)
        if pull:
            data = {"title": title, "body": body, "base": base}
            return gm.pull(await self._send("PATCH", repo, f"/pulls/{pull.number}", data,
                                          f"update pull request #{pull.number} of {repo.path}"))
        data = {"title": title, "head": branch, "base": base, "body": body}
        return gm.pull(await self._send("POST", repo, "/pulls", data,
                                        f"open a pull request from {branch} in {repo.path}"))

    async def rerun_failed(self, repo, check):
        if check.run_id:
            # https://docs.github.com/en/rest/actions/workflow-runs#re-run-failed-jobs-from-a-workflow-run
            await self._send("POST", repo, f"/actions/runs/{int(check.run_id)}/rerun-failed-jobs", {},
                             f"re-run the failed jobs of {check.name} in {repo.path}")
        elif check.suite_id:
            # Other apps' checks: ask for the whole suite again.
            # https://docs.github.com/en/rest/checks/suites#rerequest-a-check-suite
            await self._send("POST", repo, f"/check-suites/{int(check.suite_id)}/rerequest", b"",
                             f"re-run {check.name} in {repo.path}")
        else:
            raise Unsupported(f"GitHub cannot re-run {check.name}: it belongs to no workflow run or check suite")

    async def create_deployment(self, repo, *, ref, environment, inputs, payload, method="deployment",
                                workflow=None, required_checks=True, job=None):  # job: GitLab only
        merged = {**inputs, **payload}
        if method == "workflow":
            return await self._dispatch(repo, ref, environment, inputs, merged, workflow)
        if method != "deployment":
            raise Unsupported(f"GitHub has no deploy method {method!r}; use deployment or workflow")
        # https://docs.github.com/en/rest/deployments/deployments#create-a-deployment
        data = {"ref": ref, "environment": environment, "payload": merged, "auto_merge": False,
                "description": f"shipbot: deploy {ref} to {environment}"[:140]}
        if not required_checks:
            data["required_contexts"] = []  # skip the commit status check; omitted, GitHub checks them all
        try:
            made = await self._send("POST", repo, "/deployments", data,
                                    f"deploy {ref} to {environment} in {repo.path}")
        except Conflict as exc:
            raise Conflict(f"{exc.message}. Wait for the checks on {ref} to pass, or deploy with --force if "
                           "you may", status=exc.status) from None
        if not isinstance(made, dict) or "id" not in made:  # 202: GitHub merged the default branch instead
            raise Conflict(f"GitHub did not deploy {ref} to {environment}: {(made or {}).get('message', '')}; "
                           f"ask again once {ref} is up to date", status=202)
        return Deployment(made["id"], made.get("environment") or environment, made.get("ref") or ref,
                          made.get("sha"), made.get("url"), merged)

    async def _dispatch(self, repo, ref, environment, inputs, merged, workflow):
        if not workflow:
            raise ForgeError("deploy.method is workflow but .shipbot.yml names no deploy.workflow")
        # https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
        data: dict[str, Any] = {"ref": ref, "inputs": inputs}
        if not self.client.base_url.endswith("/api/v3"):
            data["return_run_details"] = True  # github.com answers with the run; Enterprise Server does not
        made = await self._send("POST", repo, f"/actions/workflows/{q(workflow)}/dispatches", data,
                                f"start workflow {workflow} on {ref} in {repo.path}")
        # Not a GitHub deployment: a string id ("run:<workflow run id>") keeps it apart from one.
        run = made if isinstance(made, dict) else {}
        rid = f"run:{run['workflow_run_id']}" if run.get("workflow_run_id") else \
            f"dispatch:{inputs.get('shipbot_request_id', '')}"
        return Deployment(rid, environment, ref, inputs.get("sha"), run.get("html_url"), merged)

    async def set_deployment_status(self, repo, deployment, state, *, description="", log_url=None):
        if not str(deployment.id).isdigit():
            return  # a workflow dispatch ("run:…", "dispatch:…") has no GitHub deployment: its run reports itself
        state = gm.deployment_state(state)
        data = {"state": state, "description": description[:140]} | ({"log_url": log_url} if log_url else {})
        await self._send("POST", repo, f"/deployments/{deployment.id}/statuses", data,
                         f"mark deployment {deployment.id} {state} in {repo.path}")

    # Artifacts and hook deliveries -------------------------------------------------------------------
    async def list_artifacts(self, repo, run_id):
        return [gm.artifact(a, run_id) for a in await self._list(repo, f"/actions/runs/{int(run_id)}/artifacts",
                                                                 key="artifacts")]

    async def download_artifact(self, repo, artifact):
        if artifact.expired:
            raise NotFound(f"artifact {artifact.name!r} of {repo.path} has expired")
        if artifact.size and artifact.size > self.max_artifact_bytes:
            raise ForgeError(f"artifact {artifact.name!r} is {artifact.size} bytes, more than shipbot reads")
        path = self._path(repo, f"/actions/artifacts/{int(artifact.id)}/zip")
        if artifact.url:  # a payload's URL: only ever on the configured API host
            path = check_api_url(artifact.url, self.client.base_url)
        return await self.client.call("GET", path, repo, download=self.max_artifact_bytes,
                                      what=f"download artifact {artifact.name!r} of {repo.path}")

    async def list_deliveries(self, *, since=None, limit=500):
        # https://docs.github.com/en/rest/apps/webhooks#list-deliveries-for-an-app-webhook (newest first)
        def older(d: dict) -> bool:
            return bool(since and gm.when(d["delivered_at"]) < gm.when(since))

        found = await self.client.call("GET", "/app/hook/deliveries?per_page=100", None, app=True,
                                       pages={"key": None, "until": older, "limit": limit},
                                       what="list the App's webhook deliveries")
        return [gm.delivery(d) for d in found if not older(d)]

    async def redeliver(self, delivery_id):
        # https://docs.github.com/en/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook
        await self.client.call("POST", f"/app/hook/deliveries/{int(delivery_id)}/attempts", None, app=True,
                               what=f"redeliver webhook delivery {delivery_id}")

