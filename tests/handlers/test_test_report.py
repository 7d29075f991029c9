"""The sticky test-results comment and /retest, through the real queue, router and worker."""
from __future__ import annotations

import asyncio
import io
import zipfile

from sqlalchemy import select

from bot.chat.base import RecordingChat
from bot.forge.base import Artifact, ChangeRequest, Check
from bot.forge.base import TestTotals as Totals
from bot.sansio.test_report import COMMENT_LIMIT, MARKER
from bot.services import build_services
from bot.store.tables import test_reports
from tests.conftest import deliver, make_settings
from tests.fakes import FakeForge
from tests.junit_samples import JEST, SUREFIRE, run_pytest
from tests.peers import github_example, github_examples, gitlab_payload

REPO = "Codertocat/Hello-World"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # the head of PR #2 in the check_suite examples
GL_REPO = "gitlab-org/gitlab-test"
GL_SHA = "bcbb5ec396a2c0f828686f14fac9b80b780504f2"


def suite_completed(conclusion: str = "failure", updated_at: str = "2019-05-15T15:21:14Z") -> dict:
    """GitHub's check_suite.completed example, with only the conclusion and time changed."""
    payload = github_example("check_suite", "completed")
    payload["check_suite"].update(conclusion=conclusion, updated_at=updated_at)
    return payload


def fork_run_completed(conclusion: str = "failure") -> dict:
    """GitHub's workflow_run.completed example whose pull_requests list is empty, as for a fork's PR."""
    payload = next(e for e in github_examples("workflow_run")
                   if e["action"] == "completed" and e["workflow_run"]["status"] == "completed"
                   and not e["workflow_run"]["pull_requests"])
    payload["workflow_run"]["conclusion"] = conclusion
    return payload


def check(id: int, name: str, conclusion: str | None, *, at: str = "2019-05-15T15:21:00Z", run_id: int = 77,
          annotations=(), summary: str | None = None) -> Check:
    return Check(id, name, "completed" if conclusion else "in_progress", conclusion,
                 url=f"https://github.com/{REPO}/runs/{id}", summary=summary, completed_at=at if conclusion else None,
                 suite_id=118578147, run_id=run_id, annotations=tuple(annotations))


def arrange(services, checks, *, config: str | None = None, pr_head: str = SHA, repo: str = REPO, number: int = 2,
            from_fork: bool = False):
    forge = services.forges["github"]
    data = forge.repo(repo)
    data.change_requests[number] = ChangeRequest(number, "Update the README", "changes", pr_head, "master",
                                                 "Codertocat", from_fork=from_fork)
    data.checks[SHA] = list(checks)
    data.permissions["Codertocat"] = "write"
    if config is not None:
        data.files["main", ".shipbot.yml"] = config
    return forge


def comments(forge, number: int = 2, repo: str = REPO) -> list[str]:
    return [c.body for c in forge.repo(repo).comments.get(number, [])]


async def stored(services, repo: str, number: int):
    async with services.db.connect() as conn:
        return (await conn.execute(select(test_reports).where(test_reports.c.repo == repo,
                                                              test_reports.c.number == number))).mappings().first()


FAILING = [
    check(1, "lint", "success"),
    check(2, "test (3.11)", "failure", summary="2 tests failed", annotations=[
        {"path": "tests/test_api.py", "start_line": 12, "level": "failure", "title": "test_login",
         "message": "AssertionError: 401 != 200\nassert response.status == 200"}]),
]
GREEN = [check(1, "lint", "success"), check(3, "test (3.11)", "success", at="2019-05-15T15:30:00Z")]


class TestGitHubComment:
    async def test_failed_suite_posts_one_comment(self, fake_services):
        """A failed suite gets one comment with the failing check, its test, and the re-run command."""
        services = fake_services()
        forge = arrange(services, FAILING)
        row = await deliver(services, "github", "check_suite", suite_completed())
        assert row["status"] == "done"
        [body] = comments(forge)
        assert body.startswith(MARKER)
        assert "1 of 2 checks failed on `ec26c3e`" in body
        assert f"[test (3.11)](https://github.com/{REPO}/runs/2) | failure | 2 tests failed |" in body
        assert "<code>test_login</code> — AssertionError: 401 != 200" in body
        assert "`tests/test_api.py:12` in test (3.11)" in body
        assert "comment `/retest`" in body

    async def test_green_after_red_says_fixed_in_the_same_comment(self, fake_services):
        """A green result after a red one edits the same comment to say it is fixed."""
        services = fake_services()
        forge = arrange(services, FAILING)
        await deliver(services, "github", "check_suite", suite_completed())
        forge.repo(REPO).checks[SHA] = FAILING + GREEN
        await deliver(services, "github", "check_suite", suite_completed("success", "2019-05-15T15:31:00Z"))
        [body] = comments(forge)
        assert "Fixed: all 2 checks pass on `ec26c3e`" in body
        assert "`test (3.11)` failed, then passed on a re-run" in body
        assert [w["created"] for w in forge.writes("upsert_comment")] == [True, False]

    async def test_workflow_run_and_suite_for_the_same_state_edit_nothing(self, fake_services):
        """The workflow run and its check suite describe the same checks: the second changes nothing."""
        services = fake_services()
        forge = arrange(services, FAILING)
        await deliver(services, "github", "check_suite", suite_completed())
        await deliver(services, "github", "check_suite", suite_completed(updated_at="2019-05-15T15:21:20Z"))
        assert len(forge.writes("upsert_comment")) == 1

    async def test_two_suites_finishing_at_once_leave_one_comment(self, fake_services):
        """Two deliveries processed concurrently give one comment and keep the later result's time."""
        services = fake_services()
        forge = arrange(services, FAILING + GREEN)
        await asyncio.gather(
            deliver(services, "github", "check_suite", suite_completed("failure", "2019-05-15T15:21:14Z")),
            deliver(services, "github", "check_suite", suite_completed("success", "2019-05-15T15:31:00Z")))
        assert len(comments(forge)) == 1
        assert [w["created"] for w in forge.writes("upsert_comment")] == [True]
        row = await stored(services, f"github:{REPO}", 2)
        assert row["observed_at"] == 1557934260.0  # 2019-05-15T15:31:00Z
        assert row["result"] == "passed"

    async def test_concurrent_suites_on_both_backends(self, db):
        """The same race on SQLite and PostgreSQL (what replicas share): one comment, the later time kept."""
        services = build_services(make_settings(GITHUB_WEBHOOK_SECRET="s"), db, chat=RecordingChat(),
                                  forges={"github": FakeForge("github"), "gitlab": FakeForge("gitlab")})
        forge = arrange(services, FAILING + GREEN)
        times = [f"2019-05-15T15:{m:02d}:00Z" for m in range(30, 36)]
        await asyncio.gather(*(deliver(services, "github", "check_suite", suite_completed("success", t))
                               for t in times))
        assert len(comments(forge)) == 1 and len(forge.writes("upsert_comment")) == 1
        assert (await stored(services, f"github:{REPO}", 2))["observed_at"] == 1557934500.0  # 15:35

    async def test_older_event_after_newer_changes_nothing(self, fake_services):
        """An event older than the result shown is ignored, whatever the forge says now."""
        services = fake_services()
        forge = arrange(services, FAILING)
        await deliver(services, "github", "check_suite", suite_completed("failure", "2019-05-15T15:40:00Z"))
        forge.repo(REPO).checks[SHA] = GREEN
        await deliver(services, "github", "check_suite", suite_completed("success", "2019-05-15T15:21:14Z"))
        [body] = comments(forge)
        assert "1 of 2 checks failed" in body
        assert len(forge.writes("upsert_comment")) == 1

    async def test_event_for_an_old_head_changes_nothing(self, fake_services):
        """A suite for a commit that is no longer the PR's head does not touch its comment."""
        services = fake_services()
        forge = arrange(services, FAILING, pr_head="f" * 40)
        # The payload names PR #2, but its head moved on.
        await deliver(services, "github", "check_suite", suite_completed())
        assert comments(forge) == []

    async def test_comment_deleted_by_a_human_is_recreated(self, fake_services):
        """When someone deletes the comment, the next result creates it again."""
        services = fake_services()
        forge = arrange(services, FAILING)
        await deliver(services, "github", "check_suite", suite_completed())
        forge.repo(REPO).comments[2] = []
        await deliver(services, "github", "check_suite", suite_completed(updated_at="2019-05-15T15:22:00Z"))
        assert len(comments(forge)) == 1
        assert [w["created"] for w in forge.writes("upsert_comment")] == [True, True]

    async def test_fork_pr_is_found_by_its_head_commit(self, fake_services):
        """A run whose pull_requests list is empty (a fork's PR) still reaches the PR through its commit."""
        services = fake_services()
        payload = fork_run_completed()
        sha, repo = payload["workflow_run"]["head_sha"], payload["repository"]["full_name"]
        forge = services.forges["github"]
        data = forge.repo(repo)
        data.change_requests[7] = ChangeRequest(7, "From a fork", "patch-1", sha, "main", "outsider", from_fork=True)
        data.checks[sha] = [check(5, "build", "failure")]
        row = await deliver(services, "github", "workflow_run", payload)
        assert row["status"] == "done"
        [body] = comments(forge, 7, repo)
        assert "1 of 1 checks failed on `3484a3f`" in body

    async def test_huge_output_is_cut_to_the_comment_limit(self, fake_services):
        """Hundreds of long failures fit GitHub's 65,536 characters, with a note saying output was shortened."""
        services = fake_services()
        notes = [{"path": f"tests/test_{i}.py", "start_line": i, "level": "failure", "title": f"test_{i}",
                  "message": "boom\n" + "x" * 20000} for i in range(100)]
        forge = arrange(services, [check(2, "test", "failure", annotations=notes)],
                        config="test_report:\n  max_failures: 100\n")
        await deliver(services, "github", "check_suite", suite_completed())
        [body] = comments(forge)
        assert len(body) <= COMMENT_LIMIT
        assert "shortened to fit the 65,536-character comment limit" in body
        assert "<code>test_0</code>" in body

    async def test_invalid_config_is_explained_in_the_comment(self, fake_services):
        """A broken .shipbot.yml turns the comment into an explanation naming the line and key."""
        services = fake_services()
        forge = arrange(services, FAILING, config="test_report:\n  comment: sometimes\n")
        row = await deliver(services, "github", "check_suite", suite_completed())
        assert row["status"] == "done"
        [body] = comments(forge)
        assert ".shipbot.yml:2: test_report.comment: 'sometimes' is not one of 'always', 'failure', 'change'" in body
        await deliver(services, "github", "check_suite", suite_completed(updated_at="2019-05-15T15:25:00Z"))
        assert len(forge.writes("upsert_comment")) == 1  # the same explanation is not written again


def zipped(files: dict[str, bytes]) -> bytes:
    """A zip archive as actions/upload-artifact stores it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class TestJUnitArtifacts:
    async def test_failures_come_from_the_runs_junit_files(self, fake_services, tmp_path):
        """With junit globs configured, the workflow run's artifacts give per-test failures and totals."""
        services = fake_services()
        forge = arrange(services, FAILING, config="test_report:\n  junit: ['**/junit*.xml', '**/TEST-*.xml']\n")
        data = forge.repo(REPO)
        data.artifacts[77] = [Artifact(501, "python-results", 900, run_id=77), Artifact(502, "java-results", 700),
                              Artifact(503, "old", 10, expired=True), Artifact(504, "coverage", 10)]
        data.artifact_files[501] = zipped({"reports/junit.xml": run_pytest(tmp_path), "coverage.xml": b"<x/>"})
        data.artifact_files[502] = zipped({"target/surefire-reports/TEST-com.example.CalculatorTest.xml": SUREFIRE})
        data.artifact_files[504] = zipped({"htmlcov/index.html": b"<html/>"})
        await deliver(services, "github", "check_suite", suite_completed())
        [body] = comments(forge)
        assert "**Tests:** 3 passed, 2 failed, 2 errors, 2 skipped" in body
        assert "<code>test_sample.test_bad</code> — AssertionError: arithmetic is broken" in body
        assert "`test_sample.py:8` in python-results/reports/junit.xml" in body
        assert "expected: &lt;2&gt; but was: &lt;3&gt;" in body
        assert "`com.example.CalculatorTest.timesOutSometimes (test)` failed, then passed on a re-run" in body
        assert "test_login" not in body  # the annotation gives way to the real test results

    async def test_unreadable_artifacts_are_noted(self, fake_services):
        """An artifact that cannot be downloaded or is not a zip is named in the comment; annotations still show."""
        services = fake_services()
        forge = arrange(services, FAILING, config="test_report:\n  junit: ['**/*.xml']\n")
        data = forge.repo(REPO)
        data.artifacts[77] = [Artifact(601, "gone", 10), Artifact(602, "broken", 10)]
        data.artifact_files[602] = b"not a zip"
        await deliver(services, "github", "check_suite", suite_completed())
        [body] = comments(forge)
        assert "- gone: artifact 'gone' of Codertocat/Hello-World has expired" in body
        assert "- broken: not a zip archive" in body
        assert "<code>test_login</code>" in body

    async def test_jest_results_in_a_fork_run(self, fake_services):
        """jest-junit output from a fork's workflow run reaches the fork's PR."""
        services = fake_services()
        payload = fork_run_completed()
        sha, repo, run_id = (payload["workflow_run"]["head_sha"], payload["repository"]["full_name"],
                             payload["workflow_run"]["id"])
        forge = services.forges["github"]
        data = forge.repo(repo)
        data.files["main", ".shipbot.yml"] = "test_report:\n  junit: ['junit.xml']\n"
        data.change_requests[7] = ChangeRequest(7, "From a fork", "patch-1", sha, "main", "outsider", from_fork=True)
        data.checks[sha] = [check(5, "jest", "failure", run_id=run_id)]
        data.artifacts[run_id] = [Artifact(701, "jest", 100)]
        data.artifact_files[701] = zipped({"junit.xml": JEST})
        await deliver(services, "github", "workflow_run", payload)
        [body] = comments(forge, 7, repo)
        assert "<code>sum subtracts</code> — Error: expect(received).toBe(expected)" in body
        assert "`/home/runner/work/app/app/src/sum.test.js:9` in jest/junit.xml" in body


class TestCommentModes:
    async def test_failure_mode_stays_quiet_while_green(self, fake_services):
        """comment: failure posts nothing for a green PR, posts on red, and updates to fixed."""
        services = fake_services()
        forge = arrange(services, GREEN, config="test_report:\n  comment: failure\n")
        await deliver(services, "github", "check_suite", suite_completed("success", "2019-05-15T15:21:00Z"))
        assert comments(forge) == []
        forge.repo(REPO).checks[SHA] = FAILING
        await deliver(services, "github", "check_suite", suite_completed("failure", "2019-05-15T15:22:00Z"))
        assert "1 of 2 checks failed" in comments(forge)[0]
        forge.repo(REPO).checks[SHA] = FAILING + GREEN
        await deliver(services, "github", "check_suite", suite_completed("success", "2019-05-15T15:32:00Z"))
        [body] = comments(forge)
        assert "Fixed" in body

    async def test_change_mode_edits_only_when_the_result_changes(self, fake_services):
        """comment: change posts the first failure, leaves a second failure alone, and posts the fix."""
        services = fake_services()
        forge = arrange(services, GREEN, config="test_report:\n  comment: change\n")
        await deliver(services, "github", "check_suite", suite_completed("success", "2019-05-15T15:21:00Z"))
        assert comments(forge) == []
        forge.repo(REPO).checks[SHA] = FAILING
        await deliver(services, "github", "check_suite", suite_completed("failure", "2019-05-15T15:22:00Z"))
        forge.repo(REPO).checks[SHA] = FAILING + [check(9, "docs", "failure")]
        await deliver(services, "github", "check_suite", suite_completed("failure", "2019-05-15T15:23:00Z"))
        assert "1 of 2 checks failed" in comments(forge)[0]
        forge.repo(REPO).checks[SHA] = GREEN
        await deliver(services, "github", "check_suite", suite_completed("success", "2019-05-15T15:33:00Z"))
        assert "Fixed" in comments(forge)[0]
        assert len(forge.writes("upsert_comment")) == 2

    async def test_always_mode_posts_green_results(self, fake_services):
        """With no config at all, a green PR gets a comment saying all checks passed."""
        services = fake_services()
        forge = arrange(services, GREEN)
        await deliver(services, "github", "check_suite", suite_completed("success"))
        assert "All 2 checks passed on `ec26c3e`" in comments(forge)[0]


class TestDefaultBranchNotice:
    async def test_failure_on_the_default_branch_is_posted_to_slack_once(self, fake_services):
        """A red default branch is announced in the configured channel once per commit."""
        services = fake_services()
        payload = fork_run_completed()
        payload["workflow_run"]["head_branch"] = "main"
        sha, repo = payload["workflow_run"]["head_sha"], payload["repository"]["full_name"]
        forge = services.forges["github"]
        forge.repo(repo).files["main", ".shipbot.yml"] = "test_report:\n  notify: '#ci'\n"
        forge.repo(repo).checks[sha] = [check(5, "build", "failure")]
        await deliver(services, "github", "workflow_run", payload)
        await deliver(services, "github", "workflow_run", payload)
        [post] = [w for w in services.chat.writes.writes if w.action == "post"]
        assert post.data["channel"] == "#ci"
        assert f"Tests failed on *main* of {repo} at `3484a3f`" in post.data["text"]


def pipeline(status: str = "failed", *, merge_request: bool = True, finished_at: str = "2016-08-12 15:26:29 UTC") -> dict:
    """GitLab's documented Pipeline Hook example, with only the status (and the MR link) changed."""
    payload = gitlab_payload("pipeline.json")
    payload["object_attributes"].update(status=status, finished_at=finished_at)
    if not merge_request:
        payload["merge_request"] = None
        payload["object_attributes"]["ref"] = "test"
    return payload


def arrange_gitlab(services, *, totals: Totals | None = None):
    forge = services.forges["gitlab"]
    data = forge.repo(GL_REPO)
    data.change_requests[1] = ChangeRequest(1, "Test", "test", GL_SHA, "master", "root")
    if totals:
        data.totals[31] = totals
    return forge


class TestGitLabComment:
    async def test_failed_mr_pipeline_lists_failed_jobs_and_totals(self, fake_services):
        """A failed MR pipeline gets one note with its test summary and the failed job linked."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = arrange_gitlab(services, totals=Totals(passed=40, failed=2, skipped=1, duration=63.5))
        row = await deliver(services, "gitlab", "Pipeline Hook", pipeline())
        assert row["status"] == "done"
        [body] = comments(forge, 1, GL_REPO)
        assert "1 of 5 jobs failed on `bcbb5ec`" in body
        assert "**Tests:** 40 passed, 2 failed, 0 errors, 1 skipped in 1m 4s" in body
        assert "[test-build](http://gitlab.example.com:3005/gitlab-org/gitlab-test/-/jobs/" in body
        assert "[Pipeline](http://example.com/gitlab-org/gitlab-test/-/pipelines/31)" in body

    async def test_branch_pipeline_reaches_its_open_mr(self, fake_services):
        """A branch pipeline (no merge_request in the payload) is reported on the branch's open MR."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = arrange_gitlab(services)
        await deliver(services, "gitlab", "Pipeline Hook", pipeline(merge_request=False))
        assert "1 of 5 jobs failed" in comments(forge, 1, GL_REPO)[0]

    async def test_green_after_red_pipeline_says_fixed(self, fake_services):
        """A successful pipeline after a failed one edits the note to say it is fixed."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = arrange_gitlab(services)
        await deliver(services, "gitlab", "Pipeline Hook", pipeline())
        green = pipeline("success", finished_at="2016-08-12 15:40:00 UTC")
        for build in green["builds"]:
            build["status"] = "success" if build["status"] == "failed" else build["status"]
        await deliver(services, "gitlab", "Pipeline Hook", green)
        [body] = comments(forge, 1, GL_REPO)
        assert "Fixed: all 3 jobs pass on `bcbb5ec` (2 skipped)" in body

    async def test_merged_results_pipeline_is_reported(self, fake_services):
        """A merged results pipeline runs on a merge commit, not the MR's head, and is still reported."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = arrange_gitlab(services)
        payload = pipeline()
        payload["object_attributes"].update(ref="refs/merge-requests/1/merge", sha="c" * 40)
        await deliver(services, "gitlab", "Pipeline Hook", payload)
        assert "1 of 5 jobs failed on `ccccccc`" in comments(forge, 1, GL_REPO)[0]

    async def test_closed_mr_is_left_alone(self, fake_services):
        """A pipeline finishing after its MR was closed does not comment."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = arrange_gitlab(services)
        forge.repo(GL_REPO).change_requests[1] = ChangeRequest(1, "Test", "test", GL_SHA, "master", state="closed")
        await deliver(services, "gitlab", "Pipeline Hook", pipeline())
        assert comments(forge, 1, GL_REPO) == []

    async def test_running_pipeline_is_not_reported(self, fake_services):
        """Only final pipeline statuses produce a note."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = arrange_gitlab(services)
        await deliver(services, "gitlab", "Pipeline Hook", pipeline("running"))
        assert comments(forge, 1, GL_REPO) == []


def pr_comment(body: str, *, login: str = "Codertocat", on_pr: bool = True) -> dict:
    """GitHub's issue_comment.created example turned into a comment on PR #2 (as GitHub marks it)."""
    payload = github_example("issue_comment", "created")
    payload["comment"]["body"] = body
    payload["comment"]["user"]["login"] = payload["sender"]["login"] = login
    payload["issue"]["number"] = 2
    if on_pr:
        payload["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/2",
                                            "html_url": f"https://github.com/{REPO}/pull/2"}
    return payload


class TestRetest:
    async def test_writer_reruns_only_failed_runs_once_each(self, fake_services):
        """/retest from a writer re-runs each failed workflow run once and reacts to the comment."""
        services = fake_services()
        forge = arrange(services, FAILING + [check(9, "test (3.12)", "failure"), check(10, "e2e", "failure", run_id=88)])
        row = await deliver(services, "github", "issue_comment", pr_comment("/retest"))
        assert row["status"] == "done"
        assert sorted(w["run_id"] for w in forge.writes("rerun_failed")) == [77, 88]
        assert forge.writes("react") == [{"repo": REPO, "number": 2, "comment_id": 492700400, "reaction": "rocket"}]

    async def test_reader_is_refused_with_a_reason(self, fake_services):
        """Someone without write access is told why, and nothing is re-run."""
        services = fake_services()
        forge = arrange(services, FAILING)
        forge.repo(REPO).permissions["visitor"] = "read"
        row = await deliver(services, "github", "issue_comment", pr_comment("/retest", login="visitor"))
        assert row["status"] == "done"
        assert forge.writes("rerun_failed") == []
        [reply] = forge.writes("create_comment")
        assert "re-running jobs needs write access to Codertocat/Hello-World, and @visitor does not have it" in reply["body"]

    async def test_on_an_issue_it_says_where_it_works(self, fake_services):
        """/retest on an issue (not a PR) explains that it works on pull/merge requests."""
        services = fake_services()
        forge = arrange(services, FAILING)
        await deliver(services, "github", "issue_comment", pr_comment("/retest", on_pr=False))
        assert "works in a comment on a pull request or merge request" in forge.writes("create_comment")[0]["body"]

    async def test_nothing_failed_says_so(self, fake_services):
        """With every check green the answer says there is nothing to re-run."""
        services = fake_services()
        forge = arrange(services, GREEN)
        await deliver(services, "github", "issue_comment", pr_comment("/shipbot retest"))
        assert forge.writes("rerun_failed") == []
        assert "Nothing to re-run: no check on `ec26c3e` has failed." in forge.writes("create_comment")[0]["body"]

    async def test_in_slack_it_says_where_it_works(self, fake_services):
        """/retest typed in Slack is answered there: it works in a PR/MR comment."""
        services = fake_services(SLACK_SIGNING_SECRET="s")
        slash = {"command": "/retest", "text": "", "user_id": "U1", "user_name": "steve", "channel_id": "C1",
                 "team_id": "T1", "trigger_id": "t", "response_url": "https://hooks.slack.com/x"}
        row = await deliver(services, "slack", "slack", slash)
        assert row["status"] == "done"
        [answer] = services.chat.writes.writes
        assert "works in a comment on a pull request or merge request" in answer.data["text"]

    async def test_help_lists_retest_for_writers_only(self, fake_services):
        """/help on a PR shows /retest to a writer and hides it from a reader."""
        services = fake_services()
        forge = arrange(services, FAILING)
        forge.repo(REPO).permissions["visitor"] = "read"
        await deliver(services, "github", "issue_comment", pr_comment("/help"))
        await deliver(services, "github", "issue_comment", pr_comment("/help", login="visitor"))
        writer, reader = (w["body"] for w in forge.writes("create_comment"))
        assert "| `/retest` | Re-run only the failed jobs of this pull/merge request |" in writer
        assert "/retest" not in reader

    async def test_gitlab_note_retries_the_pipeline(self, fake_services):
        """/retest in an MR note retries the failed pipeline's jobs through the forge."""
        services = fake_services(GITLAB_WEBHOOK_SECRET="s")
        forge = arrange_gitlab(services)
        data = forge.repo(GL_REPO)
        data.permissions["root"] = "maintain"
        data.checks[GL_SHA] = [Check(380, "test-build", "completed", "failure", suite_id=31)]
        note = gitlab_payload("note_merge_request.json")
        note["object_attributes"]["note"] = "/retest"
        note["merge_request"]["iid"] = 1
        row = await deliver(services, "gitlab", "Note Hook", note)
        assert row["status"] == "done"
        assert forge.writes("rerun_failed") == [{"repo": GL_REPO, "check": "test-build", "run_id": None, "suite_id": 31}]
        assert forge.writes("react")[0]["reaction"] == "rocket"

    async def test_a_forks_main_branch_is_not_ours(self, fake_services):
        """A fork's branch named like the default branch is not announced."""
        services = fake_services()
        payload = fork_run_completed()
        payload["workflow_run"]["head_branch"] = "main"
        payload["workflow_run"]["head_repository"]["full_name"] = "outsider/octo-repo"
        sha, repo = payload["workflow_run"]["head_sha"], payload["repository"]["full_name"]
        forge = services.forges["github"]
        forge.repo(repo).files["main", ".shipbot.yml"] = "test_report:\n  notify: '#ci'\n"
        forge.repo(repo).checks[sha] = [check(5, "build", "failure")]
        await deliver(services, "github", "workflow_run", payload)
        assert services.chat.writes.writes == []
