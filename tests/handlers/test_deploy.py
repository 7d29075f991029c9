"""/deploy from Slack and from comments: checks, refusals, confirmation, one deploy per environment, failures."""
from __future__ import annotations

import asyncio
import re

from sqlalchemy import select, update

from bot.forge.base import ChangeRequest, Check, ForgeUnavailable
from bot.store.tables import active_deploys, confirmations, deployments
from bot.worker import Worker
from tests.conftest import deliver
from tests.handlers.chatops import (GITHUB_REPO, GITLAB_REPO, SLACK_ENV, click, comments, mr_note, pr_comment,
                                    slack_texts, slash)

PROD = ("deploy:\n  environments:\n    staging:\n      branches: [main, 'release/*']\n"
        "    production:\n      aliases: [prod]\n      allow: ['github:Codertocat', 'slack:U0123ABC']\n"
        "      require_checks: true\n")


def widget(fake_services, config: str | None = None):
    """Services with octo/widget linked to the Slack channel C0DEPLOY."""
    services = fake_services(**SLACK_ENV)
    repo = services.forges["github"].repo("octo/widget")
    repo.refs["release/1.2"] = "b" * 40
    if config:
        repo.files["main", ".shipbot.yml"] = config
    return services


def hello_world(fake_services, config: str | None = None, *, writers=("Codertocat",)):
    """Services with GitHub's example repository, a PR #7 from branch `feature`, and writers."""
    services = fake_services()
    repo = services.forges["github"].repo(GITHUB_REPO)
    repo.refs["feature"] = "c" * 40
    repo.change_requests[7] = ChangeRequest(7, "Add a feature", "feature", "c" * 40, "main")
    for login in writers:
        repo.permissions[login] = "write"
    if config:
        repo.files["main", ".shipbot.yml"] = config
    return services


async def rows(services, table=deployments) -> list[dict]:
    async with services.db.connect() as conn:
        query = select(table).order_by(*table.primary_key.columns)
        return [dict(r) for r in (await conn.execute(query)).mappings().all()]


def created(services, forge="github") -> list[dict]:
    return services.forges[forge].writes("create_deployment")


class TestDeployFromSlack:
    async def test_deploy_staging_hands_ci_the_inputs(self, fake_services):
        """`/deploy staging` creates one deployment with the inputs DESIGN names and one status message."""
        services = widget(fake_services)
        job = await deliver(services, "slack", "slack", slash("deploy staging"))
        assert job["status"] == "done"
        (call,) = created(services)
        (record,) = await rows(services)
        assert call["ref"] == "main" and call["environment"] == "staging" and call["method"] == "deployment"
        assert call["inputs"] == {"environment": "staging", "ref": "main", "sha": "a" * 40,
                                  "shipbot_request_id": record["request_id"], "requested_by": "slack:U0123ABC"}
        assert call["payload"]["slack"] == {"channel": "C0DEPLOY", "ts": "dry.1"}
        assert record["status"] == "queued" and record["forge_id"] == "1000"
        post, update_ = services.chat.writes.writes
        assert post.action == "post" and update_.action == "update" and update_.data["ts"] == "dry.1"
        assert "*staging* ← `main` (aaaaaaa) on *github:octo/widget*: *queued*" in update_.data["text"]
        assert update_.data["blocks"][0]["type"] == "section"
        assert len(await rows(services, active_deploys)) == 1

    async def test_no_environment_is_never_production(self, fake_services):
        """A deploy without an environment is a usage error, never a deploy anywhere."""
        services = widget(fake_services)
        await deliver(services, "slack", "slack", slash("deploy"))
        assert "which environment?" in slack_texts(services)[0] and created(services) == []

    async def test_production_without_allow_is_refused(self, fake_services):
        """With no .shipbot.yml, production needs an explicit allow list: nobody may deploy there."""
        services = widget(fake_services)
        await deliver(services, "slack", "slack", slash("deploy prod"))
        assert "may not deploy to production; who may: nobody yet" in slack_texts(services)[0]
        assert created(services) == []

    async def test_unknown_environment_suggests(self, fake_services):
        """A typo names the known environments and the likely one."""
        services = widget(fake_services, PROD)
        await deliver(services, "slack", "slack", slash("deploy stagign"))
        assert "unknown environment 'stagign'; known: staging, production; did you mean 'staging'?" in (
            slack_texts(services)[0])

    async def test_branch_not_allowed(self, fake_services):
        """A ref outside the environment's branches is refused with the allowed globs; a matching one deploys."""
        services = widget(fake_services, PROD)
        services.forges["github"].repo("octo/widget").refs["feature/x"] = "d" * 40
        await deliver(services, "slack", "slack", slash("deploy staging feature/x"))
        assert "feature/x may not be deployed to staging; allowed refs: main, release/*" in slack_texts(services)[0]
        await deliver(services, "slack", "slack", slash("deploy widget@release/1.2 to staging"))
        assert [c["ref"] for c in created(services)] == ["release/1.2"]

    async def test_locked_environment_refuses_others(self, fake_services):
        """A lock refuses others' deploys naming who locked it and why; its owner still deploys."""
        services = widget(fake_services)
        await deliver(services, "slack", "slack", slash("lock staging db migration", user="U0OTHER"))
        await deliver(services, "slack", "slack", slash("deploy staging"))
        assert "staging is locked by slack:U0OTHER since" in slack_texts(services)[-1]
        assert "(db migration)" in slack_texts(services)[-1] and created(services) == []
        await deliver(services, "slack", "slack", slash("deploy staging", user="U0OTHER"))
        assert len(created(services)) == 1

    async def test_one_deploy_at_a_time(self, fake_services):
        """Two deploys to one environment at once: exactly one starts, the other is told who is deploying."""
        services = widget(fake_services)
        await asyncio.gather(deliver(services, "slack", "slack", slash("deploy staging")),
                             deliver(services, "slack", "slack", slash("deploy staging", user="U0OTHER")))
        assert len(created(services)) == 1
        assert any("staging is busy:" in t and "one deploy at a time" in t for t in slack_texts(services))

    async def test_concurrent_handlers_claim_once(self, fake_services):
        """Two handler runs racing inside one worker still create exactly one deployment."""
        services = widget(fake_services)
        from bot.queue import NewJob
        for i, user in enumerate(("U0123ABC", "U0OTHER")):
            import json
            await services.queue.enqueue(NewJob(f"slack:race{i}", "slack", "slack", "slash_command", None,
                                                json.dumps(slash("deploy staging", user=user)).encode()))
        worker = Worker(services, name="w")
        jobs = await services.queue.claim("w", 10)
        await asyncio.gather(*(worker.process(j) for j in jobs))
        assert len(created(services)) == 1 and len(await rows(services)) == 1

    async def test_forge_failing_midway(self, fake_services):
        """A forge outage leaves nothing reported as done, frees the environment, and the retry deploys once."""
        services = widget(fake_services)
        forge = services.forges["github"]
        forge.fail_next["create_deployment"] = ForgeUnavailable("GitHub answered 502")
        job = await deliver(services, "slack", "slack", slash("deploy staging"))
        assert job["status"] == "pending" and created(services) == []
        (record,) = await rows(services)
        assert record["status"] == "error" and "could not start: GitHub answered 502" in record["description"]
        assert await rows(services, active_deploys) == []
        assert not any("deployed" in t or "queued" in t for t in slack_texts(services))
        await services.queue.retry(job["id"])
        worker = Worker(services, name="w")
        for again in await services.queue.claim("w", 10):
            await worker.process(again)
        (record2,) = await rows(services)
        assert len(created(services)) == 1 and record2["id"] == record["id"] and record2["status"] == "queued"
        assert [w.action for w in services.chat.writes.writes] == ["post", "update", "update"]

    async def test_required_checks(self, fake_services):
        """Failing checks refuse a deploy that requires them; --force by an allowed person overrides."""
        services = widget(fake_services, PROD.replace("      require_checks: true\n", "      require_checks: true\n"
                                                       "      confirm: false\n"))
        forge = services.forges["github"]
        forge.repo("octo/widget").checks["a" * 40] = [Check(1, "test", "completed", "failure"),
                                                      Check(2, "lint", "completed", "success")]
        await deliver(services, "slack", "slack", slash("deploy production"))
        assert "checks on main (aaaaaaa) are not green: test (failure)" in slack_texts(services)[-1]
        await deliver(services, "slack", "slack", slash("deploy production --force"))
        (call,) = created(services)
        assert call["required_checks"] is False


class TestDeployFromComments:
    async def test_pr_comment_deploys_the_head(self, fake_services):
        """In a PR comment the ref is the PR head, and the PR gets one deploy comment."""
        services = hello_world(fake_services)
        await deliver(services, "github", "issue_comment", pr_comment("/deploy staging"))
        (call,) = created(services)
        assert call["ref"] == "feature" and call["inputs"]["sha"] == "c" * 40
        assert call["inputs"]["requested_by"] == "github:Codertocat"
        (comment,) = services.forges["github"].writes("upsert_comment")
        assert "`feature` (ccccccc) to **staging**: **queued**" in comment["body"]
        assert comment["marker"].startswith("<!-- shipbot:deploy:")

    async def test_commenter_without_write_access(self, fake_services):
        """A commenter without write access is refused and told what is needed."""
        services = hello_world(fake_services, writers=())
        await deliver(services, "github", "issue_comment", pr_comment("/deploy staging"))
        assert "you need write access to Codertocat/Hello-World" in comments(services.forges["github"], GITHUB_REPO)[0]
        assert created(services) == []

    async def test_gitlab_note_runs_a_pipeline(self, fake_services):
        """A GitLab MR note deploys the MR's branch with a pipeline."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        repo = services.forges["gitlab"].repo(GITLAB_REPO)
        repo.permissions["root"] = "maintain"
        repo.refs["markdown"] = "e" * 40
        repo.change_requests[1] = ChangeRequest(1, "MR", "markdown", "e" * 40, "master")
        await deliver(services, "gitlab", "Note Hook", mr_note("/deploy review"))
        (call,) = created(services, "gitlab")
        assert call["method"] == "pipeline" and call["ref"] == "markdown" and call["environment"] == "review"
        assert "job" not in call

    async def test_gitlab_manual_job(self, fake_services):
        """An environment naming a manual job has the forge play that job of the pipeline."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        repo = services.forges["gitlab"].repo(GITLAB_REPO)
        repo.permissions["root"] = "maintain"
        repo.files["main", ".shipbot.yml"] = "deploy:\n  environments:\n    staging:\n      job: deploy-staging\n"
        await deliver(services, "gitlab", "Note Hook", mr_note("/deploy staging main"))
        (call,) = created(services, "gitlab")
        assert call["job"] == "deploy-staging" and call["ref"] == "main"


def code_in(text: str) -> str:
    return re.search(r"/deploy confirm (\w+)", text).group(1)


class TestConfirmInComments:
    async def test_code_by_the_same_person_deploys_once(self, fake_services):
        """Production answers with a code; only the requester's confirm deploys, and only once."""
        services = hello_world(fake_services, PROD.replace("require_checks: true", "require_checks: false"),
                               writers=("Codertocat", "hubot"))
        forge = services.forges["github"]
        await deliver(services, "github", "issue_comment", pr_comment("/deploy production main"))
        assert created(services) == []
        code = code_in(comments(forge, GITHUB_REPO)[0])
        await deliver(services, "github", "issue_comment", pr_comment(f"/deploy confirm {code}", login="hubot"))
        assert "only github:Codertocat, who asked for this deploy, can confirm it" in comments(forge, GITHUB_REPO)[1]
        await deliver(services, "github", "issue_comment", pr_comment(f"/deploy confirm {code}"))
        await deliver(services, "github", "issue_comment", pr_comment(f"/deploy confirm {code}"))
        assert len(created(services)) == 1 and created(services)[0]["environment"] == "production"
        assert "this deploy was confirmed already" in comments(forge, GITHUB_REPO)[-1]

    async def test_expired_confirmation(self, fake_services):
        """A code past confirm_ttl deploys nothing."""
        services = hello_world(fake_services, PROD.replace("require_checks: true", "require_checks: false"))
        forge = services.forges["github"]
        await deliver(services, "github", "issue_comment", pr_comment("/deploy prod main"))
        async with services.db.begin() as conn:
            await conn.execute(update(confirmations).values(expires_at=0))
        await deliver(services, "github", "issue_comment",
                      pr_comment(f"/deploy confirm {code_in(comments(forge, GITHUB_REPO)[0])}"))
        assert "the confirmation expired" in comments(forge, GITHUB_REPO)[-1] and created(services) == []

    async def test_ref_rechecked_at_confirmation(self, fake_services):
        """If the ref moved between request and confirmation, nothing is deployed."""
        services = hello_world(fake_services, PROD.replace("require_checks: true", "require_checks: false"))
        forge = services.forges["github"]
        await deliver(services, "github", "issue_comment", pr_comment("/deploy production main"))
        forge.repo(GITHUB_REPO).refs["main"] = "f" * 40
        await deliver(services, "github", "issue_comment",
                      pr_comment(f"/deploy confirm {code_in(comments(forge, GITHUB_REPO)[0])}"))
        assert "main moved from aaaaaaa to fffffff since you asked" in comments(forge, GITHUB_REPO)[-1]
        assert created(services) == []


class TestConfirmButtons:
    async def test_only_the_requester_confirms_once(self, fake_services):
        """Confirm/Cancel buttons: another user's click is refused, the requester's deploys, a double click does not."""
        services = widget(fake_services, PROD)
        await deliver(services, "slack", "slack", slash("deploy production"))
        (post,) = services.chat.writes.writes
        actions = post.data["blocks"][1]
        assert [e["action_id"] for e in actions["elements"]] == ["deploy_confirm", "deploy_cancel"]
        assert actions["elements"][0]["style"] == "danger"
        code = actions["elements"][0]["value"]
        await deliver(services, "slack", "slack", click("deploy_confirm", code, user="U0OTHER"))
        assert "only slack:U0123ABC, who asked for this deploy, can confirm it" in slack_texts(services)[-1]
        await deliver(services, "slack", "slack", click("deploy_confirm", code))
        await deliver(services, "slack", "slack", click("deploy_confirm", code))
        assert len(created(services)) == 1
        assert "this deploy was confirmed already" in slack_texts(services)[-1]
        updates = [w for w in services.chat.writes.writes if w.action == "update"]
        assert updates and all(u.data["ts"] == post.data["ts"] for u in updates)
        assert "*production* ← `main`" in updates[-1].data["text"]

    async def test_cancel(self, fake_services):
        """Cancel by the requester removes the buttons; a later Confirm deploys nothing."""
        services = widget(fake_services, PROD)
        await deliver(services, "slack", "slack", slash("deploy production"))
        code = services.chat.writes.writes[0].data["blocks"][1]["elements"][1]["value"]
        await deliver(services, "slack", "slack", click("deploy_cancel", code))
        assert "cancelled the deploy of `main`" in slack_texts(services, "update")[0]
        await deliver(services, "slack", "slack", click("deploy_confirm", code))
        assert "this deploy was cancelled already" in slack_texts(services)[-1] and created(services) == []


GROUPS = ("deploy:\n  environments:\n    production:\n      confirm: false\n"
          "      allow: ['github-team:octo/ops', 'slack-group:S0OPS']\n")


class TestGroups:
    async def test_slack_user_group(self, fake_services):
        """A member of an allowed Slack user group deploys; others are told which groups may."""
        services = widget(fake_services, GROUPS)
        services.chat.usergroups["S0OPS"] = {"U0123ABC"}
        await deliver(services, "slack", "slack", slash("deploy production", user="U0OTHER"))
        assert ("slack:U0OTHER may not deploy to production; who may: members of github-team:octo/ops, "
                "members of slack-group:S0OPS") in slack_texts(services)[-1]
        await deliver(services, "slack", "slack", slash("deploy production"))
        assert len(created(services)) == 1

    async def test_github_team(self, fake_services):
        """A commenter in an allowed GitHub team deploys; a writer outside it does not."""
        services = hello_world(fake_services, GROUPS, writers=("Codertocat", "hubot"))
        services.forges["github"].repo(GITHUB_REPO).teams["octo/ops"] = {"Codertocat"}
        await deliver(services, "github", "issue_comment", pr_comment("/deploy production main", login="hubot"))
        assert "github:hubot may not deploy to production" in comments(services.forges["github"], GITHUB_REPO)[-1]
        await deliver(services, "github", "issue_comment", pr_comment("/deploy production main"))
        assert [c["environment"] for c in created(services)] == ["production"]


class TestExpiredButtons:
    async def test_expired_confirm_removes_the_buttons(self, fake_services):
        """Confirm after confirm_ttl deploys nothing and replaces the buttons with why."""
        services = widget(fake_services, PROD)
        await deliver(services, "slack", "slack", slash("deploy production"))
        code = services.chat.writes.writes[0].data["blocks"][1]["elements"][0]["value"]
        async with services.db.begin() as conn:
            await conn.execute(update(confirmations).values(expires_at=0))
        await deliver(services, "slack", "slack", click("deploy_confirm", code))
        (update_,) = [w for w in services.chat.writes.writes if w.action == "update"]
        assert "was not confirmed in time; nothing was deployed" in update_.data["text"]
        assert "the confirmation expired" in slack_texts(services, "respond")[-1] and created(services) == []


class TestHelpAndAudit:
    async def test_help_explains_deploy(self, fake_services):
        """`/help deploy` shows the usage, examples and who may deploy."""
        services = widget(fake_services)
        await deliver(services, "slack", "slack", slash("help deploy"))
        text = slack_texts(services)[-1]
        assert "/deploy <env> [<ref>] [--repo R] [--force]" in text and "/deploy confirm k7x9m2pq" in text

    async def test_help_lists_deploy_commands_only_to_who_may_deploy(self, fake_services):
        """Only staging and production with an allow list: an outsider's /help hides deploy, lock and release."""
        config = ("deploy:\n  environments:\n    staging:\n      allow: ['slack:U0123ABC']\n"
                  "    production:\n      allow: ['slack:U0123ABC']\n")
        services = widget(fake_services, config)
        await deliver(services, "slack", "slack", slash("help"))
        await deliver(services, "slack", "slack", slash("help", user="U0OUTSIDER"))
        allowed, outsider = slack_texts(services)
        for usage in ("/deploy <env>", "/lock <env>", "/unlock <env>", "/rollback <env>"):
            assert usage in allowed and usage not in outsider
        assert "/deploys" in outsider and "/locks" in outsider and "/shipbot help" in outsider
        assert "/release [" not in outsider

    async def test_help_in_a_comment_follows_repository_permissions(self, fake_services):
        """In a PR comment a reader is not shown /deploy or /release; a maintainer is shown both."""
        services = hello_world(fake_services, writers=())
        repo = services.forges["github"].repo(GITHUB_REPO)
        repo.permissions.update({"reader": "read", "Codertocat": "maintain"})
        await deliver(services, "github", "issue_comment", pr_comment("/help"))
        await deliver(services, "github", "issue_comment", pr_comment("/help", login="reader"))
        maintainer, reader = comments(services.forges["github"], GITHUB_REPO)
        assert "`/deploy <env>" in maintainer and "`/release [" in maintainer and "`/release-as" in maintainer
        assert "/deploy <env>" not in reader and "/release [" not in reader and "/release-as" not in reader

    async def test_every_decision_is_audited(self, fake_services):
        """The confirmation request, the confirmation, the start and a refusal each leave an audit row."""
        from bot.store.tables import audit_log
        services = widget(fake_services, PROD)
        await deliver(services, "slack", "slack", slash("deploy production"))
        code = services.chat.writes.writes[0].data["blocks"][1]["elements"][0]["value"]
        await deliver(services, "slack", "slack", click("deploy_confirm", code, user="U0OTHER"))
        await deliver(services, "slack", "slack", click("deploy_confirm", code))
        await deliver(services, "slack", "slack", slash("deploy staging feature/x"))
        decisions = [(r["decision"], r["actor"]) for r in await rows(services, audit_log)]
        assert decisions == [("confirmation_requested", "slack:U0123ABC"), ("refused", "slack:U0OTHER"),
                             ("confirmed", "slack:U0123ABC"), ("deploy_started", "slack:U0123ABC"),
                             ("refused", "slack:U0123ABC")]


class TestRefusedAtConfirmation:
    async def test_busy_environment_at_confirmation(self, fake_services):
        """A confirmation refused because the environment got busy says so, and a second click does not deploy."""
        services = widget(fake_services, PROD.replace("require_checks: true", "require_checks: false"))
        await deliver(services, "slack", "slack", slash("deploy production"))
        code = services.chat.writes.writes[0].data["blocks"][1]["elements"][0]["value"]
        await deliver(services, "slack", "slack", slash("deploy production"))
        second = [w for w in services.chat.writes.writes if len(w.data.get("blocks") or ()) == 2][-1]
        await deliver(services, "slack", "slack", click(
            "deploy_confirm", second.data["blocks"][1]["elements"][0]["value"], message_ts=second.data["ts"]))
        assert len(created(services)) == 1
        await deliver(services, "slack", "slack", click("deploy_confirm", code))
        assert "production is busy:" in slack_texts(services)[-1]
        await deliver(services, "slack", "slack", click("deploy_confirm", code))
        assert "refused when it was confirmed; ask again" in slack_texts(services)[-1]
        assert len(created(services)) == 1
