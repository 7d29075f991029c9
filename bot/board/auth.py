"""Decide who may see the board: a bearer token, a signed session cookie, or local use in dry-run.

The cookie never holds the token: it holds an expiry and an HMAC of it keyed by a hash of the token,
so changing SHIPBOT_BOARD_TOKEN signs everyone out. Tokens are compared as SHA-256 digests with
`hmac.compare_digest`, so neither the content nor the length of a wrong guess shows in the timing.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

SESSION_COOKIE = "shipbot_board"
CSRF_COOKIE = "shipbot_board_csrf"
SESSION_SECONDS = 12 * 3600
# Headers a reverse proxy adds: a request carrying one is not "local use" even from 127.0.0.1.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


@dataclass(frozen=True)
class Access:
    """The outcome for one request: `allowed` with how, or refused with why."""

    allowed: bool
    how: str  # bearer | session | local | disabled | missing | wrong (bearer) | expired (cookie)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def token_matches(token: str, offered: str) -> bool:
    return hmac.compare_digest(_digest(token), _digest(offered))


def _session_key(token: str) -> bytes:
    return hashlib.sha256(b"shipbot board session\0" + token.encode()).digest()


def make_session(token: str, now: float) -> str:
    """`<expiry>.<hmac>`: valid until the expiry, and only while the token stays the same."""
    expiry = str(int(now + SESSION_SECONDS))
    return expiry + "." + hmac.new(_session_key(token), expiry.encode(), hashlib.sha256).hexdigest()


def session_valid(token: str, value: str, now: float) -> bool:
    expiry, _, mac = value.partition(".")
    if not expiry.isdigit() or len(expiry) > 12:
        return False
    expected = hmac.new(_session_key(token), expiry.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace")) and int(expiry) > now


def is_local(request: web.Request) -> bool:
    """The TCP peer is this machine and no proxy stands between: the Host header is never trusted."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback and not any(h in request.headers for h in PROXY_HEADERS)


def local_use(request: web.Request, settings) -> bool:
    """No token is set, the bot is in dry-run and the request comes from this machine."""
    return settings.board_token is None and settings.dry_run and is_local(request)


def check(request: web.Request, settings, now: float | None = None) -> Access:
    """May this request see the board?"""
    token = settings.board_token
    if token is None:
        return Access(True, "local") if local_use(request, settings) else Access(False, "disabled")
    now = time.time() if now is None else now
    header = request.headers.get("Authorization", "")
    scheme, _, offered = header.partition(" ")
    if scheme.lower() == "bearer" and offered.strip():
        return Access(True, "bearer") if token_matches(str(token), offered.strip()) else Access(False, "wrong")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return Access(True, "session") if session_valid(str(token), cookie, now) else Access(False, "expired")
    return Access(False, "missing")


def is_https(request: web.Request) -> bool:
    """The browser reached us over https: directly, or through a proxy that says so (X-Forwarded-Proto)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int,
               path: str = "/") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="Strict",
                        secure=is_https(request))


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(request: web.Request, form_value: str | None) -> bool:
    """Double-submit check: the form's hidden value equals the cookie set with the form, and the
    Origin (when the browser sends one) is this host."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not form_value or not token_matches(cookie, form_value):
        return False
    origin = request.headers.get("Origin")
    # "null" is what privacy settings send for a same-site form too; the SameSite=Strict cookie
    # above is what keeps a cross-site post out.
    if origin and origin != "null":
        return origin.split("://", 1)[-1].rstrip("/") == request.host
    return True


class LoginThrottle:
    """At most `limit` wrong tokens per client address in `window` seconds; memory stays bounded."""

    def __init__(self, limit: int = 10, window: float = 300.0, max_clients: int = 10_000) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self.failures: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> list[float]:
        times = [t for t in self.failures.get(client, []) if t > now - self.window]
        if times:
            self.failures[client] = times
        else:
            self.failures.pop(client, None)
        return times

    def retry_after(self, client: str, now: float) -> int:
        """Seconds until this client may try again; 0 when it may now."""
        times = self._recent(client, now)
        if len(times) < self.limit:
            return 0
        return max(1, int(times[0] + self.window - now) + 1)

    def failed(self, client: str, now: float) -> None:
        times = self._recent(client, now)
        times.append(now)
        self.failures[client] = times
        self.failures.move_to_end(client)
        while len(self.failures) > self.max_clients:
            self.failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)


def client_address(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return str(peer[0]) if peer else "unknown"
