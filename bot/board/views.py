"""Serve the environments board: `GET /board` (HTML), `GET /api/board` (JSON), sign-in and sign-out."""
from __future__ import annotations

import asyncio
import json
import secrets
import time

import jinja2
import structlog
from aiohttp import web

from bot.board import auth, present
from bot.board.data import board_snapshot
from bot.ingress.common import SERVICES
from bot.render import TEMPLATES
from bot.sansio.dora import WINDOWS

log = structlog.get_logger("shipbot.board")
THROTTLE = web.AppKey("board_login_throttle", auth.LoginThrottle)
CACHE = web.AppKey("board_snapshot_cache", dict)
REFRESH_SECONDS = 5
# Every open board polls; within this many seconds they share one snapshot (bench/board.py).
CACHE_SECONDS = 1.0
MAX_LIMIT = 50

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
present.install_filters(_env)


class BadQuery(ValueError):
    """A query parameter out of its documented range; the message says which and why."""


def _choice(request: web.Request, name: str, default: int, allowed) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a whole number") from None
    if value not in allowed:
        raise BadQuery(f"{name} must be one of {', '.join(map(str, allowed))}" if len(allowed) < 10
                       else f"{name} must be between {min(allowed)} and {max(allowed)}")
    return value


def _query(request: web.Request) -> tuple[int, int]:
    return (_choice(request, "window", 30, WINDOWS), _choice(request, "limit", 10, range(1, MAX_LIMIT + 1)))


def _secure_headers(response: web.StreamResponse, nonce: str | None = None) -> web.StreamResponse:
    own = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {own}; style-src {own}; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(template: str, status: int = 200, **data) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    html = _env.get_template(template).render(nonce=nonce, **data)
    return _secure_headers(web.Response(text=html, status=status, content_type="text/html", charset="utf-8"), nonce)


def _json(status: int, data: dict, **headers: str) -> web.Response:
    body = json.dumps(data, default=str)
    return _secure_headers(web.Response(text=body, status=status, content_type="application/json", headers=headers))


def _checked(request: web.Request) -> auth.Access | web.Response:
    """The access decision, counting wrong bearer tokens like wrong sign-ins (429 once there are too many)."""
    throttle, client, now = request.app[THROTTLE], auth.client_address(request), time.time()
    access = auth.check(request, request.app[SERVICES].settings, now)
    if access.how == "wrong":
        wait = throttle.retry_after(client, now)
        if wait:
            return _too_many(request, wait)
        throttle.failed(client, now)
    return access


def _too_many(request: web.Request, wait: int) -> web.Response:
    message = f"too many wrong tokens; try again in {wait} s"
    if request.path.startswith("/api/"):
        response = _json(429, {"error": message})
    else:
        response = _page("board_error.html.j2", 429, message=message)
    response.headers["Retry-After"] = str(wait)
    return response


def _refused_page(request: web.Request, access: auth.Access) -> web.Response:
    response = _page("board_refused.html.j2", 401, reason=access.how)
    response.headers["WWW-Authenticate"] = 'Bearer realm="shipbot board"'
    return response


async def _snapshot(request: web.Request, limit: int, window: int) -> dict:
    """The board, computed at most once per CACHE_SECONDS for all viewers of this process."""
    cache = request.app[CACHE]
    key, now = (limit, window), time.monotonic()
    hit = cache.get(key)
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    snapshot = await asyncio.wait_for(board_snapshot(request.app[SERVICES], limit=limit, window_days=window), 10)
    cache[key] = (now, snapshot)
    return snapshot


async def board_page(request: web.Request) -> web.Response:
    """The board as HTML: readable without JavaScript, refreshed by one small script."""
    access = _checked(request)
    if isinstance(access, web.Response):
        return access
    if not access.allowed:
        return _refused_page(request, access)
    try:
        window, limit = _query(request)
    except BadQuery as exc:
        return _page("board_error.html.j2", 400, message=str(exc))
    try:
        snapshot = await _snapshot(request, limit, window)
    except Exception as exc:
        log.warning("board_unavailable", error=str(exc).splitlines()[0] if str(exc) else repr(exc))
        return _page("board_error.html.j2", 503, message="the database did not answer; try again shortly")
    return _page("board.html.j2", board=snapshot, window=window, windows=WINDOWS, limit=limit,
                 refresh_seconds=REFRESH_SECONDS, signed_in=access.how == "session", local=access.how == "local")


async def board_api(request: web.Request) -> web.Response:
    """The board as JSON (docs/openapi.yaml); `ETag` is the content digest."""
    access = _checked(request)
    if isinstance(access, web.Response):
        return access
    if not access.allowed:
        reason = ("the board is off: set SHIPBOT_BOARD_TOKEN" if access.how == "disabled"
                  else "send Authorization: Bearer <SHIPBOT_BOARD_TOKEN>")
        return _json(401, {"error": reason}, **{"WWW-Authenticate": 'Bearer realm="shipbot board"'})
    try:
        window, limit = _query(request)
    except BadQuery as exc:
        return _json(400, {"error": str(exc)})
    try:
        snapshot = await _snapshot(request, limit, window)
    except Exception as exc:
        log.warning("board_unavailable", error=str(exc).splitlines()[0] if str(exc) else repr(exc))
        return _json(503, {"error": "the database did not answer; try again shortly"})
    etag = f'"{snapshot["digest"]}"'
    if request.headers.get("If-None-Match") == etag:
        return _secure_headers(web.Response(status=304, headers={"ETag": etag}))
    return _json(200, snapshot, ETag=etag)


def _login_form(request: web.Request, status: int = 200, error: str | None = None) -> web.Response:
    csrf = auth.new_csrf()
    response = _page("board_login.html.j2", status, csrf=csrf, error=error)
    auth.set_cookie(response, request, auth.CSRF_COOKIE, csrf, max_age=3600, path="/board/login")
    return response


def _no_token(request: web.Request) -> web.Response:
    """Without SHIPBOT_BOARD_TOKEN there is nothing to sign in to: local use goes straight in."""
    settings = request.app[SERVICES].settings
    if auth.local_use(request, settings):
        return _redirect("/board")
    return _refused_page(request, auth.Access(False, "disabled"))


async def login_page(request: web.Request) -> web.Response:
    settings = request.app[SERVICES].settings
    if settings.board_token is None:
        return _no_token(request)
    if auth.check(request, settings).how == "session":
        return _redirect("/board")
    return _login_form(request)


async def login_submit(request: web.Request) -> web.Response:
    """Check the token from the form; on success set the session cookie and go to the board."""
    settings = request.app[SERVICES].settings
    if settings.board_token is None:
        return _no_token(request)
    throttle = request.app[THROTTLE]
    client, now = auth.client_address(request), time.time()
    wait = throttle.retry_after(client, now)
    if wait:
        return _too_many(request, wait)
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _page("board_error.html.j2", 415, message="send the sign-in form (application/x-www-form-urlencoded)")
    try:
        form = await request.post()
    except Exception:  # a malformed body: the form is simply not there
        form = {}
    csrf, token = form.get("csrf"), form.get("token")
    if not isinstance(csrf, str) or not auth.csrf_ok(request, csrf):
        return _login_form(request, 403, error="the form had expired; please sign in again")
    if not isinstance(token, str) or not auth.token_matches(str(settings.board_token), token.strip()):
        throttle.failed(client, now)
        log.info("board_login_refused", client=client)
        return _login_form(request, 401, error="that token is not the one set in SHIPBOT_BOARD_TOKEN")
    throttle.succeeded(client)
    response = _redirect("/board")
    auth.set_cookie(response, request, auth.SESSION_COOKIE, auth.make_session(str(settings.board_token), now),
                    max_age=auth.SESSION_SECONDS)
    response.del_cookie(auth.CSRF_COOKIE, path="/board/login")
    return response


async def logout(request: web.Request) -> web.Response:
    response = _redirect("/board/login")
    response.del_cookie(auth.SESSION_COOKIE, path="/")
    return response


def _redirect(location: str) -> web.Response:
    return _secure_headers(web.Response(status=303, headers={"Location": location}))


def add_routes(app: web.Application) -> None:
    app[THROTTLE] = auth.LoginThrottle()
    app[CACHE] = {}
    app.router.add_get("/board", board_page)
    app.router.add_get("/board/login", login_page)
    app.router.add_post("/board/login", login_submit)
    app.router.add_post("/board/logout", logout)
    app.router.add_get("/api/board", board_api)
