"""Which adapter each platform gets: real with credentials, recorded writes in dry-run or without them."""
from __future__ import annotations

from contextlib import AsyncExitStack

from bot.adapters import open_adapters
from bot.chat.base import RecordingChat
from bot.chat.slack import SlackChat
from bot.forge.dryrun import DryRunForge
from bot.forge.github import GitHubForge
from bot.forge.gitlab import GitLabForge
from bot.writes import WriteLog
from tests.conftest import make_settings

GITLAB = {"GITLAB_URL": "http://127.0.0.1:9", "GITLAB_TOKEN": "glpat-test", "GITLAB_WEBHOOK_SECRET": "s"}
SLACK = {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-test"}


class TestChoice:
    async def test_credentials_give_real_adapters(self):
        """With credentials and no dry-run, GitLab and Slack get their real clients; GitHub without any records."""
        async with AsyncExitStack() as stack:
            forges, chat = await open_adapters(make_settings(**GITLAB, **SLACK), WriteLog(), stack)
            assert isinstance(forges["gitlab"], GitLabForge) and isinstance(chat, SlackChat)
            assert isinstance(forges["github"], DryRunForge) and forges["github"].offline

    async def test_github_token(self):
        """A GitHub token gives the real GitHub adapter."""
        async with AsyncExitStack() as stack:
            forges, _ = await open_adapters(make_settings(GITHUB_TOKEN="ghp-test"), WriteLog(), stack)
            assert isinstance(forges["github"], GitHubForge)

    async def test_dry_run_reads_through_real_client_and_records_writes(self):
        """SHIPBOT_DRY_RUN keeps the real client for reads and records every write."""
        writes = WriteLog()
        async with AsyncExitStack() as stack:
            forges, chat = await open_adapters(make_settings(**GITLAB, **SLACK, SHIPBOT_DRY_RUN="true"), writes, stack)
            gitlab = forges["gitlab"]
            assert isinstance(gitlab, DryRunForge) and isinstance(gitlab.inner, GitLabForge)
            assert isinstance(chat, RecordingChat)
            await chat.post("C1", "hello")
            assert [w.action for w in writes.writes] == ["post"]

    async def test_nothing_configured_is_offline(self):
        """With no credentials every platform records, and nothing is opened that needs closing."""
        async with AsyncExitStack() as stack:
            forges, chat = await open_adapters(make_settings(), WriteLog(), stack)
            assert all(isinstance(f, DryRunForge) and f.offline for f in forges.values())
            assert isinstance(chat, RecordingChat)
