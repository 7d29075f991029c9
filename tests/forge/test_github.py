"""Every GitHubForge operation against Prism serving GitHub's own OpenAPI description.

Prism's examples are not coherent with each other (a compare's commits, a PR's head sha), so these
tests assert what the requests looked like and that the answers parsed; the semantics that need
coherent answers are tested against the recording server in test_github_faults.py.
"""
from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.forge.base import (PERMISSIONS, Artifact, ChangeRequest, Check, Comment, Commit, Conflict, Deployment,
                            ForgeError, ForgeUnavailable, HookDelivery, NotFound, PermissionDenied, Release, Tag,
                            Unsupported)
from bot.sansio.events import RepoRef
from tests.peers import github_example

REPO = RepoRef("github", "octo/hello")
SHA = "a" * 40
MARKER = "<!-- shipbot:test-report -->"


class TestReads:
    async def test_default_branch(self, github_api):
        """The default branch comes from the repository object."""
        assert isinstance(await github_api.forge().default_branch(REPO), str)
        assert [(c.method, c.path) for c in github_api.calls] == [("GET", "/repos/octo/hello")]

    async def test_read_file_path_and_ref(self, github_api):
        """A nested path is one escaped segment and the ref a query parameter; the answer decodes or is refused."""
        try:
            text = await github_api.forge().read_file(REPO, ".github/shipbot.yml", "release/1.x")
        except ForgeError as exc:  # GitHub's example content is not valid base64
            assert "cannot decode" in exc.message
        else:
            assert isinstance(text, str)
        call = github_api.calls[0]
        assert call.path == "/repos/octo/hello/contents/.github%2Fshipbot.yml"
        assert call.query == {"ref": ["release/1.x"]}

    async def test_read_file_missing(self, github_api):
        """A 404 means the file does not exist: None, not an error."""
        github_api.prefer("GET", r".*/contents/.*", code=404)
        assert await github_api.forge().read_file(REPO, ".shipbot.yml") is None
        assert github_api.calls[0].query == {}

    async def test_resolve_ref(self, github_api):
        """A branch with a slash resolves through the commits API to a sha."""
        assert isinstance(await github_api.forge().resolve_ref(REPO, "feature/x"), str)
        assert github_api.calls[0].path == "/repos/octo/hello/commits/feature%2Fx"

    async def test_resolve_ref_missing(self, github_api):
        """An unknown ref is NotFound with a message naming it."""
        github_api.prefer("GET", r".*/commits/.*", code=404)
        with pytest.raises(NotFound, match="find nope in octo/hello"):
            await github_api.forge().resolve_ref(REPO, "nope")

    async def test_list_tags(self, github_api):
        """Tags are listed 100 a page."""
        tags = await github_api.forge().list_tags(REPO)
        assert all(isinstance(t, Tag) for t in tags)
        assert github_api.calls[0].query == {"per_page": ["100"]}

    async def test_compare(self, github_api):
        """Compare asks for base...head and pages explicitly."""
        commits = await github_api.forge().compare(REPO, "v1.0.0", "main")
        assert commits and all(isinstance(c, Commit) for c in commits)
        assert github_api.calls[0].path == "/repos/octo/hello/compare/v1.0.0...main"
        assert github_api.calls[0].query == {"per_page": ["100"]}

    async def test_compare_without_base(self, github_api):
        """With no base, the head's history is listed instead."""
        commits = await github_api.forge().compare(REPO, None, "main")
        assert all(isinstance(c, Commit) for c in commits)
        assert github_api.calls[0].path == "/repos/octo/hello/commits"
        assert github_api.calls[0].query == {"per_page": ["100"], "sha": ["main"]}

    async def test_get_change_request(self, github_api):
        """A pull request parses into a ChangeRequest."""
        assert isinstance(await github_api.forge().get_change_request(REPO, 7), ChangeRequest)
        assert github_api.calls[0].path == "/repos/octo/hello/pulls/7"

    async def test_get_change_request_missing(self, github_api):
        """A missing pull request is NotFound, in plain words."""
        github_api.prefer("GET", r".*/pulls/7", code=404)
        with pytest.raises(NotFound, match="read pull request #7 of octo/hello"):
            await github_api.forge().get_change_request(REPO, 7)

    async def test_change_requests_for_commit(self, github_api):
        """The commit's pulls are asked for first (the fork fallback is covered with the recorder)."""
        found = await github_api.forge().change_requests_for_commit(REPO, SHA)
        assert all(isinstance(c, ChangeRequest) for c in found)
        assert github_api.calls[0].path == f"/repos/octo/hello/commits/{SHA}/pulls"

    async def test_find_change_request(self, github_api):
        """The open pull request of a branch is filtered by owner:branch."""
        await github_api.forge().find_change_request(REPO, "release/next")
        assert github_api.calls[0].query == {"per_page": ["100"], "state": ["open"], "head": ["octo:release/next"]}

    async def test_checks_for_commit(self, github_api):
        """Check runs of a commit (earlier runs of re-run checks too, oldest first) parse into Checks."""
        def two_runs(answer: dict) -> dict:
            first, second = dict(answer["check_runs"][0], id=9), dict(answer["check_runs"][0], id=3)
            return dict(answer, check_runs=[first, second], total_count=2)

        github_api.edit_answer("GET", r".*/check-runs", two_runs)
        checks = await github_api.forge().checks_for_commit(REPO, SHA)
        assert [c.id for c in checks] == [3, 9] and all(isinstance(c, Check) and c.suite_id for c in checks)
        assert github_api.calls[0].path == f"/repos/octo/hello/commits/{SHA}/check-runs"
        assert github_api.calls[0].query["filter"] == ["all"]

    async def test_list_annotations(self, github_api):
        """Annotations come back with neutral keys."""
        found = await github_api.forge().list_annotations(REPO, Check(4, "lint", "completed", "failure"))
        assert found and set(found[0]) == {"path", "start_line", "end_line", "level", "title", "message"}
        assert github_api.calls[0].path == "/repos/octo/hello/check-runs/4/annotations"

    async def test_permission(self, github_api):
        """A collaborator's permission is one of the neutral words."""
        assert await github_api.forge().permission(REPO, "octocat") in PERMISSIONS
        assert github_api.calls[0].path == "/repos/octo/hello/collaborators/octocat/permission"

    async def test_permission_of_stranger(self, github_api):
        """A 404 for the user means no permission."""
        github_api.prefer("GET", r".*/permission", code=404)
        assert await github_api.forge().permission(REPO, "stranger") == "none"

    async def test_team_membership(self, github_api):
        """github-team:org/team membership is an active team membership; a 404 or another forge's group is not."""
        forge = github_api.forge()
        github_api.edit_answer("GET", r"/orgs/.*/memberships/.*", lambda answer: dict(answer, state="active"))
        assert await forge.is_member(REPO, "github-team:octo/ops", "octocat") is True
        assert github_api.calls[-1].path == "/orgs/octo/teams/ops/memberships/octocat"
        github_api.prefer("GET", r"/orgs/.*/memberships/.*", code=404)
        assert await forge.is_member(REPO, "github-team:octo/ops", "stranger") is False
        assert await forge.is_member(REPO, "gitlab-group:octo/ops", "octocat") is False

    async def test_get_release(self, github_api):
        """A release is found by its tag; a missing one is None."""
        forge = github_api.forge()
        assert isinstance(await forge.get_release(REPO, "v1.0.0"), Release)
        github_api.prefer("GET", r".*/releases/tags/.*", code=404)
        assert await forge.get_release(REPO, "v9.9.9") is None
        assert [c.path for c in github_api.calls] == ["/repos/octo/hello/releases/tags/v1.0.0",
                                                      "/repos/octo/hello/releases/tags/v9.9.9"]

    async def test_test_totals(self, github_api):
        """GitHub has no test report summary."""
        assert await github_api.forge().test_totals(REPO, 1) is None
        assert github_api.calls == []


class TestComments:
    async def test_find_comment_asks_who_we_are(self, github_api):
        """Only our own comments count, so the token's login is read once."""
        forge = github_api.forge()
        await forge.find_comment(REPO, 3, MARKER)
        await forge.find_comment(REPO, 3, MARKER)
        assert [c.path for c in github_api.calls] == ["/user"] + ["/repos/octo/hello/issues/3/comments"] * 2

    async def test_upsert_creates(self, github_api):
        """With no comment carrying the marker, one is created."""
        body = f"All green {MARKER}"
        comment = await github_api.forge().upsert_comment(REPO, 3, MARKER, body)
        assert isinstance(comment, Comment)
        post = github_api.requests("POST")[0]
        assert (post.path, post.body) == ("/repos/octo/hello/issues/3/comments", {"body": body})

    async def test_upsert_edits_ours(self, github_api):
        """Our comment carrying the marker is edited in place."""
        github_api.edit_answer("GET", "/user", lambda me: {**me, "login": "shipbot-test"})
        github_api.edit_answer("GET", r".*/issues/3/comments", lambda found: [
            {**found[0], "body": f"old {MARKER}", "user": {**found[0]["user"], "login": "shipbot-test"}}])
        comment = await github_api.forge().upsert_comment(REPO, 3, MARKER, f"new {MARKER}")
        listed, patch = github_api.calls[1:]
        assert (patch.method, patch.path) == ("PATCH", f"/repos/octo/hello/issues/comments/{listed.answer[0]['id']}")
        assert patch.body == {"body": f"new {MARKER}"} and isinstance(comment, Comment)

    async def test_create_comment(self, github_api):
        """A plain comment is posted to the issue or pull request."""
        assert isinstance(await github_api.forge().create_comment(REPO, 3, "hello"), Comment)
        assert github_api.calls[0].body == {"body": "hello"}

    async def test_react(self, github_api):
        """A reaction is added to the issue comment."""
        await github_api.forge().react(REPO, 3, 42, "rocket")
        call = github_api.calls[0]
        assert (call.method, call.path, call.body) == ("POST", "/repos/octo/hello/issues/comments/42/reactions",
                                                       {"content": "rocket"})

    async def test_react_unknown(self, github_api):
        """An emoji GitHub does not offer is refused before any request."""
        with pytest.raises(ForgeError, match="no reaction"):
            await github_api.forge().react(REPO, 3, 42, "tada")
        assert github_api.calls == []


class TestTagsAndReleases:
    async def test_create_tag(self, github_api):
        """An annotated tag is a tag object, then a ref to it."""
        assert await github_api.forge().create_tag(REPO, "v1.2.0", SHA, "Release 1.2.0") == Tag("v1.2.0", SHA)
        obj, ref = github_api.calls
        assert obj.body == {"tag": "v1.2.0", "message": "Release 1.2.0", "object": SHA, "type": "commit"}
        assert ref.path == "/repos/octo/hello/git/refs"
        assert ref.body == {"ref": "refs/tags/v1.2.0", "sha": obj.answer["sha"]}

    async def test_create_tag_taken(self, github_api):
        """A tag that exists at another commit is a Conflict naming both."""
        github_api.prefer("POST", r".*/git/refs", code=422)
        with pytest.raises(Conflict, match="v1.2.0 already exists in octo/hello and points at"):
            await github_api.forge().create_tag(REPO, "v1.2.0", SHA, "Release 1.2.0")
        assert github_api.calls[-1].path == "/repos/octo/hello/commits/tags%2Fv1.2.0"

    async def test_create_and_update_release(self, github_api):
        """A release is created from its tag and later edited by id."""
        forge = github_api.forge()
        release = await forge.create_release(REPO, "v1.2.0", "1.2.0", "notes", prerelease=True)
        await forge.update_release(REPO, release, body="new notes", draft=False)
        create, update = github_api.calls
        assert create.body == {"tag_name": "v1.2.0", "name": "1.2.0", "body": "notes", "draft": False,
                               "prerelease": True}
        assert (update.method, update.path) == ("PATCH", f"/repos/octo/hello/releases/{release.id}")
        assert update.body == {"body": "new notes", "draft": False}

    async def test_release_conflict(self, github_api):
        """A refused release is a Conflict carrying GitHub's message."""
        github_api.prefer("POST", r".*/releases", code=422)
        with pytest.raises(Conflict, match="GitHub refused to create release v1.2.0 in octo/hello"):
            await github_api.forge().create_release(REPO, "v1.2.0", "1.2.0", "notes")


class TestChangeRequests:
    async def test_upsert_change_request(self, github_api):
        """Blobs, a tree on the base's tree, one commit on the base, the branch moved, then the PR."""
        files = {"CHANGELOG.md": "# 1.2.0\n", "pyproject.toml": 'version = "1.2.0"\n'}
        pr = await github_api.forge().upsert_change_request(REPO, branch="shipbot/release", base="main",
                                                           title="Release 1.2.0", body="notes", files=files,
                                                           message="chore(release): 1.2.0")
        assert isinstance(pr, ChangeRequest)
        calls = github_api.calls
        steps = [(c.method, c.path.replace("/repos/octo/hello", "")) for c in calls]
        assert steps == [("GET", "/commits/main"), ("POST", "/git/blobs"), ("POST", "/git/blobs"),
                         ("POST", "/git/trees"), ("POST", "/git/commits"),
                         ("PATCH", "/git/refs/heads%2Fshipbot%2Frelease"), ("GET", "/pulls"), ("POST", "/pulls")]
        base = calls[0].answer
        assert [c.body for c in calls[1:3]] == [{"content": t, "encoding": "utf-8"} for t in files.values()]
        assert calls[3].body["base_tree"] == base["commit"]["tree"]["sha"]
        assert [e["path"] for e in calls[3].body["tree"]] == list(files)
        assert calls[4].body == {"message": "chore(release): 1.2.0", "tree": calls[3].answer["sha"],
                                 "parents": [base["sha"]]}
        assert calls[5].body == {"sha": calls[4].answer["sha"], "force": True}
        assert calls[7].body == {"title": "Release 1.2.0", "head": "shipbot/release", "base": "main", "body": "notes"}

    async def test_upsert_change_request_new_branch(self, github_api):
        """When the branch does not exist yet (422 on update) it is created."""
        github_api.prefer("PATCH", r".*/git/refs/.*", code=422)
        await github_api.forge().upsert_change_request(REPO, branch="shipbot/release", base="main", title="t",
                                                       body="b", files={"VERSION": "1.2.0\n"}, message="m")
        create = github_api.requests("POST", r".*/git/refs")[0]
        commit = github_api.requests("POST", r".*/git/commits")[0].answer
        assert create.body == {"ref": "refs/heads/shipbot/release", "sha": commit["sha"]}

    async def test_upsert_change_request_updates_open_pr(self, github_api):
        """An open PR from the branch is edited (title, body, base) instead of opening another."""
        def ours(found):
            # Prism may answer with a generated (possibly empty) list; fall back to GitHub's documented PR.
            pr = found[0] if found else github_example("pull_request", "opened")["pull_request"]
            repo = {**pr["base"]["repo"], "full_name": "octo/hello"}
            return [{**pr, "state": "open", "head": {**pr["head"], "ref": "shipbot/release", "repo": repo},
                     "base": {**pr["base"], "repo": repo}}]

        github_api.edit_answer("GET", r"/repos/octo/hello/pulls", ours)
        await github_api.forge().upsert_change_request(REPO, branch="shipbot/release", base="main", title="Release",
                                                       body="notes", files={"VERSION": "1\n"}, message="m")
        listed, update = github_api.calls[-2:]
        assert (update.method, update.path) == ("PATCH", f"/repos/octo/hello/pulls/{listed.answer[0]['number']}")
        assert update.body == {"title": "Release", "body": "notes", "base": "main"}
        assert github_api.requests("POST", r".*/pulls") == []

    async def test_rerun_failed_jobs(self, github_api):
        """An Actions check re-runs its run's failed jobs; another app's check re-requests its suite."""
        forge = github_api.forge()
        await forge.rerun_failed(REPO, Check(1, "test", "completed", "failure", suite_id=9, run_id=30))
        await forge.rerun_failed(REPO, Check(2, "ci/other", "completed", "failure", suite_id=9))
        assert [(c.method, c.path) for c in github_api.calls] == [
            ("POST", "/repos/octo/hello/actions/runs/30/rerun-failed-jobs"),
            ("POST", "/repos/octo/hello/check-suites/9/rerequest")]

    async def test_rerun_without_run(self, github_api):
        """A check with neither run nor suite cannot be re-run."""
        with pytest.raises(Unsupported):
            await github_api.forge().rerun_failed(REPO, Check(1, "legacy", "completed", "failure"))


class TestDeployments:
    INPUTS = {"environment": "staging", "ref": "main", "sha": SHA, "shipbot_request_id": "r-1",
              "requested_by": "github:octocat"}

    async def test_create_deployment(self, github_api):
        """A deployment carries inputs and payload merged, never auto-merges, and leaves checks to GitHub."""
        made = await github_api.forge().create_deployment(REPO, ref="main", environment="staging",
                                                          inputs=self.INPUTS, payload={"extra": 1})
        assert isinstance(made, Deployment) and made.payload == {**self.INPUTS, "extra": 1}
        body = github_api.calls[0].body
        assert body["payload"] == {**self.INPUTS, "extra": 1}
        assert (body["ref"], body["environment"], body["auto_merge"]) == ("main", "staging", False)
        assert "required_contexts" not in body

    async def test_create_deployment_forced(self, github_api):
        """Without required checks, required_contexts is an empty list."""
        await github_api.forge().create_deployment(REPO, ref="main", environment="staging", inputs={},
                                                   payload={}, required_checks=False)
        assert github_api.calls[0].body["required_contexts"] == []

    async def test_failing_checks(self, github_api):
        """A 409 says what to do about the checks."""
        github_api.prefer("POST", r".*/deployments", code=409)
        with pytest.raises(Conflict, match="Wait for the checks on main to pass"):
            await github_api.forge().create_deployment(REPO, ref="main", environment="prod", inputs={}, payload={})

    async def test_merged_branch(self, github_api):
        """A 202 (GitHub merged the default branch instead) is a Conflict, not a deployment."""
        github_api.prefer("POST", r".*/deployments", code=202)
        with pytest.raises(Conflict, match="GitHub did not deploy main to prod"):
            await github_api.forge().create_deployment(REPO, ref="main", environment="prod", inputs={}, payload={})

    async def test_workflow_dispatch(self, github_api):
        """method workflow dispatches the named workflow with the inputs and reads the run back."""
        made = await github_api.forge().create_deployment(REPO, ref="main", environment="staging", inputs=self.INPUTS,
                                                          payload={}, method="workflow", workflow="deploy.yml")
        call = github_api.calls[0]
        assert call.path == "/repos/octo/hello/actions/workflows/deploy.yml/dispatches"
        assert call.body == {"ref": "main", "inputs": self.INPUTS, "return_run_details": True}
        assert made.id == f"run:{call.answer['workflow_run_id']}" and made.url == call.answer["html_url"]

    async def test_workflow_without_name(self, github_api):
        """method workflow with no workflow named says which key to set."""
        with pytest.raises(ForgeError, match="deploy.workflow"):
            await github_api.forge().create_deployment(REPO, ref="main", environment="staging", inputs={},
                                                       payload={}, method="workflow")

    async def test_set_status(self, github_api):
        """Neutral words map to GitHub's states and the description fits GitHub's 140 characters."""
        await github_api.forge().set_deployment_status(REPO, Deployment(17, "staging", "main"), "failed",
                                                       description="x" * 200, log_url="https://ci.example/17")
        call = github_api.calls[0]
        assert call.path == "/repos/octo/hello/deployments/17/statuses"
        assert call.body == {"state": "failure", "description": "x" * 140, "log_url": "https://ci.example/17"}

    async def test_status_of_dispatch(self, github_api):
        """A workflow dispatch has no GitHub deployment to update; an id read back as text still is one."""
        forge = github_api.forge()
        for rid in ("dispatch:r-1", "run:30"):
            await forge.set_deployment_status(REPO, Deployment(rid, "staging", "main"), "success")
        await forge.set_deployment_status(REPO, Deployment("17", "staging", "main"), "success")
        assert [c.path for c in github_api.calls] == ["/repos/octo/hello/deployments/17/statuses"]


class TestArtifacts:
    async def test_list_artifacts(self, github_api):
        """A run's artifacts parse with their size and download URL."""
        found = await github_api.forge().list_artifacts(REPO, 30)
        assert found and all(isinstance(a, Artifact) and a.size is not None for a in found)
        assert github_api.calls[0].path == "/repos/octo/hello/actions/runs/30/artifacts"

    async def test_download_follows_redirect_without_token(self, github_api):
        """The zip's 302 is followed to the storage host, and the token stays with the API."""
        with pytest.raises(ForgeUnavailable):  # the harness keeps the storage host unreachable
            await github_api.forge().download_artifact(REPO, Artifact(11, "junit"))
        api = github_api.calls[0]
        assert (api.path, api.status) == ("/repos/octo/hello/actions/artifacts/11/zip", 302)
        assert api.headers["Authorization"] == "token ghs_prismtoken"
        assert len(github_api.elsewhere) == 1
        assert "Authorization" not in github_api.elsewhere[0].headers

    async def test_download_expired(self, github_api):
        """A 410 (the artifact expired) is NotFound."""
        github_api.prefer("GET", r".*/artifacts/11/zip", code=410)
        with pytest.raises(NotFound):
            await github_api.forge().download_artifact(REPO, Artifact(11, "junit"))

    async def test_download_from_elsewhere(self, github_api):
        """An artifact URL that is not on the API host is refused without a request."""
        with pytest.raises(ForgeError, match="refused to call https://evil.example"):
            await github_api.forge().download_artifact(REPO, Artifact(11, "junit", url="https://evil.example/a.zip"))
        assert github_api.calls == [] and github_api.elsewhere == []


class TestApp:
    async def test_installation_token_minting(self, github_api):
        """A real RS256 JWT finds the installation and mints its token, which then authorizes the call."""
        await github_api.forge(app=True).default_branch(REPO)
        lookup, mint, call = github_api.calls
        assert (lookup.path, mint.path) == ("/repos/octo/hello/installation",
                                            f"/app/installations/{lookup.answer['id']}/access_tokens")
        public = serialization.load_pem_private_key(github_api.private_key_pem.encode(), None).public_key()
        for request in (lookup, mint):
            scheme, token = request.headers["Authorization"].split(" ", 1)
            claims = jwt.decode(token, public, algorithms=["RS256"])
            assert scheme == "bearer" and claims["iss"] == "12345"
            assert claims["iat"] <= time.time() <= claims["exp"] <= time.time() + 600
        assert call.headers["Authorization"] == f"token {mint.answer['token']}"

    async def test_installation_cached(self, github_api):
        """The repository's installation is looked up once (token expiry is tested with the recorder)."""
        forge = github_api.forge(app=True)
        await forge.default_branch(REPO)
        await forge.permission(REPO, "octocat")
        assert len(github_api.requests("GET", r".*/installation")) == 1

    async def test_installation_from_event(self, github_api):
        """An installation id the event carried spares the lookup."""
        forge = github_api.forge(app=True, installation_id_for=lambda repo: 77)
        await forge.default_branch(REPO)
        assert [c.path for c in github_api.calls][:1] == ["/app/installations/77/access_tokens"]

    async def test_not_installed(self, github_api):
        """An App not installed on the repository says so in plain words."""
        github_api.prefer("GET", r".*/installation", code=404)
        with pytest.raises(PermissionDenied, match="App is not installed on octo/hello"):
            await github_api.forge(app=True).read_file(REPO, ".shipbot.yml")  # not mistaken for a missing file

    async def test_mint_refused(self, github_api):
        """A refused token mint is PermissionDenied and never shows the JWT."""
        github_api.prefer("POST", r".*/access_tokens", code=403)
        with pytest.raises(PermissionDenied) as caught:
            await github_api.forge(app=True).default_branch(REPO)
        jwt_sent = github_api.calls[-1].headers["Authorization"].split(" ", 1)[1]
        assert jwt_sent not in caught.value.message

    async def test_find_comment_as_app(self, github_api):
        """As an App, our comments are the ones by <slug>[bot]."""
        await github_api.forge(app=True).find_comment(REPO, 3, MARKER)
        assert "/app" in [c.path for c in github_api.calls]
        assert github_api.requests("GET", "/app")[0].headers["Authorization"].startswith("bearer ")

    async def test_list_deliveries(self, github_api):
        """Hook deliveries are listed with the App's JWT."""
        found = await github_api.forge(app=True).list_deliveries()
        assert found and all(isinstance(d, HookDelivery) for d in found)
        call = github_api.calls[0]
        assert (call.path, call.query) == ("/app/hook/deliveries", {"per_page": ["100"]})
        assert call.headers["Authorization"].startswith("bearer ")

    async def test_redeliver(self, github_api):
        """A delivery is redelivered with the App's JWT."""
        await github_api.forge(app=True).redeliver(12345678)
        call = github_api.calls[0]
        assert (call.method, call.path, call.status) == ("POST", "/app/hook/deliveries/12345678/attempts", 202)

    async def test_deliveries_need_app(self, github_api):
        """With a plain token, hook deliveries are out of reach and the message says why."""
        with pytest.raises(PermissionDenied, match="GITHUB_APP_ID"):
            await github_api.forge().list_deliveries()
