"""/deploys lists the history; /rollback redeploys the success before the current one, under the deploy rules."""
from __future__ import annotations

from tests.conftest import deliver
from tests.handlers.chatops import SLACK_ENV, click, slack_texts, slash
from tests.handlers.test_deploy import PROD, created, rows
from tests.handlers.test_deploy_status import status_event


async def deploy_and_finish(services, text: str, state: str = "success", *, user: str = "U0123ABC") -> None:
    """Deploy from Slack and report a final status for it, as the user's CI would."""
    await deliver(services, "slack", "slack", slash(text, user=user))
    await finish_last(services, state)


def widget(fake_services, config: str | None = None):
    services = fake_services(**SLACK_ENV)
    repo = services.forges["github"].repo("octo/widget")
    if config:
        repo.files["main", ".shipbot.yml"] = config
    return services, repo


class TestDeploys:
    async def test_history_lists_who_what_when_result(self, fake_services):
        """/deploys shows each deploy with its ref, commit, requester and result, newest first."""
        services, repo = widget(fake_services)
        await deploy_and_finish(services, "deploy staging")
        repo.refs["main"] = "b" * 40
        await deploy_and_finish(services, "deploy staging", "failure", user="U0OTHER")
        await deliver(services, "slack", "slack", slash("deploys staging"))
        listing = slack_texts(services)[-1]
        assert "*Last deploys* to *staging*" in listing
        newest, oldest = [line for line in listing.splitlines() if "· *staging* ·" in line]
        assert "`main` (bbbbbbb) · <@U0OTHER> · failure" in newest
        assert "`main` (aaaaaaa) · <@U0123ABC> · success" in oldest

    async def test_empty_history(self, fake_services):
        """Without deploys the answer says so."""
        services, _ = widget(fake_services)
        await deliver(services, "slack", "slack", slash("deploys"))
        assert "No deploys yet on *github:octo/widget*" in slack_texts(services)[-1]


class TestRollback:
    async def test_redeploys_the_previous_success(self, fake_services):
        """A rollback deploys the commit of the success before the current one, pinned by sha."""
        services, repo = widget(fake_services)
        await deploy_and_finish(services, "deploy staging")
        repo.refs["main"] = "b" * 40
        await deploy_and_finish(services, "deploy staging")
        await deliver(services, "slack", "slack", slash("rollback staging"))
        call = created(services)[-1]
        assert call["ref"] == "a" * 40 and call["inputs"]["ref"] == "main" and call["inputs"]["sha"] == "a" * 40
        records = await rows(services)
        assert records[-1]["rollback_of"] == records[1]["id"] and records[-1]["status"] == "queued"
        assert "(rollback)" in slack_texts(services, "update")[-1]

    async def test_nothing_to_roll_back_to(self, fake_services):
        """With one successful deploy there is nothing earlier, and the answer says where to look."""
        services, _ = widget(fake_services)
        await deploy_and_finish(services, "deploy staging")
        await deliver(services, "slack", "slack", slash("rollback staging"))
        assert "there is no earlier successful deploy of staging" in slack_texts(services)[-1]

    async def test_protected_rollback_is_confirmed_and_pinned(self, fake_services):
        """Rolling back production asks for confirmation; confirming deploys the old commit, not main's head."""
        services, repo = widget(fake_services, PROD.replace("require_checks: true", "require_checks: false"))
        for sha in ("a", "b"):
            repo.refs["main"] = sha * 40
            await deliver(services, "slack", "slack", slash("deploy production"))
            await confirm_last(services)
            await finish_last(services, "success")
        repo.refs["main"] = "c" * 40
        await deliver(services, "slack", "slack", slash("rollback production"))
        ask = await confirm_last(services)
        assert "confirm the *rollback* of *production*" in ask.data["text"] and "(aaaaaaa)" in ask.data["text"]
        call = created(services)[-1]
        assert len(created(services)) == 3 and call["inputs"]["sha"] == "a" * 40 and call["ref"] == "a" * 40


async def confirm_last(services):
    """Press Confirm on the newest message with buttons, as its requester; return that message."""
    ask = [w for w in services.chat.writes.writes if w.action == "post" and len(w.data.get("blocks") or ()) == 2][-1]
    await deliver(services, "slack", "slack", click("deploy_confirm", ask.data["blocks"][1]["elements"][0]["value"],
                                                    message_ts=ask.data["ts"]))
    return ask


async def finish_last(services, state: str) -> None:
    """Report a final status for the newest deployment, as the user's CI would."""
    event = status_event(created(services)[-1], state)
    event["deployment"]["id"] = int((await rows(services))[-1]["forge_id"])
    await deliver(services, "github", "deployment_status", event)
