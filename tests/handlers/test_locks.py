"""/lock, /unlock and /locks in Slack and in comments: ownership, expiry, --steal and permissions."""
from __future__ import annotations

from sqlalchemy import update

from bot.store.tables import locks
from tests.conftest import deliver
from tests.handlers.chatops import (GITHUB_REPO, GITLAB_REPO, SLACK_ENV, comments, mr_note, pr_comment, slash,
                                    slack_texts)

PROD_ONLY_OCTOCAT = "deploy:\n  environments:\n    staging: {}\n    production:\n      allow: ['github:octocat']\n"


def services_with_widget(fake_services, config: str | None = None):
    services = fake_services(**SLACK_ENV)
    repo = services.forges["github"].repo("octo/widget")
    if config:
        repo.files["main", ".shipbot.yml"] = config
    return services


class TestLock:
    async def test_lock_refuses_others_and_names_the_owner(self, fake_services):
        """A locked environment refuses another person's lock, saying who holds it, since when, why and how to steal."""
        services = services_with_widget(fake_services)
        await deliver(services, "slack", "slack", slash("lock staging testing the migration"))
        row = await deliver(services, "slack", "slack", slash("lock staging", user="U0OTHER"))
        first, second = slack_texts(services)
        assert "<@U0123ABC> locked *staging* on *github:octo/widget* — testing the migration" in first
        assert row["progress"].count("refused") == 1
        assert "staging is locked by slack:U0123ABC since" in second
        assert "(testing the migration)" in second and "/lock staging --steal" in second

    async def test_steal_notifies_the_owner(self, fake_services):
        """--steal takes the lock over and tells the previous owner where they locked it."""
        services = services_with_widget(fake_services)
        await deliver(services, "slack", "slack", slash("lock staging mine"))
        await deliver(services, "slack", "slack", slash("lock staging --steal hotfix", user="U0OTHER"))
        posts = slack_texts(services, "post")
        assert len(posts) == 1
        assert "<@U0123ABC>, your lock on *staging*" in posts[0] and "taken over by <@U0OTHER>: hotfix" in posts[0]
        listing = await deliver(services, "slack", "slack", slash("locks"))
        assert listing["status"] == "done"
        assert "*staging* — <@U0OTHER>" in slack_texts(services)[-1]

    async def test_own_lock_is_renewed(self, fake_services):
        """Locking again what you hold renews it instead of refusing."""
        services = services_with_widget(fake_services)
        await deliver(services, "slack", "slack", slash("lock staging"))
        await deliver(services, "slack", "slack", slash("lock staging still testing"))
        assert "You still hold *staging*" in slack_texts(services)[-1]

    async def test_expired_lock_is_free(self, fake_services):
        """A lock past its expiry no longer holds anyone back."""
        services = services_with_widget(fake_services)
        await deliver(services, "slack", "slack", slash("lock staging"))
        async with services.db.begin() as conn:
            await conn.execute(update(locks).values(expires_at=0))
        await deliver(services, "slack", "slack", slash("lock staging", user="U0OTHER"))
        assert "<@U0OTHER> locked *staging*" in slack_texts(services)[-1]
        await deliver(services, "slack", "slack", slash("locks"))

    async def test_lock_needs_deploy_permission(self, fake_services):
        """Only who may deploy to an environment may lock it; the refusal says who may."""
        services = services_with_widget(fake_services, PROD_ONLY_OCTOCAT)
        await deliver(services, "slack", "slack", slash("lock production"))
        assert "slack:U0123ABC may not lock production; who may: github:octocat" in slack_texts(services)[0]

    async def test_unknown_environment_suggests(self, fake_services):
        """A typo in the environment gets the known ones and a suggestion."""
        services = services_with_widget(fake_services, PROD_ONLY_OCTOCAT)
        await deliver(services, "slack", "slack", slash("lock stagign"))
        assert "unknown environment 'stagign'; known: staging, production; did you mean 'staging'?" in (
            slack_texts(services)[0])


class TestUnlock:
    async def test_only_the_owner_unlocks(self, fake_services):
        """Someone else's lock is not released by /unlock; the owner's /unlock releases it."""
        services = services_with_widget(fake_services)
        await deliver(services, "slack", "slack", slash("lock staging"))
        await deliver(services, "slack", "slack", slash("unlock staging", user="U0OTHER"))
        assert "only they can unlock it" in slack_texts(services)[-1]
        await deliver(services, "slack", "slack", slash("unlock staging"))
        assert "*staging* on *github:octo/widget* is unlocked" in slack_texts(services)[-1]
        await deliver(services, "slack", "slack", slash("locks"))
        assert "No environment is locked" in slack_texts(services)[-1]


class TestLocksInComments:
    async def test_pr_comment_needs_write_access(self, fake_services):
        """A commenter without write access is refused, with what they need."""
        services = fake_services()
        forge = services.forges["github"]
        forge.repo(GITHUB_REPO)
        await deliver(services, "github", "issue_comment", pr_comment("/lock staging"))
        assert "you need write access to Codertocat/Hello-World" in comments(forge, GITHUB_REPO)[0]
        forge.repo(GITHUB_REPO).permissions["Codertocat"] = "write"
        await deliver(services, "github", "issue_comment", pr_comment("/lock staging"))
        assert "`github:Codertocat` locked **staging**" in comments(forge, GITHUB_REPO)[1]

    async def test_gitlab_needs_the_long_form(self, fake_services):
        """In GitLab `/lock` is GitLab's own quick action; `/shipbot lock` reaches shipbot."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = services.forges["gitlab"]
        forge.repo(GITLAB_REPO).permissions["root"] = "maintain"
        await deliver(services, "gitlab", "Note Hook", mr_note("/lock staging"))
        assert comments(forge, GITLAB_REPO) == []
        await deliver(services, "gitlab", "Note Hook", mr_note("/shipbot lock staging db work"))
        assert "`gitlab:root` locked **staging** — db work" in comments(forge, GITLAB_REPO)[0]
        await deliver(services, "gitlab", "Note Hook", mr_note("/shipbot locks"))
        assert "| staging | `gitlab:root` |" in comments(forge, GITLAB_REPO)[1]
