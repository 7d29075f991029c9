"""DORA through the handlers: shipped commits recorded when production succeeds, and /shipbot dora answers."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import structlog
from sqlalchemy import select

from bot.errors import TransientError
from bot.forge.base import Commit
from bot.store.tables import dora_changes
from tests.conftest import deliver
from tests.handlers.chatops import GITHUB_REPO, comments, pr_comment, slack_texts, slash
from tests.handlers.test_deploy import created, hello_world, rows, widget
from tests.handlers.test_deploy_status import status_event

CONFIG = ("deploy:\n  environments:\n    staging: {}\n    production:\n      allow: ['slack:U0123ABC']\n"
          "      confirm: false\n")
H = 3600.0


def sha(n: int) -> str:
    return f"{n:040x}"


def history(services, repo: str = "octo/widget") -> None:
    """Six commits on main, newest first, one an hour apart (commit n was made 6 - n hours ago)."""
    now = time.time()
    services.forges["github"].repo(repo).commits = [
        Commit(sha(n), f"feat: {n}", date=datetime.fromtimestamp(now - (6 - n) * H, timezone.utc).isoformat())
        for n in range(5, -1, -1)]


async def deploy(services, env: str, n: int, state: str = "success") -> None:
    """Deploy commit n from Slack and let GitHub report `state` for it."""
    services.forges["github"].repo("octo/widget").refs["main"] = sha(n)
    await deliver(services, "slack", "slack", slash(f"deploy {env}"))
    await deliver(services, "github", "deployment_status", status_event(created(services)[-1], state))


async def shipped(services) -> list[tuple[int, str]]:
    async with services.db.connect() as conn:
        found = (await conn.execute(select(dora_changes.c.deployment_id, dora_changes.c.sha))).all()
    return sorted((r[0], r[1]) for r in found)


class TestCommitsRecorded:
    async def test_production_success_records_the_new_commits(self, fake_services):
        """The second production deploy records the commits since the first; staging records none."""
        services = widget(fake_services, CONFIG)
        history(services)
        await deploy(services, "production", 1)
        await deploy(services, "staging", 3)
        await deploy(services, "production", 4)
        records = await rows(services)
        assert [r["status"] for r in records] == ["success"] * 3
        assert await shipped(services) == [(records[2]["id"], sha(n)) for n in (2, 3, 4)]

    async def test_forge_failure_leaves_the_deploy_successful(self, fake_services):
        """compare failing is logged; the deploy is still recorded a success and announced."""
        services = widget(fake_services, CONFIG)
        history(services)
        await deploy(services, "production", 1)
        services.forges["github"].fail_next["compare"] = TransientError("GitHub answered 502")
        with structlog.testing.capture_logs() as logs:
            await deploy(services, "production", 2)
        assert [r["status"] for r in await rows(services)] == ["success", "success"]
        assert await shipped(services) == []
        assert any(e["event"] == "dora_changes_not_recorded" and "502" in e["error"] for e in logs)
        assert "*deployed*" in slack_texts(services, "update")[-1]

    async def test_failed_deploy_records_nothing(self, fake_services):
        """Only successes ship commits."""
        services = widget(fake_services, CONFIG)
        history(services)
        await deploy(services, "production", 1)
        await deploy(services, "production", 3, state="failure")
        assert await shipped(services) == []


class TestDoraCommand:
    async def test_slack_answer_in_a_linked_channel(self, fake_services):
        """The channel's repository: production with figures, too little data where so, staging frequency only."""
        services = widget(fake_services, CONFIG)
        history(services)
        for n in (0, 1, 2, 3):
            await deploy(services, "production", n)
        await deploy(services, "production", 4, state="failure")
        await deploy(services, "production", 5)
        await deploy(services, "staging", 5)
        await deliver(services, "slack", "slack", slash("dora 7d"))
        answer = slack_texts(services)[-1]
        assert answer.startswith("*DORA metrics of github:octo/widget*, last 7 days")
        assert "*production*\n• Deploys: 5.0 a week · 5 succeeded, 1 failed" in answer
        # Commits 1..5 shipped 5h..1h before their deploys, within seconds: median 5h - 3 hours.
        assert "• Lead time for changes: median 3h" in answer and "p90 too little data (5 commits)" in answer
        assert "• Change failure rate: 17% (1 of 6 deploys)" in answer
        assert "• Time to restore: median 0s (1 incident)" in answer
        assert ("*staging*\n• Deploys: too little data (fewer than 2 successful deploys in the last 7 days)"
                in answer)
        assert "measured for production environments only" in answer

    async def test_pr_comment_and_empty_window(self, fake_services):
        """In a PR comment the repository is the PR's; with no deploys the answer says there is too little data."""
        services = hello_world(fake_services)
        forge = services.forges["github"]
        await deliver(services, "github", "issue_comment", pr_comment("/shipbot dora 90d"))
        assert comments(forge, GITHUB_REPO)[-1].endswith(
            "**DORA metrics of Codertocat/Hello-World**, last 90 days\n\n"
            "No deploys in the last 90 days: too little data for any metric.\n")

    async def test_bad_window_and_typo_get_the_usage_error(self, fake_services):
        """`dora 45d` explains the windows; `dorra` suggests dora; nothing else is answered."""
        services = widget(fake_services, CONFIG)
        await deliver(services, "slack", "slack", slash("dora 45d"))
        await deliver(services, "slack", "slack", slash("dorra"))
        first, second = slack_texts(services)
        assert "'45d' is not a window; use one of 7d, 30d, 90d; usage: /shipbot dora [<repo>] [7d|30d|90d]" in first
        assert "unknown command '/dorra'; did you mean /dora?" in second

    async def test_help_lists_dora(self, fake_services):
        """/shipbot help dora explains the command."""
        services = widget(fake_services, CONFIG)
        await deliver(services, "slack", "slack", slash("help dora"))
        assert "*`/shipbot dora [<repo>] [7d|30d|90d]`* — DORA metrics" in slack_texts(services)[-1]
