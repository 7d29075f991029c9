"""Run python-gitlab calls once each, only against GITLAB_URL's host, and explain failures in plain words."""
from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import gitlab
import requests
import structlog
from requests.adapters import HTTPAdapter

from bot.forge.base import (
    Conflict,
    ForgeError,
    ForgeUnavailable,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from bot.sansio.events import RepoRef
from bot.sansio.urls import allowed_url, shown

T = TypeVar("T")
log = structlog.get_logger("shipbot.gitlab")


class OffHostURL(ForgeError):
    """A URL (a pagination link, a redirect, a payload field) points away from GITLAB_URL's host."""


def ensure_same_host(url: str, base_url: str) -> str:
    """Return `url` when it is on `base_url`'s scheme, host and port; refuse anything else.

    Relative URLs are fine (they resolve against GITLAB_URL). Absolute ones found in payloads,
    `Link` headers or redirects could send our token somewhere else, so they must match exactly.
    """
    if "://" not in url and not url.startswith("//"):
        return url
    if allowed_url(url, [shown(base_url)]):
        return url
    log.warning("url_refused", url=shown(url), allowed=shown(base_url), setting="GITLAB_URL")
    where = urlsplit(url).netloc or repr(url)
    raise OffHostURL(f"refused to contact {where}: shipbot only talks to GitLab at "
                     f"{urlsplit(base_url).netloc} (GITLAB_URL)")


class HostBoundSession(requests.Session):
    """A requests session that only sends to one origin and remembers each thread's last answer.

    `send` runs for the first request and for every redirect hop, so nothing, not even a
    redirect GitLab answers with, carries the PRIVATE-TOKEN header to another host.
    """

    def __init__(self, base_url: str, pool_size: int) -> None:
        super().__init__()
        self.base_url = base_url
        self._local = threading.local()
        # One connection per worker thread, so no thread waits for a pooled connection.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        ensure_same_host(request.url or "", self.base_url)
        self._local.headers = {}
        response = super().send(request, **kwargs)
        self._local.headers = response.headers
        return response

    def last_headers(self) -> Mapping[str, str]:
        """Headers of the last answer this thread received (python-gitlab's errors drop them)."""
        return getattr(self._local, "headers", None) or {}


class OnceGitlab(gitlab.Gitlab):
    """python-gitlab that never sleeps or retries by itself: every request is tried exactly once.

    `obey_rate_limit` is a per-request argument of `Gitlab.http_request` (not a constructor
    option), and it defaults to sleeping through 429s inside the worker thread; we force it off
    on every request and let the adapter and the job queue decide when to try again.
    """

    def http_request(self, verb: str, path: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.update(obey_rate_limit=False, retry_transient_errors=False, max_retries=0)
        return super().http_request(verb, path, *args, **kwargs)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or a date) or `RateLimit-Reset` (a Unix time).

    https://docs.gitlab.com/ee/administration/settings/user_and_ip_rate_limits.html#response-headers
    """
    now = time.time() if now is None else now
    raw = headers.get("Retry-After")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(raw).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get("RateLimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return None


def gitlab_says(message: Any) -> str:
    """GitLab's error message in one line; it may be a string, a list or a field -> errors mapping."""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    if isinstance(message, Mapping):
        message = "; ".join(f"{key} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                            for key, v in message.items())
    elif isinstance(message, (list, tuple)):
        message = "; ".join(map(str, message))
    text = " ".join(str(message or "").split())
    return text[:300] + "…" if len(text) > 300 else text


class GitLabCalls:
    """The synchronous side: a python-gitlab client and the translation of its failures."""

    def __init__(self, url: str, token: str, *, timeout: float, pool_size: int) -> None:
        self.url = url.rstrip("/")
        self.host = urlsplit(self.url).netloc
        self.timeout = timeout
        self._token = token
        self.session = HostBoundSession(self.url, pool_size)
        # per_page=100 is GitLab's maximum: fewer round trips when listing everything.
        self.gl = OnceGitlab(self.url, private_token=token, timeout=timeout, retry_transient_errors=False,
                             session=self.session, per_page=100)

    def run(self, fn: Callable[[gitlab.Gitlab], T], doing: str) -> T:
        """Call `fn(gl)` in this (worker) thread; raise our errors, never python-gitlab's or requests'."""
        try:
            return fn(self.gl)
        except ForgeError:
            raise
        except Exception as exc:  # translated below; anything unknown is re-raised untouched
            error = self.translate(exc, doing)
            if error is None:
                raise
            raise error from exc

    def translate(self, exc: Exception, doing: str) -> Exception | None:
        """Map one failure onto NotFound / PermissionDenied / Conflict / RateLimited / ForgeUnavailable."""
        said = self._explain(exc)
        if said is None:
            return None
        cls, why, extra = said
        return cls(self._clean(f"Could not {doing}: {why}"), **extra)

    def _explain(self, exc: Exception) -> tuple[type[Exception], str, dict[str, Any]] | None:
        if isinstance(exc, requests.Timeout):
            return ForgeUnavailable, f"GitLab at {self.host} did not answer in {self.timeout:g} seconds.", {}
        if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            return ForgeUnavailable, f"could not connect to GitLab at {self.host}.", {}
        if isinstance(exc, gitlab.exceptions.RedirectError):
            return ForgeError, "GitLab redirected it; check that GITLAB_URL is GitLab's exact address.", {}
        if not isinstance(exc, gitlab.exceptions.GitlabError):
            return None
        status, says = exc.response_code, gitlab_says(exc.error_message)
        if status is None:  # e.g. GitlabParsingError: an answer that is not the JSON GitLab sends
            return ForgeUnavailable, "GitLab's answer could not be read.", {}
        if status == 404:
            return NotFound, "GitLab says it does not exist (or shipbot cannot see it).", {"status": 404}
        if status == 401:
            return (PermissionDenied, ("GitLab rejected shipbot's token (expired or revoked?); "
                                       "set a valid GITLAB_TOKEN."), {"status": 401})
        if status == 403:
            why = f" (GitLab says: {says})" if says else ""
            return PermissionDenied, f"shipbot's GitLab token lacks the permission{why}.", {"status": 403}
        if status in (400, 409, 422):
            return Conflict, f"GitLab says {says or 'the request was refused'}.", {"status": status}
        if status == 429:
            wait = retry_after(self.session.last_headers())
            when = f"in {wait:.0f} seconds" if wait is not None else "later"
            return (RateLimited, f"GitLab's rate limit was reached; shipbot will try again {when}.",
                    {"retry_after": wait})
        if status >= 500:
            return ForgeUnavailable, f"GitLab answered {status} (a problem on its side); try again later.", {}
        return ForgeError, f"GitLab answered {status}{': ' + says if says else ''}.", {"status": status}

    def _clean(self, message: str) -> str:
        """Messages reach users and logs: never let the token into one, whatever GitLab echoed."""
        return message.replace(self._token, "[token]") if self._token else message

    def close(self) -> None:
        self.session.close()


def project_id(repo: RepoRef) -> int | str:
    """The project's id when the webhook gave one, else its path (python-gitlab URL-encodes it)."""
    if repo.forge != "gitlab":
        raise ForgeError(f"{repo} is not a GitLab project")
    return repo.id if repo.id is not None else repo.path


def project_of(gl: gitlab.Gitlab, repo: RepoRef) -> Any:
    """A project handle without a request: `lazy=True` fetches nothing."""
    return gl.projects.get(project_id(repo), lazy=True)


def notes_of(gl: gitlab.Gitlab, repo: RepoRef, number: int, on_change_request: bool) -> Any:
    """The notes of merge request or issue `number` (GitLab numbers the two separately)."""
    project = project_of(gl, repo)
    parent = project.mergerequests if on_change_request else project.issues
    return parent.get(number, lazy=True).notes


def absent(exc: gitlab.exceptions.GitlabError, *words: str) -> bool:
    """A 404 about the object asked for (GitLab names it, e.g. "404 File Not Found"), not its project."""
    message = str(exc.error_message)
    return exc.response_code == 404 and "Project Not Found" not in message and (
        not words or any(w in message for w in words))
