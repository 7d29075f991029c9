"""Following deploys: GitHub deployment statuses, GitLab deployment and pipeline hooks, timeouts."""
from __future__ import annotations

import structlog
from sqlalchemy import update

from bot.forge.base import ChangeRequest
from bot.store.tables import active_deploys
from handlers.deploy_runs import sweep_timeouts
from tests.conftest import deliver
from tests.handlers.chatops import GITLAB_REPO, SLACK_ENV, mr_note, slack_texts, slash
from tests.handlers.test_deploy import created, hello_world, rows
from tests.peers import github_example, gitlab_payload


def status_event(call: dict | None, state: str, *, repo: str = "octo/widget", **status) -> dict:
    """GitHub's deployment_status example, pointed at a deployment shipbot created (or left as is)."""
    payload = github_example("deployment_status", "created")
    if call is not None:
        payload["repository"]["full_name"] = repo
        payload["deployment"]["id"] = 1000
        payload["deployment"]["payload"] = call["payload"]
    payload["deployment_status"].update(state=state, **status)
    return payload


async def deployed_to_staging(fake_services):
    services = fake_services(**SLACK_ENV)
    services.forges["github"].repo("octo/widget")
    await deliver(services, "slack", "slack", slash("deploy staging"))
    return services, created(services)[0]


class TestGitHubStatus:
    async def test_message_updated_in_place_to_success(self, fake_services):
        """in_progress then success update the one Slack message, note progress in its thread, free the env."""
        services, call = await deployed_to_staging(fake_services)
        run = "https://github.com/octo/widget/actions/runs/1"
        await deliver(services, "github", "deployment_status", status_event(call, "in_progress", log_url=run))
        await deliver(services, "github", "deployment_status", status_event(
            call, "success", environment_url="https://staging.example.com"))
        (record,) = await rows(services)
        assert record["status"] == "success" and record["run_url"] == run and record["finished_at"]
        assert record["environment_url"] == "https://staging.example.com"
        assert await rows(services, active_deploys) == []
        writes = services.chat.writes.writes
        updates = [w for w in writes if w.action == "update"]
        assert {u.data["ts"] for u in updates} == {"dry.1"}
        assert "*in progress*" in updates[-2].data["text"] and f"<{run}|run>" in updates[-2].data["text"]
        assert "*deployed*" in updates[-1].data["text"]
        notes = [w.data["text"] for w in writes if w.action == "post" and w.data.get("thread_ts") == "dry.1"]
        assert notes[0].startswith(":rocket: in progress") and notes[1].startswith(":white_check_mark: deployed")

    async def test_late_events_do_not_reopen(self, fake_services):
        """After a final status, a late in_progress changes nothing."""
        services, call = await deployed_to_staging(fake_services)
        await deliver(services, "github", "deployment_status", status_event(call, "failure"))
        before = len(services.chat.writes.writes)
        await deliver(services, "github", "deployment_status", status_event(call, "in_progress"))
        assert len(services.chat.writes.writes) == before and (await rows(services))[0]["status"] == "failure"

    async def test_deploys_we_did_not_start_are_ignored(self, fake_services):
        """GitHub's own example deployment is not ours: nothing is recorded or said."""
        services, _ = await deployed_to_staging(fake_services)
        before = len(services.chat.writes.writes)
        job = await deliver(services, "github", "deployment_status", status_event(None, "success"))
        assert job["status"] == "done" and len(services.chat.writes.writes) == before
        assert (await rows(services))[0]["status"] == "queued"

    async def test_pr_comment_line_follows(self, fake_services):
        """A deploy asked for in a PR keeps one comment there, edited as the status changes."""
        services = hello_world(fake_services)
        from tests.handlers.chatops import pr_comment
        await deliver(services, "github", "issue_comment", pr_comment("/deploy staging"))
        call = created(services)[0]
        await deliver(services, "github", "deployment_status",
                      status_event(call, "success", repo="Codertocat/Hello-World"))
        first, last = services.forges["github"].writes("upsert_comment")
        assert first["marker"] == last["marker"] and last["created"] is False
        assert "**deployed**" in last["body"]


class TestGitLabStatus:
    async def deployed(self, fake_services):
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        repo = services.forges["gitlab"].repo(GITLAB_REPO)
        repo.permissions["root"] = "maintain"
        repo.refs["markdown"] = "279484c09fbe69ededfced8c1bb6e6d24616b468"
        repo.change_requests[1] = ChangeRequest(1, "MR", "markdown", repo.refs["markdown"], "master")
        await deliver(services, "gitlab", "Note Hook", mr_note("/deploy staging"))
        return services, created(services, "gitlab")[0]

    async def test_pipeline_hook_with_our_request_id(self, fake_services):
        """A Pipeline Hook carrying our request id as a variable finishes the deploy."""
        services, call = await self.deployed(fake_services)
        payload = gitlab_payload("pipeline.json")
        payload["project"]["path_with_namespace"] = GITLAB_REPO
        payload["object_attributes"]["variables"] = [
            {"key": "SHIPBOT_REQUEST_ID", "value": call["inputs"]["shipbot_request_id"]}]
        payload["object_attributes"]["status"] = "failed"
        await deliver(services, "gitlab", "Pipeline Hook", payload)
        assert (await rows(services))[0]["status"] == "failure"
        assert "**failed**" in services.forges["gitlab"].writes("upsert_comment")[-1]["body"]

    async def test_deployment_hook_matches_environment_and_commit(self, fake_services):
        """A Deployment Hook for the environment's active deploy at the same commit moves it on."""
        services, _ = await self.deployed(fake_services)
        payload = gitlab_payload("deployment.json")
        payload["project"]["path_with_namespace"] = GITLAB_REPO
        payload["status"] = "running"
        await deliver(services, "gitlab", "Deployment Hook", payload)
        (record,) = await rows(services)
        assert record["status"] == "in_progress" and record["run_url"].endswith("/-/jobs/796")
        payload["short_sha"] = "0000000"
        payload["status"] = "success"
        await deliver(services, "gitlab", "Deployment Hook", payload)
        assert (await rows(services))[0]["status"] == "in_progress"


class TestTimeout:
    async def test_silent_deploy_times_out_and_frees_the_environment(self, fake_services):
        """A deploy without a final status past deploy.timeout is marked timed out when shipbot next looks."""
        services, call = await deployed_to_staging(fake_services)
        async with services.db.begin() as conn:
            await conn.execute(update(active_deploys).values(since=0))
        await deliver(services, "slack", "slack", slash("deploy staging", user="U0OTHER"))
        first, second = await rows(services)
        assert first["status"] == "timed_out" and first["description"] == "no final status after 1h"
        assert second["status"] == "queued" and len(created(services)) == 2
        (status,) = services.forges["github"].writes("set_deployment_status")
        assert status["state"] == "error" and status["deployment"] == "1000"
        assert any(t.startswith(":alarm_clock: timed out") for t in slack_texts(services, "post"))


    async def test_periodic_sweep(self, fake_services):
        """sweep_timeouts times out silent deploys without anyone asking, and leaves fresh ones alone."""
        services, _ = await deployed_to_staging(fake_services)
        await sweep_timeouts(services, structlog.get_logger())
        assert (await rows(services))[0]["status"] == "queued"
        async with services.db.begin() as conn:
            await conn.execute(update(active_deploys).values(since=0))
        await sweep_timeouts(services, structlog.get_logger())
        assert (await rows(services))[0]["status"] == "timed_out" and await rows(services, active_deploys) == []


class TestWorkflowRuns:
    async def test_dispatched_run_found_by_its_title(self, fake_services):
        """method: workflow: a workflow_run whose title carries our request id moves the deploy on."""
        services = fake_services(**SLACK_ENV)
        services.forges["github"].repo("octo/widget").files["main", ".shipbot.yml"] = (
            "deploy:\n  method: workflow\n  workflow: deploy-dispatch.yml\n")
        await deliver(services, "slack", "slack", slash("deploy staging"))
        (call,) = created(services)
        assert call["method"] == "workflow" and call["workflow"] == "deploy-dispatch.yml"
        payload = github_example("workflow_run", "completed")
        payload["repository"]["full_name"] = "octo/widget"
        run = payload["workflow_run"]
        run.update(event="workflow_dispatch", status="completed", conclusion="success",
                   display_title=f"deploy main to staging (shipbot {call['inputs']['shipbot_request_id']})")
        await deliver(services, "github", "workflow_run", payload)
        (record,) = await rows(services)
        assert record["status"] == "success" and record["run_url"] == run["html_url"]

    async def test_other_runs_are_ignored(self, fake_services):
        """A workflow run shipbot did not dispatch changes nothing."""
        services, _ = await deployed_to_staging(fake_services)
        payload = github_example("workflow_run", "completed")
        payload["repository"]["full_name"] = "octo/widget"
        await deliver(services, "github", "workflow_run", payload)
        assert (await rows(services))[0]["status"] == "queued"


class TestPullRequestLine:
    async def test_slack_deploy_of_a_pr_branch_shows_on_the_pr(self, fake_services):
        """A deploy asked for in Slack of a branch with an open PR keeps a line on that PR too."""
        services = fake_services(**SLACK_ENV)
        repo = services.forges["github"].repo("octo/widget")
        repo.refs["feature/login"] = "d" * 40
        repo.change_requests[12] = ChangeRequest(12, "Login", "feature/login", "d" * 40, "main")
        await deliver(services, "slack", "slack", slash("deploy staging feature/login"))
        await deliver(services, "github", "deployment_status", status_event(created(services)[0], "success"))
        first, last = services.forges["github"].writes("upsert_comment")
        assert first["number"] == last["number"] == 12 and "**deployed**" in last["body"]
