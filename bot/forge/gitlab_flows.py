"""GitLab operations made of several calls: the release merge request, and deploys as pipelines."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

import gitlab
import structlog

from bot.forge.base import ChangeRequest, Deployment, ForgeError, NotFound
from bot.forge.gitlab_calls import project_of
from bot.forge.gitlab_shapes import DEPLOYMENT_STATES, change_request
from bot.sansio.events import RepoRef

if TYPE_CHECKING:
    from bot.forge.gitlab import GitLabForge

log = structlog.get_logger("shipbot.forge.gitlab")

# On GitLab every deploy is a pipeline: "deployment" (the default everywhere) and "workflow" mean it too.
METHODS = ("pipeline", "deployment", "workflow")
# Job statuses that mean "the job runs (or ran) by itself": nothing to play.
RUNNING = {"pending", "preparing", "running", "success", "scheduled", "waiting_for_resource",
           "waiting_for_callback"}


async def upsert_change_request(forge: GitLabForge, repo: RepoRef, *, branch: str, base: str, title: str,
                                body: str, files: dict[str, str], message: str) -> ChangeRequest:
    """Point `branch` at one new commit on top of `base` holding `files`; open or update its MR."""
    def present_on_base(gl: gitlab.Gitlab) -> set[str]:
        # A commit action must say "create" or "update", and which one depends on the file being on `base`.
        project, present = project_of(gl, repo), set()
        for path in files:
            try:
                project.files.head(path, ref=base)
                present.add(path)
            except gitlab.exceptions.GitlabHeadError as exc:
                if exc.response_code != 404:
                    raise
        return present

    present = await forge.run_read(f"read {base} of {repo.path}", present_on_base)
    actions = [{"action": "update" if path in present else "create", "file_path": path, "content": text}
               for path, text in files.items()]
    # One commit on top of `base`; `force` resets `branch` to it when the branch exists already:
    # https://docs.gitlab.com/ee/api/commits.html#create-a-commit-with-multiple-files-and-actions
    wanted_commit = {"branch": branch, "start_branch": base, "force": True, "commit_message": message,
                     "actions": actions}
    commit = await forge.run_write(f"commit to {branch} of {repo.path}",
                                   lambda gl: project_of(gl, repo).commits.create(wanted_commit).attributes)
    existing = await forge.find_change_request(repo, branch)
    if existing is None:
        created = await forge.run_write(f"open a merge request from {branch} in {repo.path}", lambda gl: (
            project_of(gl, repo).mergerequests.create({
                "source_branch": branch, "target_branch": base, "title": title, "description": body,
                "remove_source_branch": True}).attributes))
        request = change_request(created)
    else:
        wanted = (("title", title, existing.title), ("description", body, existing.body),
                  ("target_branch", base, existing.base_ref))
        changes = {key: new for key, new, old in wanted if new != old}
        request = existing
        if changes:
            request = change_request(await forge.run_write(
                f"update merge request !{existing.number} of {repo.path}",
                lambda gl: project_of(gl, repo).mergerequests.update(existing.number, changes)))
    # GitLab moves the MR's head to the new commit in the background; report the commit we made.
    return dataclasses.replace(request, head_sha=commit["id"])



async def start_pipeline(forge: GitLabForge, repo: RepoRef, *, ref: str, environment: str,
                         inputs: dict[str, str], payload: dict[str, Any], method: str,
                         job_name: str | None) -> Deployment:
    """Create a pipeline on `ref` with the inputs as variables; play `job_name` in it when given."""
    if method not in METHODS:
        raise ForgeError(f"The deploy method {method!r} does not exist on GitLab; use `method: pipeline`.")
    # Variables are GitLab's "array of hashes"; each value must be a string:
    # https://docs.gitlab.com/ee/api/pipelines.html#create-a-new-pipeline
    variables = [{"key": key, "value": str(value)} for key, value in inputs.items()]
    pipeline = await forge.run_write(f"start a pipeline on {ref} of {repo.path}", lambda gl: (
        project_of(gl, repo).pipelines.create({"ref": ref, "variables": variables}).attributes))
    log.info("gitlab_pipeline_started", repo=str(repo), ref=ref, environment=environment,
             pipeline=pipeline["id"])
    if job_name:
        await _play(forge, repo, pipeline, job_name, variables)
    return Deployment(id=int(pipeline["id"]), environment=environment, ref=ref, sha=pipeline.get("sha"),
                      url=pipeline.get("web_url"), payload=dict(payload))


def _job_named(gl: gitlab.Gitlab, repo: RepoRef, pipeline_id: int, name: str) -> dict | None:
    jobs = project_of(gl, repo).pipelines.get(pipeline_id, lazy=True).jobs.list(get_all=True)
    return next((job.attributes for job in jobs if job.attributes.get("name") == name), None)


async def _play(forge: GitLabForge, repo: RepoRef, pipeline: dict, name: str, variables: list[dict]) -> None:
    """Play the manual job `name` once GitLab has processed it (jobs start as `created`)."""
    pid, url = int(pipeline["id"]), pipeline.get("web_url") or f"pipeline #{pipeline['id']}"
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + forge.manual_job_wait, 0.25
    while True:
        job = await forge.run_read(f"find the job {name} in pipeline {pid} of {repo.path}",
                                   lambda gl: _job_named(gl, repo, pid, name))
        if job is None:
            raise NotFound(f"Pipeline {url} started, but it has no job named {name!r}; "
                           f"check `deploy.workflow` in .shipbot.yml.")
        status = job.get("status")
        if status == "manual":
            break
        if status in RUNNING:
            log.info("gitlab_deploy_job_runs_itself", repo=str(repo), pipeline=pid, job=name, status=status)
            return
        if status != "created":  # skipped by its rules, canceled, failed: nothing will deploy
            raise ForgeError(f"Pipeline {url} started, but its job {name!r} is {status}; "
                             f"nothing was deployed.")
        if loop.time() >= deadline:
            # A job waits as `created` until earlier stages finish; `needs: []` makes it playable at once.
            raise ForgeError(f"Pipeline {url} started, but its job {name!r} was still waiting for earlier "
                             f"stages after {forge.manual_job_wait:g} seconds; if it is a manual job, give it "
                             f"`needs: []` or play it in GitLab.")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    # https://docs.gitlab.com/ee/api/jobs.html#run-a-job
    await forge.run_write(f"play the job {name} in pipeline {pid} of {repo.path}", lambda gl: (
        project_of(gl, repo).jobs.get(job["id"], lazy=True).play(
            post_data={"job_variables_attributes": variables})))
    log.info("gitlab_deploy_job_played", repo=str(repo), pipeline=pid, job=name, job_id=job["id"])


async def set_status(forge: GitLabForge, repo: RepoRef, deployment: Deployment, state: str) -> None:
    """Send a status only for a deployment made through GitLab's API (`payload["gitlab_deployment_id"]`).

    A pipeline's deployments belong to its jobs and GitLab refuses API updates to them ("Deployments
    created using GitLab CI can not be updated using the API", lib/api/deployments.rb), so for a
    pipeline-based deploy this only logs.
    """
    deployment_id = deployment.payload.get("gitlab_deployment_id")
    if deployment_id is None:
        log.info("gitlab_deployment_status_left_to_pipeline", repo=str(repo), pipeline=deployment.id,
                 state=state)
        return
    status = DEPLOYMENT_STATES.get(state)
    if status is None:
        raise ForgeError(f"GitLab deployments have no state {state!r}; "
                         f"known: {', '.join(DEPLOYMENT_STATES)}.")
    # https://docs.gitlab.com/ee/api/deployments.html#update-a-deployment
    await forge.run_write(f"set deployment {deployment_id} of {repo.path} to {status}", lambda gl: (
        project_of(gl, repo).deployments.update(deployment_id, {"status": status})))
