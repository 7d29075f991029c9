"""/shipbot link and unlink, and finding the repository a Slack command acts on."""
from __future__ import annotations

import pytest

from bot.context import Context
from bot.errors import CommandError
from bot.links import resolve_repo
from bot.sansio.events import RepoRef, normalize
from bot.sansio.repos import parse_repo
from tests.conftest import deliver


def slash(text: str, *, user: str = "U0123ABC", channel: str = "C0DEPLOY") -> dict:
    return {"command": "/shipbot", "text": text, "user_id": user, "user_name": "steve", "channel_id": channel,
            "channel_name": "deploys", "team_id": "T1", "trigger_id": "t", "response_url": "https://hooks.slack.com/x"}


def replies(services) -> list[str]:
    return [w.data["text"] for w in services.chat.writes.writes]


class TestParseRepo:
    @pytest.mark.parametrize("text, forges, expected", [
        ("octo/widget", ("github",), RepoRef("github", "octo/widget")),
        ("gitlab:g/sub/p", ("github", "gitlab"), RepoRef("gitlab", "g/sub/p")),
        ("https://github.com/octo/widget/pull/3", ("github",), RepoRef("github", "octo/widget")),
        ("https://gitlab.example.com/g/sub/p/-/merge_requests/1", ("gitlab",), RepoRef("gitlab", "g/sub/p")),
    ])
    def test_forms(self, text, forges, expected):
        """owner/name, forge-prefixed names and pasted URLs all work."""
        hosts = {"github.com": "github", "gitlab.example.com": "gitlab"}
        assert parse_repo(text, forges, hosts) == expected

    def test_bare_name_with_both_forges_lists_both(self):
        """With both forges configured a bare owner/name is ambiguous and the answer says how to write it."""
        assert parse_repo("octo/widget", ("github", "gitlab")) == (
            "'octo/widget' could be on either forge; write github:octo/widget or gitlab:octo/widget")


class TestLinkCommand:
    async def test_admin_links_and_channel_resolves(self, fake_services):
        """An admin links a channel; a command there then acts on that repository."""
        services = fake_services(SLACK_SIGNING_SECRET="s", SHIPBOT_SLACK_ADMINS="U0ADMIN")
        services.forges["github"].repo("octo/widget")
        row = await deliver(services, "slack", "slack", slash("link octo/widget", user="U0ADMIN"))
        assert row["status"] == "done"
        assert "can now run shipbot commands on *github:octo/widget*" in replies(services)[0]
        event = normalize("slack", "slack", slash("deploys"), "d")
        assert await resolve_repo(Context(event, None, services, None), None) == RepoRef("github", "octo/widget")

    async def test_repo_config_may_allow_the_channel(self, fake_services):
        """Without admin rights the repository's chat.slack_channels decides."""
        services = fake_services(SLACK_SIGNING_SECRET="s", GITLAB_WEBHOOK_SECRET="s")
        forge = services.forges["github"]
        forge.repo("octo/widget").files["main", ".shipbot.yml"] = "chat:\n  slack_channels: ['#deploys']\n"
        forge.repo("octo/other")
        await deliver(services, "slack", "slack", slash("link github:octo/widget"))
        await deliver(services, "slack", "slack", slash("link github:octo/other"))
        first, second = replies(services)
        assert "can now run" in first
        assert "does not list this channel: add `C0DEPLOY` to chat.slack_channels" in second

    async def test_unknown_repository(self, fake_services):
        """Linking a repository shipbot cannot see says so."""
        services = fake_services(SLACK_SIGNING_SECRET="s", SHIPBOT_SLACK_ADMINS="U0123ABC")
        await deliver(services, "slack", "slack", slash("link octo/missing"))
        assert "does not exist or shipbot cannot see it" in replies(services)[0]


class TestResolve:
    async def test_several_linked_repositories_need_a_name(self, fake_services):
        """A channel linked to two repositories asks which; a short name picks one."""
        services = fake_services(SLACK_SIGNING_SECRET="s", SHIPBOT_SLACK_CHANNELS="C0DEPLOY=github:octo/api,C0DEPLOY=github:octo/web")
        ctx = Context(normalize("slack", "slack", slash("deploy staging"), "d"), None, services, None)
        with pytest.raises(CommandError, match="linked to github:octo/api, github:octo/web; name one"):
            await resolve_repo(ctx, None)
        assert await resolve_repo(ctx, "web") == RepoRef("github", "octo/web")
        with pytest.raises(CommandError, match="not linked to this channel"):
            await resolve_repo(ctx, "github:octo/secret")

    async def test_comment_acts_on_its_own_repository(self, fake_services):
        """In a comment the repository is the comment's own; naming another is refused."""
        services = fake_services()
        payload = {"action": "created", "repository": {"full_name": "octo/widget"}, "sender": {"login": "dev"},
                   "issue": {"number": 1}, "comment": {"id": 1, "body": "/deploy staging"}}
        ctx = Context(normalize("github", "issue_comment", payload, "d"), None, services, None)
        assert await resolve_repo(ctx, None) == RepoRef("github", "octo/widget")
        with pytest.raises(CommandError, match="commands act on octo/widget"):
            await resolve_repo(ctx, "octo/other")
