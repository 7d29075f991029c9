"""The test report model: summarizing checks, when to comment, ordering, fitting the limit, golden Markdown."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from bot.forge.base import Check
from bot.render import Renderer
from bot.sansio import test_report as tr
from bot.sansio.junit import JUnitReport
from bot.sansio.junit import TestFailure as Failure

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def run(id: int, name: str, conclusion: str | None, at: str = "2024-05-02T10:00:00Z", **kw) -> Check:
    return Check(id, name, "completed" if conclusion else "in_progress", conclusion,
                 url=f"https://github.com/o/r/runs/{id}", completed_at=at if conclusion else None, **kw)


class TestSummarize:
    @pytest.mark.parametrize("checks, result", [
        ([], "pending"),
        ([run(1, "a", "success"), run(2, "b", "skipped")], "passed"),
        ([run(1, "a", "success"), run(2, "b", None)], "pending"),
        ([run(1, "a", "failure"), run(2, "b", None)], "failed"),
        ([run(1, "a", "timed_out")], "failed"),
        ([run(1, "a", "cancelled")], "failed"),
        ([run(1, "a", "neutral")], "passed"),
    ])
    def test_result(self, checks, result):
        """Any failed check fails the report; otherwise running checks keep it pending."""
        assert tr.summarize(checks, forge="github", sha=SHA).result == result

    def test_latest_run_of_each_name_counts(self):
        """A re-run that passed replaces the failed run of the same check, which becomes a flaky hint."""
        checks = [run(2, "test", "success", "2024-05-02T10:05:00Z"), run(1, "test", "failure", "2024-05-02T10:00:00Z")]
        report = tr.summarize(checks, forge="github", sha=SHA)
        assert (report.result, report.checks_total, report.flaky) == ("passed", 1, ("test",))

    def test_fixed_only_after_a_failure(self):
        """A green report is "fixed" only when the previous one failed."""
        green = [run(1, "a", "success")]
        assert tr.summarize(green, forge="github", sha=SHA, previous_result="failed").fixed
        assert not tr.summarize(green, forge="github", sha=SHA, previous_result="passed").fixed
        assert not tr.summarize(green, forge="github", sha=SHA).fixed

    def test_gitlab_totals_with_failures_fail_the_report(self):
        """GitLab's test summary counts: failed tests fail the report even if no job is marked failed."""
        totals = tr.Totals(passed=3, failed=1)
        assert tr.summarize([run(1, "a", "success")], forge="gitlab", sha=SHA, totals=totals).result == "failed"

    def test_junit_replaces_annotations(self):
        """When JUnit results exist, their failures and counts are the ones shown."""
        junit = JUnitReport(passed=5, failed=1, failures=(Failure("test_x", message="boom"),), flaky=("t.y",))
        checks = [run(1, "a", "failure", annotations=({"title": "from annotation", "message": "m"},))]
        report = tr.summarize(checks, forge="github", sha=SHA, junit=junit)
        assert [t.name for t in report.tests] == ["test_x"]
        assert report.totals == tr.Totals(5, 1, 0, 0, None)
        assert report.flaky == ("t.y (test)",)

    def test_only_failure_annotations_are_tests(self):
        """Warning and notice annotations are not failing tests."""
        notes = ({"annotation_level": "warning", "message": "w"}, {"annotation_level": "failure", "path": "a.py",
                                                                   "start_line": 3, "message": "bad"})
        report = tr.summarize([run(1, "a", "failure", annotations=notes)], forge="github", sha=SHA)
        assert [(t.name, t.file, t.line) for t in report.tests] == [("a.py", "a.py", 3)]


class TestShouldComment:
    @pytest.mark.parametrize("mode, result, previous, has_comment, expected", [
        ("always", "passed", None, False, True),
        ("always", "pending", None, False, True),
        ("failure", "passed", None, False, False),
        ("failure", "failed", None, False, True),
        ("failure", "passed", "failed", True, True),
        ("failure", "pending", "failed", True, True),
        ("change", "passed", None, False, False),
        ("change", "failed", None, False, True),
        ("change", "failed", "failed", True, False),
        ("change", "passed", "failed", True, True),
        ("change", "pending", "failed", True, False),
    ])
    def test_modes(self, mode, result, previous, has_comment, expected):
        """always comments every time; failure on red and to update its comment; change when the result changes."""
        assert tr.should_comment(mode, result, previous, has_comment) is expected


class TestOrdering:
    @pytest.mark.parametrize("sha, at, stored_sha, stored_at, head, stale", [
        ("a", 10.0, None, None, "a", False),
        ("a", 10.0, "a", 20.0, "a", True),
        ("a", 20.0, "a", 10.0, "a", False),
        ("a", 20.0, "a", 20.0, "a", False),
        ("a", 5.0, "b", 20.0, "a", False),  # a new head commit: its first result always counts
        ("b", 30.0, "a", 20.0, "a", True),  # not the head any more
    ])
    def test_is_stale(self, sha, at, stored_sha, stored_at, head, stale):
        """Older than the stored result for the same commit, or not the head: stale."""
        assert tr.is_stale(sha, at, stored_sha, stored_at, head) is stale

    @pytest.mark.parametrize("text, seconds", [
        ("2019-05-15T15:21:14Z", 1557933674.0),
        ("2016-08-12 15:26:29 UTC", 1471015589.0),
        ("2016-08-12T17:26:29+02:00", 1471015589.0),
        (None, None),
        ("yesterday", None),
    ])
    def test_parse_time(self, text, seconds):
        """GitHub's and GitLab's time formats both become Unix seconds."""
        assert tr.parse_time(text) == seconds


class TestFit:
    def render(self, data):
        return Renderer()("test_report.md.j2", **data)

    def report(self, n: int, size: int) -> tr.Report:
        tests = tuple(Failure(f"test_{i}", message="m", details="x" * size) for i in range(n))
        return replace(tr.summarize([run(1, "t", "failure")], forge="github", sha=SHA), tests=tests)

    def test_small_report_is_untouched(self):
        """A report under the limit shows every test with its whole output and no note."""
        body = tr.fit_comment(self.render, self.report(3, 100), 10, cut_note="CUT")
        assert body.count("<details>") == 3 and "shortened" not in body

    def test_long_output_is_clipped_first(self):
        """Over the limit, test output is clipped before any test is dropped, and a note says so."""
        body = tr.fit_comment(self.render, self.report(5, 5000), 10, cut_note="CUT", limit=15000)
        assert len(body) <= 15000 and body.count("<details>") == 5
        assert "characters left out" in body and "shortened to fit" in body

    def test_then_fewer_tests(self):
        """When clipping is not enough fewer tests are shown, saying how many there were."""
        body = tr.fit_comment(self.render, self.report(100, 10), 100, cut_note="CUT", limit=6000)
        assert len(body) <= 6000 and "#### Failing tests (first " in body and "of 100)" in body

    def test_last_resort_cuts_with_a_note(self):
        """A report too long even without tests is cut at the limit, ending with the note."""
        failing = tuple(tr.FailingCheck(f"check-{i}", "failure") for i in range(500))
        report = tr.Report("github", SHA, "failed", 500, failing)
        body = tr.fit_comment(self.render, report, 10, cut_note="\nCUT\n", limit=4000)
        assert len(body) == 4000 and body.endswith("\nCUT\n")

    @pytest.mark.parametrize("text, fence", [("plain", "```"), ("has ``` inside", "````"), ("", "```")])
    def test_fence_outlasts_backticks(self, text, fence):
        """Output containing a code fence gets a longer fence so it cannot close the block early."""
        assert tr.fence(text) == fence

    def test_table_cells_are_safe(self):
        """Pipes and newlines cannot break the failing-checks table."""
        assert tr.cell("a|b\nc") == "a\\|b c"


def golden(name: str, body: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SHIPBOT_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(body)
    assert body == path.read_text(), f"{name} changed; rerun with SHIPBOT_UPDATE_GOLDEN=1 and review the diff"


class TestGoldenComment:
    def render(self, report: tr.Report, max_failures: int = 10) -> str:
        renderer = Renderer()
        return tr.fit_comment(lambda data: renderer("test_report.md.j2", **data), report, max_failures,
                              cut_note=renderer("test_report_cut.md.j2"))

    def test_failed_github(self):
        """A failed GitHub report: headline, table, collapsed tests with fenced output, flaky hint, re-run."""
        checks = [run(1, "lint", "success"), run(2, "test (3.11)", "failure", summary="1 test failed | see log"),
                  run(3, "e2e", "failure", "2024-05-02T09:00:00Z"), run(4, "e2e", "success", "2024-05-02T09:30:00Z"),
                  run(5, "docs", None)]
        junit = JUnitReport(passed=41, failed=2, skipped=3, duration=83.2, failures=(
            Failure("test_login", "tests.test_api", "AssertionError: 401 != 200",
                        "def test_login():\n>       assert r.status == 200\nE       AssertionError: 401 != 200",
                        "tests/test_api.py", 12, source="junit.xml"),
            Failure("test_md", "tests.test_docs", "expected: <2> but was: <3>", "```\nbroken\n```",
                        source="junit.xml")))
        golden("test_report_failed.md", self.render(tr.summarize(checks, forge="github", sha=SHA, junit=junit)))

    def test_fixed_github(self):
        """A green report after a red one says it is fixed."""
        report = tr.summarize([run(1, "lint", "success"), run(2, "test", "success"), run(3, "mac", "skipped")],
                              forge="github", sha=SHA, previous_result="failed")
        golden("test_report_fixed.md", self.render(report))

    def test_failed_gitlab(self):
        """A failed GitLab pipeline: jobs, test summary and the pipeline link."""
        jobs = [Check(1, "build", "completed", "success"), Check(2, "rspec 1/2", "completed", "failure",
                                                                  url="https://gitlab.example.com/g/p/-/jobs/2",
                                                                  summary="script_failure")]
        report = tr.summarize(jobs, forge="gitlab", sha=SHA, totals=tr.Totals(120, 2, 4, 0, 312.0),
                              pipeline_url="https://gitlab.example.com/g/p/-/pipelines/31")
        golden("test_report_gitlab.md", self.render(report))
