"""The board in a real browser: Debian's headless chromium driven by Playwright, against a running shipbot
whose records were made through the real command path (signed Slack commands and GitHub webhooks over HTTP).

Screenshots (desktop and phone width) go to test-output/board/.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from bot.board import sample
from bot.services import build_services
from tests.conftest import OUTPUT, SECRETS, make_settings
from tests.fakes import FakeForge
from tests.handlers.test_deploy_status import status_event
from tests.peers import body_of, github_headers, slack_headers, slash_command_body

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium")
# `make test` installs chromium; outside CI a developer without it gets a skip that says how.
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (make test installs it)")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = OUTPUT / "board"
TOKEN = "board-browser-token"
RUN = "https://github.com/octo/widget/actions/runs/42"
CONFIG = "deploy:\n  environments:\n    staging: {}\n    production:\n      allow: ['slack:U0123ABC']\n"


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two `rgb(r, g, b)` colours."""
    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", css)[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


class Shipbot:
    """The running app, and the real ways records get into it."""

    def __init__(self, client, forge, db):
        self.client, self.forge, self.db = client, forge, db

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def slack(self, command: str, text: str) -> None:
        body = slash_command_body(command, text)
        resp = await self.client.post("/slack/events", data=body,
                                      headers=slack_headers(body, SECRETS["SLACK_SIGNING_SECRET"]))
        assert resp.status == 200, await resp.text()

    async def github(self, event: str, payload: dict) -> None:
        body = body_of(payload)
        resp = await self.client.post("/webhooks/github", data=body,
                                      headers=github_headers(event, body, SECRETS["GITHUB_WEBHOOK_SECRET"]))
        assert resp.status == 202, await resp.text()

    async def board(self, until, timeout: float = 30.0) -> dict:
        """The board document (through its API, with the token) once `until(doc)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            resp = await self.client.get("/api/board", headers={"Authorization": f"Bearer {TOKEN}"})
            doc = await resp.json()
            if until(doc) or time.monotonic() > deadline:
                assert until(doc), json.dumps(doc, indent=1)[:3000]
                return doc
            await asyncio.sleep(0.1)


def environment(doc: dict, name: str) -> dict | None:
    for repo in doc["repositories"]:
        for env in repo["environments"]:
            if env["name"] == name:
                return env
    return None


@pytest.fixture
async def shipbot(serve, sqlite_db):
    settings = make_settings(**SECRETS, SHIPBOT_SLACK_CHANNELS="C0123DEPLOY=github:octo/widget",
                             SHIPBOT_BOARD_TOKEN=TOKEN)
    forge = FakeForge("github")
    forge.repo("octo/widget").files["main", ".shipbot.yml"] = CONFIG
    services = build_services(settings, sqlite_db, forges={"github": forge, "gitlab": FakeForge("gitlab")})
    return Shipbot(await serve(settings, services, workers=True), forge, sqlite_db)


async def deployed_to_staging(bot: Shipbot) -> None:
    """`/deploy staging` in Slack, then GitHub reports the deployment's success by webhook."""
    await bot.slack("/deploy", "staging")
    await bot.board(lambda doc: bool(bot.forge.writes("create_deployment")))
    [call] = bot.forge.writes("create_deployment")
    await bot.github("deployment_status", status_event(call, "in_progress", log_url=RUN))
    await bot.github("deployment_status", status_event(call, "success", log_url=RUN,
                                                       environment_url="https://staging.example.com"))
    await bot.board(lambda doc: (environment(doc, "staging") or {}).get("current") is not None)


class TestBoardInChromium:
    async def test_refused_without_token_then_shows_environments_and_locks(self, shipbot):
        """Refused without the token; signed in, the board shows the deploy and, without a reload, a new lock."""
        bot = shipbot
        await deployed_to_staging(bot)
        SHOTS.mkdir(parents=True, exist_ok=True)
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM)
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                page = await context.new_page()
                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))

                refused = await page.goto(bot.url("/api/board"))
                assert refused.status == 401 and "Bearer" in refused.headers["www-authenticate"]
                refused = await page.goto(bot.url("/board"))
                assert refused.status == 401
                assert "Environments" not in await page.content() and "slack:U0123ABC" not in await page.content()
                await page.get_by_role("link", name="Sign in with the board token").click()
                await page.get_by_label("Board token").fill("not-the-token")
                async with page.expect_response(lambda r: r.url.endswith("/board/login")) as wrong:
                    await page.get_by_role("button", name="Sign in").click()
                assert (await wrong.value).status == 401
                await playwright_api.expect(page.get_by_role("alert")).to_contain_text("not the one set")
                problems.clear()  # the browser logs the 401s above as console errors

                await page.get_by_label("Board token").fill(TOKEN)
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(bot.url("/board"))
                await playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text("Environments")
                repo = page.get_by_role("region", name=re.compile(r"^octo.widget"))
                await playwright_api.expect(repo).to_be_visible()
                staging = page.locator("article.env[data-environment=staging]")
                await playwright_api.expect(staging).to_contain_text("deployed")
                await playwright_api.expect(staging).to_contain_text("slack:U0123ABC")
                await playwright_api.expect(staging.get_by_role("link", name="deploy run of main")).to_have_attribute(
                    "href", RUN)
                await playwright_api.expect(page.locator("#queue-heading")).to_contain_text("healthy")
                # One deploy is too little to speak of a frequency: the board says so instead of a number.
                metrics = page.locator("article.metrics[data-environment=staging]")
                await playwright_api.expect(metrics).to_contain_text("too little data")
                await playwright_api.expect(metrics).to_contain_text("fewer than 2 successful deploys in the last 30")
                await playwright_api.expect(metrics.get_by_role("img")).to_have_attribute(
                    "aria-label", re.compile("1 succeeded, 0 failed"))
                await playwright_api.expect(metrics.locator("rect.bar")).to_have_count(1)

                # A lock taken in Slack appears by itself: the refresh script polls /api/board under the CSP.
                await bot.slack("/lock", "production database migration")
                production = page.locator("article.env[data-environment=production]")
                await playwright_api.expect(production).to_contain_text("Locked by slack:U0123ABC", timeout=20_000)
                await playwright_api.expect(production).to_contain_text("database migration")
                await playwright_api.expect(page.locator("#refresh-status")).to_contain_text("Updated")

                await page.get_by_role("link", name="7 days").click()
                await page.wait_for_url(bot.url("/board?window=7"))
                await playwright_api.expect(page.get_by_role("link", name="7 days")).to_have_attribute(
                    "aria-current", "page")
                await playwright_api.expect(page.get_by_role("heading", name="Delivery metrics, last 7 days")).to_be_visible()
                await page.screenshot(path=str(SHOTS / "board-desktop.png"), full_page=True)
                assert problems == [], problems  # no CSP violation, no script error
                await self.check_accessibility(page)

                phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                                  has_touch=True, storage_state=await context.storage_state())
                small = await phone.new_page()
                await small.goto(bot.url("/board"))
                await playwright_api.expect(small.locator("article.env[data-environment=production]")).to_contain_text(
                    "database migration")
                overflow = await small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"the phone layout scrolls sideways by {overflow}px"
                await small.screenshot(path=str(SHOTS / "board-phone.png"), full_page=True)

                # Every status look at once (failed, in progress, sample data) for axe and the contrast check.
                await sample.add_samples(bot.db)
                await small.goto(bot.url("/board?window=90"))
                await playwright_api.expect(small.get_by_text("Sample data.")).to_be_visible()
                await small.screenshot(path=str(SHOTS / "board-sample-phone.png"), full_page=True)
                await self.check_accessibility(small, looks={"tag status-bad", "tag status-busy", "tag status-sample"})

                plain = await browser.new_context(java_script_enabled=False,
                                                  storage_state=await context.storage_state())
                nojs = await plain.new_page()
                await nojs.goto(bot.url("/board"))
                widget = nojs.get_by_role("region", name=re.compile(r"^octo.widget"))
                await playwright_api.expect(widget.locator("article.env[data-environment=staging]")).to_contain_text(
                    "deployed")
            finally:
                await browser.close()
        assert (SHOTS / "board-desktop.png").stat().st_size > 10_000
        assert (SHOTS / "board-phone.png").stat().st_size > 10_000

    @staticmethod
    async def check_accessibility(page, looks: set[str] = frozenset({"tag status-ok", "tag status-lock",
                                                                     "lock status-lock"})) -> None:
        """axe-core finds no serious or critical violation; every status colour has contrast >= 4.5:1."""
        await page.evaluate(AXE.read_text())
        violations = await page.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))")
        assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], violations
        colours = await page.evaluate(
            "[...document.querySelectorAll('[class*=status-]')].map(e => [e.className, "
            "getComputedStyle(e).color, getComputedStyle(e).backgroundColor])")
        assert looks <= {cls for cls, _, _ in colours}, colours
        for cls, fg, bg in colours:
            assert contrast(fg, bg) >= 4.5, (cls, fg, bg, round(contrast(fg, bg), 2))
        headings = await page.evaluate("[...document.querySelectorAll('h1,h2,h3')].map(h => h.tagName)")
        assert headings.count("H1") == 1 and "H2" in headings and "H3" in headings
