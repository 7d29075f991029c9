"""Talk to GitHub's REST API: App or token auth, retries, rate limits, ETags and plain-words errors."""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlsplit

import aiohttp
import gidgethub
import gidgethub.aiohttp
import structlog
from gidgethub import sansio
from yarl import URL

from bot.forge import github_models as gm
from bot.forge.base import ForgeError, ForgeUnavailable, NotFound, PermissionDenied, RateLimited
from bot.sansio.events import RepoRef
from bot.sansio.urls import allowed_url, shown
from bot.settings import GitHubSettings

# https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#media-types
ACCEPT = "application/vnd.github+json"
# Pin the REST API version: https://docs.github.com/en/rest/about-the-rest-api/api-versions
VERSION_HEADER = {"x-github-api-version": "2022-11-28"}
# Installation tokens live one hour; mint a new one this long before the old one expires:
# https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation
TOKEN_MARGIN = 300.0
log = structlog.get_logger("shipbot.github")
InstallationLookup = Callable[[RepoRef], "int | None | Awaitable[int | None]"]


class LRUCache(OrderedDict):
    """gidgethub's (url -> etag, last-modified, data, next page) cache, bounded to the `size` latest URLs.

    A conditional GET answered 304 does not count against the rate limit:
    https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
    """

    def __init__(self, size: int = 512) -> None:
        super().__init__()
        self.size = size

    def __getitem__(self, key: str) -> Any:
        self.move_to_end(key)
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: safe to show, unlike a path or query that may hold a signature."""
    return shown(url)


def check_api_url(url: str, base_url: str) -> str:
    """Return `url` if it is on the configured GitHub API (GITHUB_API_URL), else refuse it.

    URLs found in payloads (next-page links, `url` fields) must never make shipbot send its
    credentials to another host.
    """
    if allowed_url(url, [base_url]):
        return url
    log.warning("url_refused", url=shown(url), allowed=shown(base_url), setting="GITHUB_API_URL")
    raise ForgeError(f"shipbot refused to call {shown(url)}: it only sends requests to the GitHub API "
                     f"configured in GITHUB_API_URL ({shown(base_url)}{urlsplit(base_url).path})")


class _Transport(gidgethub.aiohttp.GitHubAPI):
    """gidgethub's aiohttp client, kept on the API host, with timeouts and a short retry for GETs."""

    def __init__(self, session: aiohttp.ClientSession, *, base_url: str, cache: LRUCache,
                 timeout: float, retry_delays: tuple[float, ...]) -> None:
        super().__init__(session, "shipbot", cache=cache, base_url=base_url)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry_delays = retry_delays

    async def _request(self, method, url, headers, body=b""):
        check_api_url(url, self.base_url)
        # Only idempotent reads are retried here; a failed write is the job queue's to retry.
        delays = self.retry_delays if method in ("GET", "HEAD") else ()
        for attempt in range(len(delays) + 1):
            try:
                async with self._session.request(method, url, headers=headers, data=body,
                                                 timeout=self.timeout) as response:
                    answer = response.status, response.headers, await response.read()
            except asyncio.TimeoutError:
                problem = f"did not answer within {self.timeout.total:g} s"
            except aiohttp.ClientError as exc:
                problem = f"could not be reached ({type(exc).__name__})"
            else:
                if answer[0] < 500 or attempt == len(delays):
                    return answer
                problem = f"answered {answer[0]}"
            if attempt == len(delays):
                raise ForgeUnavailable(f"GitHub at {origin(url)} {problem}; shipbot will try again later")
            await asyncio.sleep(delays[attempt])
        raise AssertionError("unreachable")


class GitHubClient:
    """One client for many installations: picks credentials per repository and maps every error."""

    def __init__(self, session: aiohttp.ClientSession, settings: GitHubSettings, *,
                 installation_id_for: InstallationLookup | None = None, cache_size: int = 512,
                 timeout: float = 30.0, retry_delays: tuple[float, ...] = (0.5, 2.0)) -> None:
        self.session = session
        self.base_url = settings.api_url.rstrip("/")
        self.app_id = str(settings.app_id) if settings.app_id else None
        self.private_key = str(settings.private_key) if settings.private_key else None
        self.token = str(settings.token) if settings.token else None
        self.timeout = timeout
        self.gh = _Transport(session, base_url=self.base_url, cache=LRUCache(cache_size), timeout=timeout,
                             retry_delays=retry_delays)  # shared by all installations: keyed by URL
        self._lookup = installation_id_for
        self._installations: dict[str, int] = {}
        self._tokens: dict[int, tuple[str, float]] = {}  # installation -> (token, monotonic refresh time)
        self._locks: dict[int, asyncio.Lock] = {}
        self._blocked: dict[str, float] = {}  # credential -> monotonic time its rate limit resets
        self._me: tuple[str | None] | None = None

    @property
    def is_app(self) -> bool:
        return bool(self.app_id and self.private_key)

    def jwt(self) -> str:
        if not self.is_app:
            raise PermissionDenied("this needs shipbot to run as a GitHub App: set GITHUB_APP_ID and "
                                   "GITHUB_PRIVATE_KEY")
        from gidgethub.apps import get_jwt  # PyJWT and cryptography load only for App authentication

        return get_jwt(app_id=self.app_id, private_key=self.private_key)

    async def login(self) -> str | None:
        """shipbot's own login (its comments' author); None, meaning any author, when GitHub won't say."""
        if self._me is None:
            login = None
            try:
                if self.is_app:  # an App comments as "<slug>[bot]"
                    login = f"{(await self.call('GET', '/app', None, app=True))['slug']}[bot]"
                elif self.token:
                    login = (await self.call("GET", "/user", None))["login"]
            except (NotFound, PermissionDenied):
                pass  # e.g. an Actions GITHUB_TOKEN may not read /user
            self._me = (login,)
        return self._me[0]

    def remember_installation(self, repo: RepoRef, installation_id: int) -> None:
        self._installations[repo.path] = int(installation_id)

    async def installation_id(self, repo: RepoRef) -> int:
        """The App installation on `repo`: from the cache, the event (via the lookup), or the API."""
        if repo.path not in self._installations:
            found = self._lookup(repo) if self._lookup else None
            found = await found if inspect.isawaitable(found) else found
            if found is None:
                # https://docs.github.com/en/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app
                path = "/repos/" + "/".join(quote(part, safe="") for part in repo.path.split("/"))
                try:
                    data = await self._send("GET", f"{path}/installation", "app", {"jwt": self.jwt()},
                                            what=f"find shipbot's App installation on {repo.path}")
                except NotFound:  # not "no such file": shipbot cannot see the repository at all
                    raise PermissionDenied(f"shipbot's GitHub App is not installed on {repo.path} (or the "
                                           "repository does not exist): install the App there", status=404) from None
                found = data["id"]
            self._installations[repo.path] = int(found)
        return self._installations[repo.path]

    async def _installation_token(self, installation: int, *, fresh: bool) -> str:
        lock = self._locks.setdefault(installation, asyncio.Lock())
        async with lock:  # one mint per installation, however many requests wait for it
            cached = self._tokens.get(installation)
            if cached and not fresh and time.monotonic() < cached[1]:
                return cached[0]
            try:
                from gidgethub.apps import get_installation_access_token

                data = await get_installation_access_token(self.gh, installation_id=str(installation),
                                                           app_id=self.app_id, private_key=self.private_key)
            except gidgethub.HTTPException as exc:
                raise gm.error(exc, "app", f"get an access token for App installation {installation}") from exc
            # Their lifetime is measured on our clock, capped at GitHub's hour.
            expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00")).timestamp()
            lifetime = min(max(expires - time.time(), 0.0), 3600.0)
            self._tokens[installation] = data["token"], time.monotonic() + lifetime - TOKEN_MARGIN
            return data["token"]

    async def _credentials(self, repo: RepoRef | None, *, app: bool, fresh: bool = False) -> tuple[str, dict]:
        if app:
            return "app", {"jwt": self.jwt()}
        if self.is_app:
            if repo is None:
                raise ForgeError("a GitHub App call needs a repository to pick the installation")
            installation = await self.installation_id(repo)
            try:
                token = await self._installation_token(installation, fresh=fresh)
            except NotFound:  # uninstalled (perhaps reinstalled under a new id): look it up next time
                self._installations.pop(repo.path, None)
                raise
            return f"installation:{installation}", {"oauth_token": token}
        if self.token:
            return "token", {"oauth_token": self.token}
        return "anonymous", {}

    async def call(self, method: str, path: str, repo: RepoRef | None, *, data: Any = b"", app: bool = False,
                   pages: dict | None = None, download: int | None = None, what: str | None = None) -> Any:
        """One request with credentials fit for `repo` (the App's JWT with `app`); errors mapped.

        `pages` fetches all pages of a list: getiter's `key`, and optionally `until(item) -> bool` and
        `limit` to stop early. `download=max_bytes` fetches a file the API redirects to. A 401 on an
        installation token mints a new token and tries once more.
        """
        what = what or f"call {method} {path.split('?')[0]}"
        for attempt in (1, 2):
            key, creds = await self._credentials(repo, app=app, fresh=attempt == 2)
            try:
                return await self._send(method, path, key, creds, data=data, pages=pages, download=download,
                                        what=what)
            except PermissionDenied as exc:
                if exc.status != 401 or not key.startswith("installation:") or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _send(self, method: str, path: str, key: str, creds: dict, *, data: Any = b"",
                    pages: dict | None = None, download: int | None = None, what: str) -> Any:
        wait = self._blocked.get(key, 0.0) - time.monotonic()
        if wait > 0:
            raise RateLimited(f"GitHub's rate limit for shipbot is used up; it resets in {wait:.0f} s",
                              retry_after=wait)
        kwargs = {"accept": ACCEPT, "extra_headers": dict(VERSION_HEADER), **creds}
        try:
            if download is not None:
                return await self._download(path, creds, download, what)
            if pages is not None:
                return await self._all_pages(path, kwargs, **pages)
            if method == "GET":
                return await self.gh.getitem(path, **kwargs)
            return await getattr(self.gh, method.lower())(path, data=data, **kwargs)
        except gidgethub.HTTPException as exc:
            error = gm.error(exc, key, what)
            if isinstance(error, RateLimited) and error.retry_after:
                self._blocked[key] = time.monotonic() + error.retry_after
            raise error from exc

    async def _all_pages(self, path: str, kwargs: dict, *, key: str | None = "items",
                         until: Callable[[Any], bool] | None = None, limit: int | None = None) -> list:
        items: list = []
        # https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
        async with contextlib.aclosing(self.gh.getiter(path, iterable_key=key, **kwargs)) as pages:
            async for item in pages:
                items.append(item)
                if (until and until(item)) or (limit and len(items) >= limit):
                    break
        return items

    async def _download(self, path: str, creds: dict, max_bytes: int, what: str) -> bytes:
        """GET an API URL that redirects to file storage, then the file; the token goes to the API only."""
        headers = {"accept": ACCEPT, "user-agent": "shipbot", **VERSION_HEADER}
        if "oauth_token" in creds:
            headers["authorization"] = f"token {creds['oauth_token']}"
        url = check_api_url(sansio.format_url(path, {}, base_url=self.base_url), self.base_url)
        timeout = aiohttp.ClientTimeout(total=self.timeout * 4)
        try:
            async with self.session.get(url, headers=headers, allow_redirects=False, timeout=timeout) as resp:
                location = resp.headers.get("location")
                if resp.status in (301, 302, 303, 307, 308) and location:
                    # A short-lived signed URL on a storage host: followed once, without our token.
                    # https://docs.github.com/en/rest/actions/artifacts#download-an-artifact
                    target = str(resp.url.join(URL(location)))
                    async with self.session.get(target, headers={"user-agent": "shipbot"}, timeout=timeout) as f:
                        return await _read_limited(f, max_bytes, origin(target))
                if resp.status >= 300:  # raises gidgethub's HTTPException for the answer
                    sansio.decipher_response(resp.status, resp.headers, await resp.read())
                return await _read_limited(resp, max_bytes, origin(url))
        except asyncio.TimeoutError:
            raise ForgeUnavailable(f"shipbot could not {what} in time; it will try again") from None
        except aiohttp.ClientError as exc:
            raise ForgeUnavailable(f"shipbot could not {what} ({type(exc).__name__}); it will try again") from None


async def _read_limited(response: aiohttp.ClientResponse, max_bytes: int, where: str) -> bytes:
    if response.status >= 300:
        raise ForgeUnavailable(f"file storage at {where} answered {response.status}; shipbot will try again")
    data = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > max_bytes or int(response.headers.get("content-length") or 0) > max_bytes:
            raise ForgeError(f"the file at {where} is larger than shipbot reads ({max_bytes} bytes)")
    return bytes(data)

