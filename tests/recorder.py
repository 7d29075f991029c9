"""A recording HTTP server on 127.0.0.1: the stand-in for GitLab's and Slack's APIs in tests.

It records every request exactly as sent (method, path, query, headers, body) and answers from
rules the test sets: `server.on("POST", "/api/v4/projects/5/notes", json={...}, status=201)`.
Rules are matched in order, newest first; a rule may answer a limited number of times (`times=`)
so a test can script "502 twice, then 200". Unmatched requests get 404 with a JSON message.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs

from aiohttp import web


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived, to measure waits between tries

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Rule:
    method: str
    pattern: re.Pattern
    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    delay: float = 0.0
    respond: Callable[[Recorded, re.Match], Any] | None = None


class RecordingServer:
    """Start with `await server.start()`; `server.url` is its base URL; stop with `await server.stop()`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.rules: list[Rule] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, method: str, path_regex: str, *, status: int = 200, json: Any = None, body: bytes | None = None,
           headers: dict[str, str] | None = None, times: int | None = None, delay: float = 0.0,
           respond: Callable[[Recorded, re.Match], Any] | None = None) -> Rule:
        """Answer METHOD requests whose path fully matches `path_regex`. `respond(req, match)` may build the JSON."""
        rule = Rule(method.upper(), re.compile(path_regex), status, json, body, headers or {}, times, delay, respond)
        self.rules.insert(0, rule)
        return rule

    def calls(self, method: str | None = None, path_regex: str | None = None) -> list[Recorded]:
        pattern = re.compile(path_regex) if path_regex else None
        return [r for r in self.requests if (method is None or r.method == method.upper())
                and (pattern is None or pattern.fullmatch(r.path))]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        recorded = Recorded(request.method, request.path, parse_qs(request.query_string),
                            {k: v for k, v in request.headers.items()}, await request.read())
        self.requests.append(recorded)
        for rule in self.rules:
            if rule.method != request.method:
                continue
            match = rule.pattern.fullmatch(request.path)
            if not match or rule.times == 0:
                continue
            if rule.times is not None:
                rule.times -= 1
            if rule.delay:
                await asyncio.sleep(rule.delay)
            payload = rule.respond(recorded, match) if rule.respond else rule.json
            if isinstance(payload, web.StreamResponse):
                return payload
            if rule.body is not None:
                return web.Response(status=rule.status, body=rule.body, headers=rule.headers)
            return web.json_response(payload, status=rule.status, headers=rule.headers)
        return web.json_response({"message": f"no rule for {request.method} {request.path}"}, status=404)

    async def start(self, port: int | None = None) -> "RecordingServer":
        """Listen on `port` (a free one by default; the same one again after stop(), to model an outage)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port if port is not None else self.port or 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None
