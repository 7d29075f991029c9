"""Decide whether shipbot may send a request to a URL: only to the API hosts it was configured with.

Payloads carry absolute URLs (`url` fields, pagination links, Slack's `response_url`); whoever
can send us a payload could point one at an internal service or at a host that collects our
tokens. Every adapter asks `allowed_url` before it sends anything to a URL it did not build.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    """Scheme, host and port: two URLs with the same origin reach the same server the same way."""

    scheme: str
    host: str
    port: int | None


def origin(url: str) -> Origin:
    """The origin of a URL; an unparseable one has an empty origin that matches nothing."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, an unbalanced IPv6 bracket
        return Origin("", "", None)
    scheme = parts.scheme.lower()
    return Origin(scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme))


def shown(url: str) -> str:
    """scheme://host[:port] of a URL for messages and logs: never its path or query, which may hold a signature."""
    scheme, host, port = origin(url)
    if not host:
        return repr(url[:80])
    default = DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_url(url: str, bases: Iterable[str]) -> bool:
    """True when `url` is absolute and under one of `bases`: same scheme, host and port, and below its path.

    A base `https://ghe.example.com/api/v3` admits `https://ghe.example.com/api/v3/repos/…` but not
    `https://ghe.example.com/login`; `https://hooks.slack.com` admits any path on that host.
    User info (`https://api.github.com@evil.example/`) and backslashes, which browsers and some
    clients read differently, are refused outright.
    """
    if not isinstance(url, str) or "\\" in url or any(ch in url for ch in "\r\n\t\x00 "):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return False
    target = origin(url)
    for base in bases:
        if not base or origin(base) != target:
            continue
        prefix = urlsplit(base).path.rstrip("/")
        if not prefix or parts.path == prefix or parts.path.startswith(prefix + "/"):
            return True
    return False
