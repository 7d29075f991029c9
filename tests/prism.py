"""Serve GitHub's own OpenAPI description with Prism on 127.0.0.1 and fail tests on any request it rejects.

Fixtures (registered for every test through tests/conftest.py):

- `prism` (session): one Prism process for the whole session; `prism.url`.
- `github_api` (per test): a `GitHubMock` with its own aiohttp session whose test-only middleware
  rewrites GitHub's media type to `application/json` (Prism would answer 406), adds Prism's
  `Prefer` header where the test asked for it (`github_api.prefer("GET", r"/repos/.*/pulls/1", code=404)`),
  and records every exchange in `github_api.calls`. Where a flow needs coherent answers (a PR whose
  head is the branch just pushed), `github_api.edit_answer(method, path_regex, fn)` changes the JSON
  Prism answered before the adapter reads it; the request is validated all the same. Any spec
  violation (an `sl-violations` header about the request, or an `application/problem+json`
  answer) fails the test at teardown.
  `github_api.forge()` is a real GitHubForge on that session (token auth; `app=True` for App auth
  with a real RS256 key, `github_api.private_key_pem`).
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDict
import pytest

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "node_modules" / ".bin" / "prism"
# The description of github.com itself (not GHEC/GHES), with $refs kept so trimming stays small.
DESCRIPTION = ROOT / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"

# Every GitHub operation shipbot calls; a call to anything else is a violation.
R = "/repos/{owner}/{repo}"
OPERATIONS: dict[str, tuple[str, ...]] = {
    R: ("get",), f"{R}/contents/{{path}}": ("get",), f"{R}/git/blobs/{{file_sha}}": ("get",),
    f"{R}/git/blobs": ("post",), f"{R}/git/trees": ("post",), f"{R}/git/commits": ("post",),
    f"{R}/git/tags": ("post",), f"{R}/git/refs": ("post",), f"{R}/git/refs/{{ref}}": ("patch",),
    f"{R}/commits": ("get",), f"{R}/commits/{{ref}}": ("get",), f"{R}/compare/{{basehead}}": ("get",),
    f"{R}/tags": ("get",), f"{R}/commits/{{commit_sha}}/pulls": ("get",), f"{R}/pulls": ("get", "post"),
    f"{R}/pulls/{{pull_number}}": ("get", "patch"), f"{R}/commits/{{ref}}/check-runs": ("get",),
    f"{R}/check-runs/{{check_run_id}}/annotations": ("get",),
    f"{R}/collaborators/{{username}}/permission": ("get",), f"{R}/releases": ("post",),
    f"{R}/releases/tags/{{tag}}": ("get",), f"{R}/releases/{{release_id}}": ("patch",),
    f"{R}/issues/{{issue_number}}/comments": ("get", "post"), f"{R}/issues/comments/{{comment_id}}": ("patch",),
    f"{R}/issues/comments/{{comment_id}}/reactions": ("post",),
    f"{R}/actions/runs/{{run_id}}/rerun-failed-jobs": ("post",),
    f"{R}/check-suites/{{check_suite_id}}/rerequest": ("post",), f"{R}/deployments": ("post",),
    f"{R}/deployments/{{deployment_id}}/statuses": ("post",),
    f"{R}/actions/workflows/{{workflow_id}}/dispatches": ("post",),
    f"{R}/actions/runs/{{run_id}}/artifacts": ("get",),
    f"{R}/actions/artifacts/{{artifact_id}}/{{archive_format}}": ("get",),
    f"{R}/installation": ("get",), "/app/installations/{installation_id}/access_tokens": ("post",),
    "/app": ("get",), "/user": ("get",), "/app/hook/deliveries": ("get",),
    "/app/hook/deliveries/{delivery_id}/attempts": ("post",),
    "/orgs/{org}/teams/{team_slug}/memberships/{username}": ("get",),
}


def trim_spec(description: dict, operations: dict[str, tuple[str, ...]]) -> dict:
    """Keep only `operations` and the components they reach; drop example `Link` headers.

    Prism's examples carry Link headers to https://api.github.com, which the adapter would follow
    (and refuse, since it only talks to the configured host).
    """
    paths = {}
    for path, methods in operations.items():
        item = description["paths"][path]
        paths[path] = {m: item[m] for m in methods}
        if "parameters" in item:
            paths[path]["parameters"] = item["parameters"]
    components: dict[str, dict] = {}

    def reach(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                kind, name = ref.split("/", 3)[2:]
                if name not in components.setdefault(kind, {}):
                    components[kind][name] = description["components"][kind][name]
                    reach(components[kind][name])
            for value in node.values():
                reach(value)
        elif isinstance(node, list):
            for value in node:
                reach(value)

    reach(paths)
    spec = {k: v for k, v in description.items() if k not in ("paths", "components", "x-webhooks", "tags")}
    spec |= {"paths": paths, "components": components}
    _drop_link_headers(spec)
    return spec


def _drop_link_headers(node: Any) -> None:
    if isinstance(node, dict):
        headers = node.get("headers")
        if isinstance(headers, dict):
            for name in [n for n in headers if n.lower() == "link"]:
                del headers[name]
        for value in node.values():
            _drop_link_headers(value)
    elif isinstance(node, list):
        for value in node:
            _drop_link_headers(value)


class PrismServer:
    """One `prism mock --errors` process on 127.0.0.1, started and stopped by pid."""

    def __init__(self, spec: Path, log: Path) -> None:
        self.spec, self.log = spec, log
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "PrismServer":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(PRISM), "mock", "--errors", "--seed", "shipbot", "-h", "127.0.0.1", "-p", str(self.port), str(self.spec)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # waited for by polling, never slept for blindly
            if self.process.poll() is not None:
                raise RuntimeError(f"Prism exited with {self.process.returncode}:\n{self.log.read_text()[-2000:]}")
            if b"Prism is listening" in self.log.read_bytes():
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) == 0:
                        return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Prism did not start within {timeout:g} s:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the group is Prism alone
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Exchange:
    """One request the adapter made and Prism's answer."""

    method: str
    path: str  # as sent, still percent-encoded
    query: dict[str, list[str]]
    headers: CIMultiDict
    body: Any  # the JSON sent, or None
    status: int
    answer: Any  # the JSON Prism answered, or None
    violations: list[dict] = field(default_factory=list)


@dataclass
class _Rule:
    method: str
    path: re.Pattern
    value: Any  # a Prefer header value, or a function editing the answer
    times: int | None

    def take(self, req: aiohttp.ClientRequest) -> bool:
        if self.method != req.method or not self.path.fullmatch(req.url.raw_path) or self.times == 0:
            return False
        self.times = None if self.times is None else self.times - 1
        return True


class GitHubMock:
    """The client side of the Prism harness: a recording aiohttp session bound to `prism.url`."""

    def __init__(self, url: str, private_key_pem: str) -> None:
        self.url = url
        self.private_key_pem = private_key_pem
        self.calls: list[Exchange] = []
        self.elsewhere: list[Exchange] = []
        self.violations: list[str] = []
        self.example_fallbacks: list[str] = []
        self._prefer: list[_Rule] = []
        self._edits: list[_Rule] = []
        self.session = aiohttp.ClientSession(middlewares=(self._middleware,))

    def prefer(self, method: str, path_regex: str, *, times: int | None = None, **prefs: Any) -> None:
        """Send Prism `Prefer: code=404` (or example=…, dynamic=true) on matching requests."""
        value = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in prefs.items())
        self._prefer.insert(0, _Rule(method.upper(), re.compile(path_regex), value, times))

    def edit_answer(self, method: str, path_regex: str, edit, *, times: int | None = None) -> None:
        """Pass Prism's JSON answer through `edit(answer) -> answer` before the adapter sees it."""
        self._edits.insert(0, _Rule(method.upper(), re.compile(path_regex), edit, times))

    def forge(self, *, app: bool = False, **kwargs: Any):
        """A real GitHubForge against Prism: token auth, or App auth with a real RS256 key."""
        from bot.forge.github import GitHubForge
        from bot.settings import GitHubSettings, Secret

        creds = ({"app_id": 12345, "private_key": Secret(self.private_key_pem)} if app
                 else {"token": Secret("ghs_prismtoken")})
        kwargs.setdefault("retry_delays", ())
        return GitHubForge(self.session, GitHubSettings(api_url=self.url, **creds), **kwargs)

    def requests(self, method: str | None = None, path_regex: str | None = None) -> list[Exchange]:
        return [c for c in self.calls if (method is None or c.method == method.upper())
                and (path_regex is None or re.fullmatch(path_regex, c.path))]

    async def _middleware(self, req: aiohttp.ClientRequest, handler) -> aiohttp.ClientResponse:
        if str(req.url.origin()) != self.url:
            # e.g. the storage host an artifact redirect points at: recorded, never reached.
            self.elsewhere.append(Exchange(req.method, req.url.raw_path, {}, CIMultiDict(req.headers), None, 0, None))
            raise aiohttp.ClientConnectionError(f"the test harness keeps requests off {req.url.origin()}")
        # Prism matches the Accept header literally; GitHub's vendor type would get a 406.
        if req.headers.get("Accept", "").startswith("application/vnd.github"):
            req.headers["Accept"] = "application/json"
        prefer = next((rule for rule in self._prefer if rule.take(req)), None)
        if prefer:
            req.headers["Prefer"] = prefer.value
        response = await handler(req)
        violations = await self._violations(response)
        if violations and all(v.get("location", ["response"])[0] == "response" for v in violations):
            # GitHub's own example breaks its schema: ask Prism for one generated from the schema.
            self.example_fallbacks.append(f"{req.method} {req.url.raw_path}")
            response.release()
            req.headers["Prefer"] = ", ".join(filter(None, (req.headers.get("Prefer"), "dynamic=true")))
            response = await handler(req)
            violations = await self._violations(response)
        sent = await req.body.as_bytes() if req.body else b""
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        is_json = "json" in response.headers.get("content-type", "")
        answer = await response.json(content_type=None) if is_json else None
        edit = next((rule for rule in self._edits if rule.take(req)), None)
        if edit and answer is not None and not violations:
            answer = edit.value(answer)
            response._body = json.dumps(answer).encode()  # what response.read() hands the adapter
        query = {k: req.url.query.getall(k) for k in req.url.query}
        self.calls.append(Exchange(req.method, req.url.raw_path, query, CIMultiDict(req.headers),
                                   json.loads(sent) if sent else None, response.status, answer, violations))
        if violations or problem:
            detail = violations or (await response.text())[:500]
            self.violations.append(f"{req.method} {req.url.raw_path} -> {response.status}: {detail}")
        return response

    @staticmethod
    async def _violations(response: aiohttp.ClientResponse) -> list[dict]:
        await response.read()  # keep the body for the adapter
        raw = response.headers.get("sl-violations")
        return json.loads(raw) if raw else []


@pytest.fixture(scope="session")
def prism(tmp_path_factory) -> PrismServer:
    """Prism serving GitHub's trimmed description, once per test session."""
    if not PRISM.exists() or not DESCRIPTION.exists():
        pytest.fail("Prism or @octokit/openapi is missing: run `npm ci` (make test does)")
    work = tmp_path_factory.mktemp("prism")
    spec = work / "github.json"
    spec.write_text(json.dumps(trim_spec(json.loads(DESCRIPTION.read_bytes()), OPERATIONS)))
    server = PrismServer(spec, work / "prism.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def github_app_key() -> str:
    """A fresh RSA key in PEM, as GitHub hands out for an App."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
async def github_api(prism, github_app_key):
    """A GitHubMock on the session's Prism; the test fails if any request broke GitHub's description."""
    mock = GitHubMock(prism.url, github_app_key)
    yield mock
    await mock.session.close()
    if mock.violations:
        pytest.fail("requests GitHub's OpenAPI description rejects:\n" + "\n".join(mock.violations))
