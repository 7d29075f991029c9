"""GitHubForge against the scripted recording server: faults, auth, rate limits, ETags, paging, semantics."""
from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.forge.base import (Artifact, Check, Conflict, ForgeError, ForgeUnavailable, PermissionDenied,
                            RateLimited)
from bot.forge.github import GitHubForge
from bot.forge.github_client import check_api_url
from bot.settings import GitHubSettings, Secret
from bot.sansio.events import RepoRef
from tests.recorder import RecordingServer

REPO = RepoRef("github", "octo/hello")
OTHER = RepoRef("github", "octo/other")
TOKEN = "ghp_plaintokenvalue"
SHA = "b" * 40


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def make(session, recorder, github_app_key):
    """Build a GitHubForge on the recorder: `make()` with a token, `make(app=True)` as an App."""

    def build(*, app: bool = False, api_url: str | None = None, **kwargs) -> GitHubForge:
        creds = {"app_id": 42, "private_key": Secret(github_app_key)} if app else {"token": Secret(TOKEN)}
        kwargs.setdefault("retry_delays", (0.0, 0.0))
        return GitHubForge(session, GitHubSettings(api_url=api_url or recorder.url, **creds), **kwargs)

    return build


def expires_in(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def app_routes(recorder: RecordingServer, *, installation: int = 1, lifetime: float = 3600) -> None:
    """The App side of GitHub: installation lookup and token minting (token-<installation>-<n>)."""
    minted = {"n": 0}

    def mint(req, match):
        minted["n"] += 1
        return {"token": f"ghs_token-{match[1]}-{minted['n']}", "expires_at": expires_in(lifetime)}

    recorder.on("GET", r"/repos/[^/]+/[^/]+/installation", json={"id": installation})
    recorder.on("POST", r"/app/installations/(\d+)/access_tokens", status=201, respond=mint)


class TestRetries:
    async def test_502_twice_then_200(self, make, recorder):
        """A GET that fails twice with 502 succeeds on the third try."""
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "main"})
        recorder.on("GET", "/repos/octo/hello", status=502, json={"message": "Bad gateway"}, times=2)
        assert await make().default_branch(REPO) == "main"
        assert len(recorder.calls("GET", "/repos/octo/hello")) == 3

    async def test_502_thrice(self, make, recorder):
        """A GET that keeps failing is ForgeUnavailable, after a bounded number of tries."""
        recorder.on("GET", "/repos/octo/hello", status=502, json={"message": "Bad gateway"})
        with pytest.raises(ForgeUnavailable, match="shipbot will try again") as caught:
            await make().default_branch(REPO)
        assert len(recorder.requests) == 3 and TOKEN not in caught.value.message

    async def test_writes_not_retried(self, make, recorder):
        """A failed POST is not repeated in the adapter (the job queue retries it)."""
        recorder.on("POST", r".*/issues/1/comments", status=503, json={"message": "unavailable"})
        with pytest.raises(ForgeUnavailable):
            await make().create_comment(REPO, 1, "hi")
        assert len(recorder.requests) == 1

    async def test_timeout_then_answer(self, make, recorder):
        """A GET that times out once is tried again."""
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "main"})
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "late"}, delay=1.0, times=1)
        assert await make(timeout=0.5).default_branch(REPO) == "main"

    async def test_timeouts(self, make, recorder):
        """A GET that never answers in time is ForgeUnavailable saying so."""
        recorder.on("GET", "/repos/octo/hello", json={}, delay=0.6)
        with pytest.raises(ForgeUnavailable, match="did not answer within 0.2 s"):
            await make(timeout=0.2, retry_delays=(0.0,)).default_branch(REPO)
        assert len(recorder.requests) == 2

    async def test_connection_refused(self, make, recorder):
        """A refused connection is ForgeUnavailable naming the host, not the token."""
        url = recorder.url
        await recorder.stop()
        with pytest.raises(ForgeUnavailable, match="could not be reached") as caught:
            await make(api_url=url).default_branch(REPO)
        assert url in caught.value.message and TOKEN not in caught.value.message


class TestRateLimits:
    async def test_primary(self, make, recorder):
        """x-ratelimit-remaining 0 waits until the reset, and later calls wait without asking GitHub."""
        reset = int(time.time()) + 120
        recorder.on("GET", "/repos/octo/hello", status=403, json={"message": "API rate limit exceeded"},
                    headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                             "x-ratelimit-reset": str(reset)})
        forge = make()
        with pytest.raises(RateLimited) as caught:
            await forge.default_branch(REPO)
        assert 110 < caught.value.retry_after <= 121
        with pytest.raises(RateLimited):
            await forge.list_tags(REPO)
        assert len(recorder.requests) == 1

    async def test_secondary_retry_after(self, make, recorder):
        """A secondary limit's Retry-After is the wait."""
        recorder.on("POST", r".*/comments", status=403, headers={"retry-after": "30"},
                    json={"message": "You have exceeded a secondary rate limit. Please wait a few minutes."})
        with pytest.raises(RateLimited, match="slow down") as caught:
            await make().create_comment(REPO, 1, "hi")
        assert caught.value.retry_after == 30

    async def test_secondary_without_header(self, make, recorder):
        """A 429 without Retry-After waits a minute, as GitHub advises."""
        recorder.on("GET", "/repos/octo/hello", status=429, json={"message": "Too many requests"})
        with pytest.raises(RateLimited) as caught:
            await make().default_branch(REPO)
        assert caught.value.retry_after == 60

    async def test_plain_403(self, make, recorder):
        """A 403 that is no rate limit is PermissionDenied with GitHub's reason."""
        recorder.on("POST", r".*/comments", status=403, json={"message": "Resource not accessible by integration"})
        with pytest.raises(PermissionDenied, match="Resource not accessible by integration"):
            await make().create_comment(REPO, 1, "hi")


class TestErrors:
    @pytest.mark.parametrize("status, kind", [(400, ForgeError), (401, PermissionDenied), (403, PermissionDenied),
                                              (404, ForgeError), (409, Conflict), (410, ForgeError),
                                              (422, Conflict), (500, ForgeUnavailable), (502, ForgeUnavailable)])
    async def test_plain_words(self, make, recorder, status, kind):
        """Every answer maps to the right error, says what shipbot tried, and never carries the token."""
        recorder.on("POST", r".*/releases", status=status, json={"message": "Nope"})
        with pytest.raises(kind) as caught:
            await make().create_release(REPO, "v1.0.0", "1.0.0", "notes")
        assert "create release v1.0.0 in octo/hello" in caught.value.message
        assert TOKEN not in caught.value.message and TOKEN not in str(caught.value)


class TestAppAuth:
    async def test_expired_token_refreshed_once(self, make, recorder):
        """A 401 on the installation token mints a new one and the call succeeds."""
        app_routes(recorder)
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "main"})
        recorder.on("GET", "/repos/octo/hello", status=401, json={"message": "Bad credentials"}, times=1)
        assert await make(app=True).default_branch(REPO) == "main"
        calls = [r for r in recorder.requests if r.path == "/repos/octo/hello"]
        assert [c.headers["Authorization"] for c in calls] == ["token ghs_token-1-1", "token ghs_token-1-2"]

    async def test_second_401(self, make, recorder):
        """A token refused twice is PermissionDenied after exactly one refresh."""
        app_routes(recorder)
        recorder.on("GET", "/repos/octo/hello", status=401, json={"message": "Bad credentials"})
        with pytest.raises(PermissionDenied) as caught:
            await make(app=True).default_branch(REPO)
        assert len(recorder.calls("POST", r".*/access_tokens")) == 2
        assert "ghs_token" not in caught.value.message

    async def test_token_cached_until_near_expiry(self, make, recorder):
        """A token is reused while it has time left, and replaced when it is about to expire."""
        app_routes(recorder, lifetime=3600)
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "main"})
        forge = make(app=True)
        for _ in range(3):
            await forge.default_branch(REPO)
        assert len(recorder.calls("POST", r".*/access_tokens")) == 1
        assert len(recorder.calls("GET", r".*/installation")) == 1
        app_routes(recorder, lifetime=120)  # within the margin: not worth keeping
        forge = make(app=True)
        await forge.default_branch(REPO)
        await forge.default_branch(REPO)
        assert len(recorder.calls("POST", r".*/access_tokens")) == 3

    async def test_many_installations(self, make, recorder):
        """Each repository uses its own installation's token."""
        app_routes(recorder)
        recorder.on("GET", r"/repos/octo/other/installation", json={"id": 2})
        recorder.on("GET", r"/repos/octo/[a-z]+", json={"default_branch": "main"})
        forge = make(app=True)
        await forge.default_branch(REPO)
        await forge.default_branch(OTHER)
        await forge.default_branch(REPO)
        auth = [(r.path, r.headers["Authorization"]) for r in recorder.requests if r.path.count("/") == 3]
        assert auth == [("/repos/octo/hello", "token ghs_token-1-1"), ("/repos/octo/other", "token ghs_token-2-2"),
                        ("/repos/octo/hello", "token ghs_token-1-1")]

    async def test_installation_hook(self, make, recorder):
        """An installation id from the event (sync or async hook, or remembered) spares the lookup."""
        app_routes(recorder)
        recorder.on("GET", r"/repos/octo/[a-z]+", json={"default_branch": "main"})

        async def from_event(repo):
            return 9 if repo == REPO else None

        forge = make(app=True, installation_id_for=from_event)
        forge.remember_installation(OTHER, 8)
        await forge.default_branch(REPO)
        await forge.default_branch(OTHER)
        assert recorder.calls("GET", r".*/installation") == []
        assert [r.path for r in recorder.calls("POST")] == ["/app/installations/9/access_tokens",
                                                            "/app/installations/8/access_tokens"]

    async def test_real_jwt(self, make, recorder, github_app_key):
        """The JWT is RS256, issued by the App id, and short-lived."""
        app_routes(recorder)
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "main"})
        await make(app=True).default_branch(REPO)
        bearer = recorder.calls("POST", r".*/access_tokens")[0].headers["Authorization"].split(" ", 1)[1]
        public = serialization.load_pem_private_key(github_app_key.encode(), None).public_key()
        claims = jwt.decode(bearer, public, algorithms=["RS256"])
        assert claims["iss"] == "42" and claims["exp"] - claims["iat"] <= 600

    async def test_plain_token(self, make, recorder):
        """A plain token is sent as is, with the pinned API version and GitHub's media type."""
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "main"})
        await make().default_branch(REPO)
        headers = {k.lower(): v for k, v in recorder.requests[0].headers.items()}
        assert headers["authorization"] == f"token {TOKEN}"
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == "2022-11-28"


class TestConditionalRequests:
    async def test_etag_reused(self, make, recorder):
        """A second read sends If-None-Match and a 304 returns the cached data."""
        recorder.on("GET", "/repos/octo/hello", status=304, body=b"", headers={"ETag": '"v1"'})
        recorder.on("GET", "/repos/octo/hello", json={"default_branch": "main"}, headers={"ETag": '"v1"'}, times=1)
        forge = make()
        assert await forge.default_branch(REPO) == "main"
        assert await forge.default_branch(REPO) == "main"
        first, second = recorder.requests
        assert "If-None-Match" not in first.headers and second.headers["If-None-Match"] == '"v1"'

    async def test_cache_is_bounded(self, make, recorder):
        """The ETag cache keeps only the most recent URLs."""
        recorder.on("GET", r"/repos/octo/[a-z]+", json={"default_branch": "main"}, headers={"ETag": '"x"'})
        forge = make(cache_size=1)
        await forge.default_branch(REPO)
        await forge.default_branch(OTHER)
        await forge.default_branch(REPO)
        assert [("If-None-Match" in r.headers) for r in recorder.requests] == [False, False, False]


class TestPaging:
    async def test_follows_next_links(self, make, recorder):
        """Every page is read; compare's oldest-first order comes back newest first."""
        def page(n):
            return {"commits": [{"sha": f"{n}" * 40, "commit": {"message": f"c{n}"}}]}

        following = f"{recorder.url}/repositories/1/compare/v1...main?per_page=100&page=2"
        recorder.on("GET", r".*/compare/v1...main", json=page(1), headers={"Link": f'<{following}>; rel="next"'})
        recorder.on("GET", r"/repositories/1/compare/v1...main", json=page(2))
        commits = await make().compare(REPO, "v1", "main")
        assert [c.message for c in commits] == ["c2", "c1"]

    async def test_next_link_elsewhere_refused(self, make, recorder):
        """A next link to another host is refused before anything is sent there."""
        recorder.on("GET", r".*/tags", json=[{"name": "v1", "commit": {"sha": SHA}}],
                    headers={"Link": '<https://api.github.com/repositories/1/tags?page=2>; rel="next"'})
        with pytest.raises(ForgeError, match="refused to call https://api.github.com"):
            await make().list_tags(REPO)

    async def test_deliveries_since(self, make, recorder):
        """Deliveries are read newest first and paging stops at the first older than `since`."""
        def delivery(i, when):
            return {"id": i, "guid": f"g{i}", "event": "push", "action": None, "status_code": 502 if i == 2 else 202,
                    "delivered_at": when, "redelivery": False, "installation_id": 1, "repository_id": 5}

        recorder.on("GET", "/app/hook/deliveries", json=[delivery(3, "2024-05-03T00:00:00Z"),
                                                         delivery(2, "2024-05-02T00:00:00Z"),
                                                         delivery(1, "2024-04-30T00:00:00Z")],
                    headers={"Link": f'<{recorder.url}/app/hook/deliveries?cursor=x>; rel="next"'})
        found = await make(app=True).list_deliveries(since="2024-05-01T00:00:00Z")
        assert [(d.id, d.ok) for d in found] == [(3, True), (2, False)]
        assert len(recorder.requests) == 1


class TestURLSafety:
    @pytest.mark.parametrize("url", ["https://api.github.com/repos/o/r", "https://api.github.com:443/x"])
    def test_same_host(self, url):
        """URLs on the configured API host pass."""
        assert check_api_url(url, "https://api.github.com") == url

    @pytest.mark.parametrize("url", ["https://evil.example/repos", "http://api.github.com/repos",
                                     "https://api.github.com.evil.example/", "https://api.github.com@evil.example/",
                                     "https://api.github.com:8443/x"])
    def test_elsewhere(self, url):
        """Another host, scheme, port or a userinfo trick is refused, naming only the origin."""
        with pytest.raises(ForgeError, match="GITHUB_API_URL") as caught:
            check_api_url(url + "?sig=secret", "https://api.github.com")
        assert "secret" not in caught.value.message

    def test_enterprise_prefix(self):
        """On GitHub Enterprise Server only paths under /api/v3 are the API."""
        base = "https://ghe.example.com/api/v3"
        assert check_api_url(f"{base}/repos/o/r", base)
        with pytest.raises(ForgeError):
            check_api_url("https://ghe.example.com/login", base)

    async def test_enterprise_server(self, make, recorder):
        """GITHUB_API_URL with /api/v3 prefixes every path; dispatches there do not ask for run details."""
        recorder.on("POST", r"/api/v3/repos/octo/hello/actions/workflows/deploy.yml/dispatches", status=204, body=b"")
        forge = make(api_url=f"{recorder.url}/api/v3")
        made = await forge.create_deployment(REPO, ref="main", environment="qa", inputs={"shipbot_request_id": "r1"},
                                             payload={}, method="workflow", workflow="deploy.yml")
        assert made.id == "dispatch:r1"
        assert recorder.requests[0].json == {"ref": "main", "inputs": {"shipbot_request_id": "r1"}}


class TestArtifactDownload:
    async def test_redirect_to_storage(self, make, recorder):
        """The API's 302 is followed to the storage host without the token; the bytes come back."""
        storage = await RecordingServer().start()
        try:
            storage.on("GET", "/blob/junit.zip", body=b"PK\x03\x04zip", headers={"Content-Type": "application/zip"})
            recorder.on("GET", r".*/actions/artifacts/5/zip", status=302, body=b"",
                        headers={"Location": f"{storage.url}/blob/junit.zip?sig=signed"})
            data = await make().download_artifact(REPO, Artifact(5, "junit", size=9))
        finally:
            await storage.stop()
        assert data == b"PK\x03\x04zip"
        assert recorder.requests[0].headers["Authorization"] == f"token {TOKEN}"
        assert "Authorization" not in storage.requests[0].headers
        assert storage.requests[0].query == {"sig": ["signed"]}

    async def test_artifact_url_on_another_port_is_not_contacted(self, make, recorder):
        """An artifact whose API `url` points at another local server: refused, nothing sent there, no token."""
        other = await RecordingServer().start()
        try:
            other.on("GET", ".*", body=b"PK\x03\x04zip")
            artifact = Artifact(5, "junit", size=9, url=f"{other.url}/repos/octo/hello/actions/artifacts/5/zip")
            with pytest.raises(ForgeError, match=f"refused to call http://127.0.0.1:{other.port}"):
                await make().download_artifact(REPO, artifact)
            assert other.requests == [] and recorder.requests == []
        finally:
            await other.stop()

    async def test_too_large(self, make, recorder):
        """An artifact bigger than the limit is refused, before or while reading."""
        recorder.on("GET", r".*/actions/artifacts/5/zip", status=302, body=b"",
                    headers={"Location": f"{recorder.url}/storage/a.zip"})
        recorder.on("GET", "/storage/a.zip", body=b"x" * 100)
        forge = make(max_artifact_bytes=10)
        with pytest.raises(ForgeError, match="larger than shipbot reads"):
            await forge.download_artifact(REPO, Artifact(5, "big"))
        with pytest.raises(ForgeError, match="more than shipbot reads"):
            await forge.download_artifact(REPO, Artifact(5, "big", size=11))


class TestSemantics:
    async def test_read_file(self, make, recorder):
        """Contents are base64-decoded; a large file is read from its blob; a directory is not a file."""
        text = "release:\n  tag_format: v{version}\n"
        encoded = base64.encodebytes(text.encode()).decode()  # GitHub wraps at 60 columns with \n
        recorder.on("GET", r".*/contents/.shipbot.yml", json={"type": "file", "encoding": "base64",
                                                              "content": encoded})
        recorder.on("GET", r".*/contents/big.txt", json={"type": "file", "encoding": "none", "content": "",
                                                         "sha": SHA})
        recorder.on("GET", rf".*/git/blobs/{SHA}", json={"encoding": "base64", "content": encoded})
        recorder.on("GET", r".*/contents/docs", json=[{"type": "file", "name": "a.md"}])
        forge = make()
        assert await forge.read_file(REPO, ".shipbot.yml") == text
        assert await forge.read_file(REPO, "big.txt") == text
        assert await forge.read_file(REPO, "docs") is None
        assert await forge.read_file(REPO, "missing.yml") is None

    async def test_upsert_edits_only_our_comment(self, make, recorder):
        """The marker in someone else's comment is ignored; ours is edited in place."""
        marker = "<!-- shipbot:report -->"
        recorder.on("GET", "/user", json={"login": "shipbot-user"})
        recorder.on("GET", r".*/issues/4/comments", json=[
            {"id": 1, "body": f"quoting {marker}", "user": {"login": "mallory"}},
            {"id": 2, "body": f"old {marker}", "user": {"login": "shipbot-user"}}])
        recorder.on("PATCH", r".*/issues/comments/2", json={"id": 2, "body": f"new {marker}"})
        comment = await make().upsert_comment(REPO, 4, marker, f"new {marker}")
        assert comment.id == 2 and recorder.calls("POST") == []
        assert recorder.calls("PATCH")[0].json == {"body": f"new {marker}"}

    async def test_upsert_recreates_deleted(self, make, recorder):
        """A comment deleted between finding and editing it is written again."""
        marker = "<!-- shipbot:report -->"
        recorder.on("GET", "/user", json={"login": "me"})
        recorder.on("GET", r".*/issues/4/comments", json=[{"id": 2, "body": marker, "user": {"login": "me"}}])
        recorder.on("POST", r".*/issues/4/comments", status=201, json={"id": 3, "body": marker})
        assert (await make().upsert_comment(REPO, 4, marker, marker)).id == 3

    async def test_fork_pull_requests(self, make, recorder):
        """A fork's PR, missing from the commit's pulls, is found among open PRs by head sha."""
        fork = {"number": 9, "state": "open", "title": "fix", "head": {"ref": "main", "sha": SHA,
                "repo": {"full_name": "someone/hello"}}, "base": {"ref": "main", "repo": {"full_name": "octo/hello"}}}
        other = {**fork, "number": 10, "head": {**fork["head"], "sha": "c" * 40}}
        recorder.on("GET", rf".*/commits/{SHA}/pulls", json=[])
        recorder.on("GET", r"/repos/octo/hello/pulls", json=[other, fork])
        found = await make().change_requests_for_commit(REPO, SHA)
        assert [(p.number, p.from_fork) for p in found] == [(9, True)]
        assert recorder.requests[1].query["state"] == ["open"]

    async def test_find_change_request_ignores_forks(self, make, recorder):
        """A fork's branch of the same name is not ours."""
        pr = {"number": 5, "state": "open", "base": {"ref": "main", "repo": {"full_name": "octo/hello"}},
              "head": {"ref": "shipbot/release", "sha": SHA, "repo": {"full_name": "x/hello"}}}
        recorder.on("GET", r"/repos/octo/hello/pulls", json=[pr])
        assert await make().find_change_request(REPO, "shipbot/release") is None

    async def test_existing_release_pr_updated(self, make, recorder):
        """The release branch is force-moved and its open PR edited, not duplicated."""
        recorder.on("GET", r".*/commits/main", json={"sha": SHA, "commit": {"tree": {"sha": "t" * 40}}})
        recorder.on("POST", r".*/git/(blobs|trees|commits)", status=201, json={"sha": "n" * 40})
        recorder.on("PATCH", r".*/git/refs/heads/shipbot/release", json={"ref": "refs/heads/shipbot/release"})
        pr = {"number": 5, "state": "open", "head": {"ref": "shipbot/release", "sha": "n" * 40,
              "repo": {"full_name": "octo/hello"}}, "base": {"ref": "main", "repo": {"full_name": "octo/hello"}}}
        recorder.on("GET", r"/repos/octo/hello/pulls", json=[pr])
        recorder.on("PATCH", r"/repos/octo/hello/pulls/5", json={**pr, "title": "Release 2.0.0"})
        result = await make().upsert_change_request(REPO, branch="shipbot/release", base="main",
                                                    title="Release 2.0.0", body="notes", files={"VERSION": "2.0.0\n"},
                                                    message="m")
        assert result.number == 5 and recorder.calls("POST", r"/repos/octo/hello/pulls") == []

    async def test_tag_retried(self, make, recorder):
        """Creating a tag that already points at the same commit is fine (a retried job)."""
        recorder.on("POST", r".*/git/tags", status=201, json={"sha": "t" * 40})
        recorder.on("POST", r".*/git/refs", status=422, json={"message": "Reference already exists"})
        recorder.on("GET", r".*/commits/tags/v2.0.0", json={"sha": SHA})
        assert (await make().create_tag(REPO, "v2.0.0", SHA, "2.0.0")).sha == SHA

    async def test_failed_checks_carry_annotations(self, make, recorder):
        """A failed Actions run gets its annotations and workflow run id; a passing one costs no extra call."""
        details = "https://github.com/octo/hello/actions/runs/777/job/1"
        runs = [{"id": 1, "name": "test", "status": "completed", "conclusion": "failure", "details_url": details,
                 "app": {"slug": "github-actions"}, "check_suite": {"id": 3}, "output": {"annotations_count": 1}},
                {"id": 2, "name": "lint", "status": "completed", "conclusion": "success", "app": {"slug": "other"},
                 "check_suite": {"id": 4}, "output": {"annotations_count": 5}}]
        recorder.on("GET", rf".*/commits/{SHA}/check-runs", json={"total_count": 2, "check_runs": runs})
        recorder.on("GET", r".*/check-runs/1/annotations", json=[{"path": "t.py", "start_line": 3, "end_line": 3,
                                                                  "annotation_level": "failure", "message": "boom"}])
        failed, passed = await make().checks_for_commit(REPO, SHA)
        assert (failed.run_id, failed.suite_id, failed.annotations[0]["message"]) == (777, 3, "boom")
        assert (passed.run_id, passed.annotations) == (None, ())
        assert len(recorder.requests) == 2

    @pytest.mark.parametrize("answer, expected", [({"permission": "write", "role_name": "maintain"}, "maintain"),
                                                  ({"permission": "read", "role_name": "auditor"}, "read"),
                                                  ({"permission": "admin", "role_name": "admin"}, "admin")])
    async def test_permission_words(self, make, recorder, answer, expected):
        """role_name is used when it is one of ours; a custom role falls back to its base permission."""
        recorder.on("GET", r".*/collaborators/octocat/permission", json=answer)
        assert await make().permission(REPO, "octocat") == expected

    async def test_rerun_needs_a_run(self, make, recorder):
        """A failed rerun request of a suite maps GitHub's refusal."""
        recorder.on("POST", r".*/check-suites/3/rerequest", status=403, json={"message": "Must have admin rights"})
        with pytest.raises(PermissionDenied, match="re-run lint in octo/hello"):
            await make().rerun_failed(REPO, Check(2, "lint", "completed", "failure", suite_id=3))

    async def test_conflict_message(self, make, recorder):
        """A 422 carries GitHub's own explanation."""
        recorder.on("POST", r".*/pulls", status=422, json={"message": "Validation Failed", "errors": [
            {"resource": "PullRequest", "code": "custom", "message": "No commits between main and topic"}]})
        recorder.on("GET", r".*/pulls", json=[])
        recorder.on("GET", r".*/commits/main", json={"sha": SHA, "commit": {"tree": {"sha": SHA}}})
        recorder.on("POST", r".*/git/.*", status=201, json={"sha": SHA})
        recorder.on("PATCH", r".*/git/refs/.*", json={})
        with pytest.raises(Conflict, match="No commits between main and topic"):
            await make().upsert_change_request(REPO, branch="topic", base="main", title="t", body="b", files={},
                                               message="m")

    async def test_not_a_github_repo(self, make):
        """A GitLab repository handed to the GitHub adapter is refused in words."""
        with pytest.raises(ForgeError, match="not a GitHub repository"):
            await make().default_branch(RepoRef("gitlab", "group/sub/project"))

    async def test_deployment_states(self, make, recorder):
        """An unknown deployment state is refused before any request."""
        from bot.forge.base import Deployment

        with pytest.raises(ForgeError, match="no deployment state 'exploded'"):
            await make().set_deployment_status(REPO, Deployment(1, "qa", "main"), "exploded")
        assert recorder.requests == []

