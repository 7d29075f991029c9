"""Who may see the board: a token (bearer or signed session cookie), or local use in dry-run; 401 otherwise."""
from __future__ import annotations

import re

from aiohttp.test_utils import make_mocked_request

from bot.board import auth
from bot.services import build_services
from tests.conftest import make_settings

TOKEN = "board-token-for-tests"


async def start(serve, sqlite_db, **env):
    settings = make_settings(**env)
    return await serve(settings, build_services(settings, sqlite_db))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def sign_in(client, token: str = TOKEN, **headers):
    form = await client.get("/board/login")
    csrf = csrf_of(await form.text())
    return await client.post("/board/login", data={"csrf": csrf, "token": token}, allow_redirects=False,
                             headers=headers)


class _Transport:
    """What aiohttp asks a transport for: the peer address."""

    def __init__(self, peer):
        self.peer = peer

    def get_extra_info(self, name, default=None):
        return self.peer if name == "peername" else default


class TestLocalUse:
    async def test_dry_run_without_token_serves_this_machine(self, serve, sqlite_db):
        """No token, dry-run, a browser on 127.0.0.1: the board and its API answer."""
        client = await start(serve, sqlite_db)
        page = await client.get("/board")
        assert page.status == 200 and "local use, no token" in await page.text()
        assert (await client.get("/api/board")).status == 200

    async def test_proxied_request_is_not_local(self, serve, sqlite_db):
        """A request that came through a proxy (X-Forwarded-For) is refused even though the peer is 127.0.0.1."""
        client = await start(serve, sqlite_db)
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            resp = await client.get("/api/board", headers={header: "203.0.113.9"})
            assert resp.status == 401, header
            assert "SHIPBOT_BOARD_TOKEN" in (await resp.json())["error"]

    async def test_not_in_dry_run_needs_the_token(self, serve, sqlite_db):
        """With credentials (not dry-run) and no token, even local requests get 401, naming the variable."""
        client = await start(serve, sqlite_db, GITHUB_TOKEN="ghp_x")
        page = await client.get("/board")
        assert page.status == 401 and "SHIPBOT_BOARD_TOKEN" in await page.text()
        assert (await client.get("/api/board")).status == 401
        assert (await client.get("/board/login")).status == 401

    def test_peer_address_decides_not_the_host_header(self):
        """A remote peer claiming Host: 127.0.0.1 is not local; IPv6 and IPv4-mapped loopback are."""
        remote = make_mocked_request("GET", "/board", headers={"Host": "127.0.0.1:8080"},
                                     transport=_Transport(("203.0.113.9", 5555)))
        assert not auth.is_local(remote)
        for peer in (("127.0.0.1", 1), ("::1", 1, 0, 0), ("::ffff:127.0.0.1", 1, 0, 0)):
            assert auth.is_local(make_mocked_request("GET", "/board", transport=_Transport(peer))), peer
        assert not auth.is_local(make_mocked_request("GET", "/board", transport=_Transport(None)))


class TestToken:
    async def test_missing_or_wrong_bearer_is_401(self, serve, sqlite_db):
        """Without a valid token the API answers 401 with WWW-Authenticate, the page a sign-in link."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
            resp = await client.get("/api/board", headers=headers)
            assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer"), headers
        page = await client.get("/board")
        assert page.status == 401 and 'href="/board/login"' in await page.text()

    async def test_bearer_token_gets_the_json(self, serve, sqlite_db):
        """`Authorization: Bearer <token>` gets the board document, even from a proxied request."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        resp = await client.get("/api/board", headers={"Authorization": f"Bearer {TOKEN}",
                                                       "X-Forwarded-For": "203.0.113.9"})
        assert resp.status == 200
        body = await resp.json()
        assert body["repositories"] == [] and body["queue"]["health"] == "ok" and body["dry_run"] is True

    async def test_sign_in_sets_a_session_cookie_without_the_token(self, serve, sqlite_db):
        """The form's token becomes an HttpOnly, SameSite=Strict cookie holding an HMAC, not the token."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        resp = await sign_in(client)
        assert resp.status == 303 and resp.headers["Location"] == "/board"
        cookie = resp.cookies[auth.SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
        assert TOKEN not in cookie.value and TOKEN not in resp.headers.getall("Set-Cookie")[0]
        page = await client.get("/board")
        assert page.status == 200 and "Sign out" in await page.text()
        assert (await client.get("/api/board")).status == 200
        out = await client.post("/board/logout", allow_redirects=False)
        assert out.status == 303
        assert (await client.get("/api/board")).status == 401

    async def test_cookie_is_secure_behind_https(self, serve, sqlite_db):
        """Served over https (the proxy says X-Forwarded-Proto: https), the session cookie is Secure."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        resp = await sign_in(client, **{"X-Forwarded-Proto": "https"})
        assert resp.cookies[auth.SESSION_COOKIE]["secure"]

    async def test_wrong_token_in_the_form(self, serve, sqlite_db):
        """A wrong token gets 401 and the form again with the reason; no session cookie."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        resp = await sign_in(client, token="guess")
        assert resp.status == 401 and "not the one set in SHIPBOT_BOARD_TOKEN" in await resp.text()
        assert auth.SESSION_COOKIE not in resp.cookies

    async def test_form_without_its_csrf_value_or_from_elsewhere_is_refused(self, serve, sqlite_db):
        """The hidden value must match its cookie, and a foreign Origin is refused: 403, nothing set."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        resp = await client.post("/board/login", data={"token": TOKEN}, allow_redirects=False)
        assert resp.status == 403 and auth.SESSION_COOKIE not in resp.cookies
        resp = await client.post("/board/login", data={"token": TOKEN, "csrf": "forged"}, allow_redirects=False)
        assert resp.status == 403
        resp = await sign_in(client, Origin="https://evil.example")
        assert resp.status == 403 and auth.SESSION_COOKIE not in resp.cookies
        resp = await client.post("/board/login", json={"token": TOKEN}, allow_redirects=False)
        assert resp.status == 415

    async def test_repeated_wrong_tokens_are_slowed_down(self, serve, sqlite_db):
        """After ten wrong tokens from one address, even the right one waits: 429 with Retry-After."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        for _ in range(10):
            assert (await sign_in(client, token="guess")).status == 401
        resp = await sign_in(client)
        assert resp.status == 429 and 1 <= int(resp.headers["Retry-After"]) <= 301

    async def test_guessing_bearer_tokens_is_slowed_down_too(self, serve, sqlite_db):
        """Ten wrong bearer tokens get the address 429 on the API and the sign-in form alike."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        for n in range(10):
            resp = await client.get("/api/board", headers={"Authorization": f"Bearer guess{n}"})
            assert resp.status == 401
        resp = await client.get("/api/board", headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status == 200  # the right token still works; only wrong ones wait
        resp = await client.get("/api/board", headers={"Authorization": "Bearer guess"})
        assert resp.status == 429 and "Retry-After" in resp.headers and "try again" in (await resp.json())["error"]
        assert (await sign_in(client)).status == 429

    async def test_an_expired_cookie_is_not_a_guess(self, serve, sqlite_db):
        """A stale session cookie (an open board polling after the token changed) never locks anyone out."""
        client = await start(serve, sqlite_db, SHIPBOT_BOARD_TOKEN=TOKEN)
        client.session.cookie_jar.update_cookies({auth.SESSION_COOKIE: auth.make_session("old-token", 0.0)})
        for _ in range(15):
            assert (await client.get("/api/board")).status == 401
        page = await client.get("/board")
        assert page.status == 401 and "expired or the token has changed" in await page.text()
        client.session.cookie_jar.clear()
        assert (await sign_in(client)).status == 303

    def test_session_expires_and_dies_with_the_token(self):
        """A session is valid until its expiry, only for the token that signed it, and not when altered."""
        value = auth.make_session(TOKEN, 1000.0)
        assert auth.session_valid(TOKEN, value, 1000.0 + auth.SESSION_SECONDS - 1)
        assert not auth.session_valid(TOKEN, value, 1000.0 + auth.SESSION_SECONDS + 1)
        assert not auth.session_valid("rotated-token", value, 1000.0)
        expiry, mac = value.split(".")
        assert not auth.session_valid(TOKEN, f"{int(expiry) + 999}.{mac}", 1000.0)
        assert not auth.session_valid(TOKEN, "garbage", 1000.0) and not auth.session_valid(TOKEN, "", 1000.0)


class TestPageSafety:
    async def test_headers_forbid_anything_but_our_own_nonce(self, serve, sqlite_db):
        """A strict CSP with a fresh nonce per response, no framing, no caching, no referrer."""
        client = await start(serve, sqlite_db)
        first, second = await client.get("/board"), await client.get("/board")
        csp = first.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert nonce not in second.headers["Content-Security-Policy"]
        html = await first.text()
        assert html.count(f'nonce="{nonce}"') == 2 and "<script src" not in html and "<link rel=\"stylesheet" not in html
        assert first.headers["X-Frame-Options"] == "DENY" and first.headers["Cache-Control"] == "no-store"

    async def test_bad_query_is_400(self, serve, sqlite_db):
        """Windows other than 7/30/90 days and limits outside 1-50 are refused with the reason."""
        client = await start(serve, sqlite_db)
        for query, words in (("window=12", "7, 30, 90"), ("window=x", "whole number"), ("limit=0", "1 and 50")):
            resp = await client.get(f"/api/board?{query}")
            assert resp.status == 400 and words in (await resp.json())["error"], query
            assert (await client.get(f"/board?{query}")).status == 400

    async def test_etag_answers_304_while_nothing_changed(self, serve, sqlite_db):
        client = await start(serve, sqlite_db)
        first = await client.get("/api/board")
        again = await client.get("/api/board", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status == 304
