"""Post test results on pull and merge requests as one comment updated in place; /retest re-runs failed jobs."""
from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bot.context import Context
from bot.errors import CommandError, ConfigError
from bot.forge.base import Check, ForgeError, NotFound, Unsupported, permission_at_least
from bot.routing import Help, Router
from bot.sansio import junit as ju
from bot.sansio import test_report as tr
from bot.sansio.events import RepoRef
from bot.store.mutex import held
from bot.store.tables import test_reports

router = Router()


async def _may_retest(ctx: Context) -> bool:
    """/help lists /retest only in PR/MR comments, to people with write access."""
    target = ctx.event.reply_to
    if target is None or target.kind != "comment" or not target.on_change_request or not ctx.event.actor:
        return False
    return permission_at_least(await ctx.forge_for(target.repo).permission(target.repo, ctx.event.actor.login),
                               "write")


RETEST_HELP = Help(
    summary="Re-run only the failed jobs of this pull/merge request",
    usage="/retest",
    examples=("/retest", "/shipbot retest"),
    who="anyone with write access to the repository, in a comment on the pull/merge request",
    allowed=_may_retest,
)
# Pipeline statuses after which nothing more runs: https://docs.gitlab.com/ee/api/pipelines.html
GITLAB_FINAL = frozenset({"success", "failed", "canceled", "skipped"})
GITLAB_CONCLUSIONS = {"success": "success", "failed": "failure", "canceled": "cancelled"}
DEFAULT_BRANCH_ROW = 0  # test_reports.number for the default branch's last result (Slack notices)


@dataclass(frozen=True)
class Finished:
    """What a finished suite, workflow run or pipeline tells us about one commit."""

    sha: str
    observed_at: float
    branch: str | None
    numbers: tuple[int, ...] = ()  # PRs/MRs the payload names (empty for forks on GitHub)
    checks: tuple[Check, ...] | None = None  # None: read every check on the commit from the forge
    pipeline_id: int | None = None
    pipeline_url: str | None = None
    check_head: bool = True


@router.on("check_suite.completed", source="github")
async def check_suite_completed(ctx: Context) -> None:
    """A check suite finished: report every check on its head commit."""
    suite = ctx.event.payload["check_suite"]
    await report(ctx, Finished(suite["head_sha"], _when(suite.get("updated_at")), suite.get("head_branch"),
                               _numbers(suite.get("pull_requests"))))


@router.on("workflow_run.completed", source="github")
async def workflow_run_completed(ctx: Context) -> None:
    """A GitHub Actions run finished: report every check on its head commit."""
    run = ctx.event.payload["workflow_run"]
    # A fork's branch may be called like our default branch; it is not our default branch.
    head_repo = (run.get("head_repository") or {}).get("full_name")
    branch = run.get("head_branch") if head_repo in (None, ctx.event.repo.path) else None
    await report(ctx, Finished(run["head_sha"], _when(run.get("updated_at")), branch,
                               _numbers(run.get("pull_requests"))))


@router.on("pipeline", source="gitlab")
async def pipeline_finished(ctx: Context) -> None:
    """A GitLab pipeline reached a final status: report its jobs and test summary on its MR."""
    payload = ctx.event.payload
    attrs = payload.get("object_attributes") or {}
    if attrs.get("status") not in GITLAB_FINAL:
        return
    mr = payload.get("merge_request") or {}
    ref = str(attrs.get("ref") or "")
    # Merged results pipelines run on a merge commit, not the MR's head:
    # https://docs.gitlab.com/ee/ci/pipelines/merged_results_pipelines.html
    merged_results = ref.startswith("refs/merge-requests/") and ref.endswith("/merge")
    await report(ctx, Finished(
        attrs["sha"], _when(attrs.get("finished_at")), None if mr else ref, (mr["iid"],) if mr.get("iid") else (),
        checks=tuple(gitlab_jobs(payload)), pipeline_id=attrs.get("id"), pipeline_url=attrs.get("url"),
        check_head=not merged_results))


def gitlab_jobs(payload) -> list[Check]:
    """The pipeline's jobs as checks; jobs that never ran in a finished pipeline count as skipped."""
    web = ((payload.get("project") or {}).get("web_url") or "").rstrip("/")
    pipeline_id = (payload.get("object_attributes") or {}).get("id")
    jobs = []
    for build in payload.get("builds") or ():
        conclusion = GITLAB_CONCLUSIONS.get(build.get("status"), "skipped")
        if conclusion == "failure" and build.get("allow_failure"):
            conclusion = "neutral"
        jobs.append(Check(id=build["id"], name=build.get("name") or str(build["id"]), status="completed",
                          conclusion=conclusion, url=f"{web}/-/jobs/{build['id']}" if web else None,
                          summary=build.get("failure_reason"), started_at=build.get("started_at"),
                          completed_at=build.get("finished_at"), suite_id=pipeline_id))
    return jobs


async def report(ctx: Context, done: Finished) -> None:
    """Update the sticky comment of every open PR/MR whose head is this commit; notify for the default branch."""
    repo, forge = ctx.event.repo, ctx.forge
    try:
        settings, config_error = (await ctx.repo_config()).section("test_report"), None
    except ConfigError as exc:
        settings, config_error = None, exc
    numbers = set(done.numbers)
    if not numbers and done.branch is not None and repo.forge == "gitlab":
        found = await forge.find_change_request(repo, done.branch)
        numbers |= {found.number} if found else set()
    numbers |= {cr.number for cr in await forge.change_requests_for_commit(repo, done.sha)}
    checks = done.checks if done.checks is not None else tuple(await forge.checks_for_commit(repo, done.sha))
    totals = await forge.test_totals(repo, done.pipeline_id) if done.pipeline_id else None
    junit = await _read_junit(ctx, checks, settings["junit"]) if settings and settings["junit"] else None

    def build(previous: str | None) -> tr.Report:
        return tr.summarize(checks, forge=repo.forge, sha=done.sha, totals=totals, junit=junit,
                            previous_result=previous, pipeline_url=done.pipeline_url)

    for number in sorted(numbers):
        await _update_comment(ctx, number, done, build, settings, config_error)
    if settings and settings["notify"] and done.branch and not numbers:  # the head of a PR is not a push
        await _notify_default_branch(ctx, done, build, settings["notify"])


async def _read_junit(ctx: Context, checks, patterns: list[str]) -> ju.JUnitReport | None:
    """JUnit files inside the artifacts of the commit's latest workflow runs; None when there are none."""
    repo, forge = ctx.event.repo, ctx.forge
    latest, _ = tr.latest_runs(checks)
    reports, notes = [], []
    for run_id in sorted({c.run_id for c in latest if c.run_id}):
        try:
            artifacts = await forge.list_artifacts(repo, run_id)
        except Unsupported:
            return None
        for artifact in artifacts:
            if artifact.expired:
                continue
            try:
                archive = await forge.download_artifact(repo, artifact)
            except ForgeError as exc:  # expired meanwhile, too large, gone: say so in the comment
                notes.append(f"{artifact.name}: {exc.message}")
                continue
            files, problems = ju.junit_files(archive, patterns, name=artifact.name)
            notes += problems
            reports += [ju.parse_junit(data, path) for path, data in files]
    if not reports and not notes:
        return None
    merged = ju.merge(reports)
    return ju.JUnitReport(merged.passed, merged.failed, merged.skipped, merged.errored, merged.duration,
                          merged.failures, merged.flaky, (*merged.unreadable, *notes))


async def _update_comment(ctx: Context, number: int, done: Finished, build, settings, config_error) -> None:
    repo, forge = ctx.event.repo, ctx.forge
    key = f"test-report:{repo}#{number}"
    async with held(ctx.db, key, f"{ctx.event.delivery_id}:{uuid.uuid4().hex[:8]}"):
        try:
            cr = await forge.get_change_request(repo, number)
        except NotFound:
            return
        row = await _load(ctx, repo, number)
        stored_sha, stored_at = (row["sha"], row["observed_at"]) if row else (None, None)
        head = cr.head_sha if done.check_head else done.sha
        if cr.state != "open" or tr.is_stale(done.sha, done.observed_at, stored_sha, stored_at, head):
            ctx.log.info("test_report_stale", number=number, sha=done.sha, head=cr.head_sha)
            return
        previous = row["result"] if row else None
        if config_error is not None:  # say what is wrong where the results would have been
            body = ctx.render("test_report_config.md.j2", marker=tr.MARKER, message=config_error.message)
            await _write_comment(ctx, number, done, row, previous, body)
            return
        result = build(previous)
        saved_result = previous if result.result == "pending" else result.result
        if not tr.should_comment(settings["comment"], result.result, previous, bool(row and row["comment_id"])):
            await _save(ctx, repo, number, done, saved_result, row["digest"] if row else None,
                        row["comment_id"] if row else None)
            return
        body = _render_comment(ctx, result, settings["max_failures"])
        await _write_comment(ctx, number, done, row, saved_result, body)
        ctx.log.info("test_report_posted", number=number, result=result.result, sha=done.sha)


async def _write_comment(ctx: Context, number: int, done: Finished, row, result: str | None, body: str) -> None:
    """Edit the sticky comment unless it says this already and is still there (a human may delete it)."""
    repo, forge, digest = ctx.event.repo, ctx.forge, _digest(body)
    if row and row["digest"] == digest and await forge.find_comment(repo, number, tr.MARKER):
        comment_id = row["comment_id"]
    else:
        comment_id = (await forge.upsert_comment(repo, number, tr.MARKER, body)).id
    await _save(ctx, repo, number, done, result, digest, comment_id)


def _render_comment(ctx: Context, result: tr.Report, max_failures: int) -> str:
    cut = "\n\n" + ctx.render("test_report_cut.md.j2")
    return tr.fit_comment(lambda data: ctx.render("test_report.md.j2", **data), result, max_failures, cut_note=cut)


async def _notify_default_branch(ctx: Context, done: Finished, build, channel: str) -> None:
    """Tell the team's channel once when the default branch turns red (not again for the same commit)."""
    repo = ctx.event.repo
    if done.branch != await ctx.forge.default_branch(repo):
        return
    async with held(ctx.db, f"test-report:{repo}@default", f"{ctx.event.delivery_id}:{uuid.uuid4().hex[:8]}"):
        row = await _load(ctx, repo, DEFAULT_BRANCH_ROW)
        if row and row["sha"] == done.sha and row["observed_at"] > done.observed_at:
            return
        result = build(row["result"] if row else None)
        if result.result == "pending":
            return
        already = bool(row and row["sha"] == done.sha and row["result"] == "failed")
        if result.result == "failed" and not already:
            text = ctx.render.for_chat("test_report_failed", report=result, repo=repo, branch=done.branch,
                                       sha7=done.sha[:7])
            await ctx.chat.post(channel, text)
        await _save(ctx, repo, DEFAULT_BRANCH_ROW, done, result.result, None, None)


@router.command("retest", help=RETEST_HELP)
async def retest_requested(ctx: Context) -> None:
    """Re-run the failed jobs of the PR/MR the comment is on, for people with write access."""
    target = ctx.event.reply_to
    if target is None or target.kind != "comment" or not target.on_change_request or target.repo is None:
        raise CommandError("/retest works in a comment on a pull request or merge request: "
                           "it re-runs the failed jobs of that one")
    repo, forge = target.repo, ctx.forge_for(target.repo)
    login = ctx.event.actor.login if ctx.event.actor else "unknown"
    if not permission_at_least(await forge.permission(repo, login), "write"):
        raise CommandError(f"re-running jobs needs write access to {repo.path}, and @{login} does not have it")
    cr = await forge.get_change_request(repo, target.number)
    latest, _ = tr.latest_runs(await forge.checks_for_commit(repo, cr.head_sha))
    failed = [c for c in latest if c.status == "completed" and c.conclusion in tr.FAILED]
    runs: dict[object, Check] = {}
    for check in failed:  # one re-run per workflow run / pipeline, which re-runs all of its failed jobs
        runs.setdefault(check.run_id or check.suite_id or check.id, check)
    for check in runs.values():
        await forge.rerun_failed(repo, check)
    await ctx.audit("rerun" if runs else "nothing_to_rerun", ", ".join(c.name for c in failed) or None, repo=repo)
    if runs and target.comment_id:
        await forge.react(repo, target.number, target.comment_id, "rocket", on_change_request=True)
    else:
        await ctx.reply("test_report_retest", checks=failed, sha7=cr.head_sha[:7])


# Stored state ------------------------------------------------------------------------------------

async def _load(ctx: Context, repo: RepoRef, number: int):
    async with ctx.db.connect() as conn:
        row = (await conn.execute(select(test_reports).where(
            test_reports.c.repo == str(repo), test_reports.c.number == number))).mappings().first()
    return dict(row) if row else None


async def _save(ctx: Context, repo: RepoRef, number: int, done: Finished, result: str | None, digest: str | None,
                comment_id) -> None:
    values = {"sha": done.sha, "observed_at": done.observed_at, "result": result, "digest": digest,
              "comment_id": str(comment_id) if comment_id is not None else None, "updated_at": time.time()}
    insert = (postgresql.insert if ctx.db.dialect == "postgresql" else sqlite.insert)(test_reports)
    async with ctx.db.begin() as conn:
        await conn.execute(insert.values(repo=str(repo), number=number, **values)
                           .on_conflict_do_update(index_elements=["repo", "number"], set_=values))


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _when(text: str | None) -> float:
    # A payload without a time is ordered as "now": later than anything stored before it.
    return tr.parse_time(text) or time.time()


def _numbers(pull_requests) -> tuple[int, ...]:
    return tuple(pr["number"] for pr in pull_requests or () if pr.get("number"))
