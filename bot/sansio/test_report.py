"""Summarize a commit's checks and test files into one report, and decide whether and how to post it."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from bot.sansio.junit import JUnitReport, TestFailure

MARKER = "<!-- shipbot:test-report -->"
# "Body is too long (maximum is 65536 characters)": GitHub's limit for issue and PR comments.
COMMENT_LIMIT = 65536
RERUN_COMMAND = "/retest"
# Check run conclusions: https://docs.github.com/en/rest/checks/runs ; GitLab job statuses are mapped onto them.
FAILED = frozenset({"failure", "timed_out", "cancelled", "action_required", "startup_failure"})
RESULTS = ("passed", "failed", "pending")


@dataclass(frozen=True)
class FailingCheck:
    name: str
    conclusion: str
    url: str | None = None
    summary: str | None = None


@dataclass(frozen=True)
class Totals:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0
    duration: float | None = None


@dataclass(frozen=True)
class Report:
    """What one sticky comment says about one commit of one PR/MR."""

    forge: str
    sha: str
    result: str  # passed | failed | pending
    checks_total: int = 0
    failing: tuple[FailingCheck, ...] = ()
    running: tuple[str, ...] = ()
    tests: tuple[TestFailure, ...] = ()
    totals: Totals | None = None
    flaky: tuple[str, ...] = ()
    fixed: bool = False
    rerun_command: str = RERUN_COMMAND
    pipeline_url: str | None = None
    notes: tuple[str, ...] = field(default=())
    checks_skipped: int = 0

    @property
    def checks_passed(self) -> int:
        return self.checks_total - self.checks_skipped - len(self.failing) - len(self.running)


def latest_runs(checks: Iterable[Any]) -> tuple[list[Any], list[str]]:
    """The newest run of each check name, and the names that failed before their newest run passed."""
    ordered = sorted(checks, key=lambda c: (c.completed_at or c.started_at or "", c.id))
    latest: dict[str, Any] = {}
    failed_before: set[str] = set()
    for check in ordered:
        if check.name in latest and latest[check.name].conclusion in FAILED:
            failed_before.add(check.name)
        latest[check.name] = check
    flaky = [name for name in failed_before if latest[name].conclusion == "success"]
    return list(latest.values()), sorted(flaky)


def summarize(checks: Iterable[Any], *, forge: str, sha: str, totals: Any = None, junit: JUnitReport | None = None,
              previous_result: str | None = None, pipeline_url: str | None = None) -> Report:
    """Build the report from every check on the commit (re-runs included) and optional test results."""
    latest, flaky = latest_runs(checks)
    failing = tuple(FailingCheck(c.name, c.conclusion, c.url, c.summary) for c in latest
                    if c.status == "completed" and c.conclusion in FAILED)
    running = tuple(c.name for c in latest if c.status != "completed")
    notes = junit.unreadable if junit is not None else ()
    if junit is not None and (junit.passed or junit.failed or junit.skipped or junit.errored):
        tests = junit.failures
        totals = Totals(junit.passed, junit.failed, junit.skipped, junit.errored, junit.duration or None)
        flaky = [*flaky, *(f"{name} (test)" for name in junit.flaky)]
    else:  # no test files read: the checks' own failure annotations are the best there is
        tests = tuple(t for c in latest if c.conclusion in FAILED for t in annotation_failures(c))
    result = "failed" if failing or (totals and (totals.failed or totals.errored)) else (
        "pending" if running or not latest else "passed")
    return Report(forge, sha, result, len(latest), failing, running, tuple(tests), totals, tuple(flaky),
                  fixed=result == "passed" and previous_result == "failed", pipeline_url=pipeline_url,
                  notes=tuple(notes), checks_skipped=sum(1 for c in latest if c.conclusion == "skipped"))


def annotation_failures(check: Any) -> list[TestFailure]:
    """Failure annotations of a check run as tests.

    https://docs.github.com/en/rest/checks/runs#list-check-run-annotations
    """
    found = []
    for note in check.annotations or ():
        # The Forge's neutral shape says `level`; GitHub's own payloads say `annotation_level`.
        if (note.get("level") or note.get("annotation_level") or "failure") != "failure":
            continue
        message = note.get("message") or ""
        long = "\n" in message.strip() or len(message) > 300
        found.append(TestFailure(name=note.get("title") or note.get("path") or check.name, message=message or None,
                                 details=note.get("raw_details") or (message if long else None),
                                 file=note.get("path"), line=note.get("start_line"), source=check.name))
    return found


def should_comment(mode: str, result: str, previous_result: str | None, has_comment: bool) -> bool:
    """always: every result; failure: failures, and updates to a comment already there; change: a new result.

    In `change` mode the first result counts as a change only when it fails, so green PRs stay quiet.
    """
    if mode == "always":
        return True
    if mode == "failure":
        return result == "failed" or has_comment
    if result == "pending":
        return False
    if previous_result is None:
        return result == "failed"
    return result != previous_result


def is_stale(event_sha: str, observed_at: float, stored_sha: str | None, stored_at: float | None,
             head_sha: str) -> bool:
    """An event about a commit that is no longer the head, or older than the result already shown."""
    if event_sha != head_sha:
        return True
    return stored_sha == event_sha and stored_at is not None and observed_at < stored_at


def parse_time(text: str | None) -> float | None:
    """Unix seconds from GitHub's `2019-05-15T15:21:14Z` or GitLab's `2016-08-12 15:26:29 UTC`."""
    if not text:
        return None
    text = str(text).strip().replace(" UTC", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def clip(text: str | None, limit: int) -> str | None:
    """Keep the start and the end (where runners print the assertion) of a long text."""
    if not text or limit <= 0:
        return None
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    return f"{text[:half]}\n… {len(text) - 2 * half} characters left out …\n{text[-half:]}"


def fence(text: str) -> str:
    """A code fence longer than any backtick run inside the text (CommonMark fenced code blocks)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def cell(text: Any) -> str:
    """Text that cannot break a Markdown table row."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def format_duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else (f"{minutes}m {secs}s" if minutes else f"{secs}s")


def view(report: Report, *, shown: int, detail_limit: int, truncated: bool) -> dict[str, Any]:
    """The data the comment template needs, with long texts clipped and table cells made safe."""
    tests = []
    for test in report.tests[:shown]:
        details = clip(test.details, detail_limit)
        first_line = test.message.strip().splitlines()[0] if test.message and test.message.strip() else ""
        # <summary> is HTML: "expected: <2> but was: <3>" must not become tags.
        tests.append({"title": html.escape(test.title), "message": html.escape(clip(first_line, 300) or ""),
                      "where": f"{test.file}:{test.line}" if test.file and test.line else test.file,
                      "details": details, "fence": fence(details or ""), "source": test.source})
    return {"marker": MARKER, "report": report, "sha7": report.sha[:7], "tests": tests,
            "more_tests": max(0, len(report.tests) - len(tests)),
            "failing": [{"name": cell(c.name), "conclusion": c.conclusion.replace("_", " "), "url": c.url,
                         "summary": cell(clip(c.summary, 200) or "")} for c in report.failing],
            "duration": format_duration(report.totals.duration if report.totals else None),
            "truncated": truncated, "limit": COMMENT_LIMIT}


def fit_comment(render: Callable[[dict[str, Any]], str], report: Report, max_failures: int, *,
                cut_note: str, limit: int = COMMENT_LIMIT) -> str:
    """Render the comment within `limit` characters: clip test output, then show fewer tests, then cut."""
    shown = min(max_failures, len(report.tests))
    body = render(view(report, shown=shown, detail_limit=4000, truncated=False))
    if len(body) <= limit:
        return body
    for detail_limit in (2000, 500, 0):
        body = render(view(report, shown=shown, detail_limit=detail_limit, truncated=True))
        if len(body) <= limit:
            return body
    while shown > 0:
        shown //= 2
        body = render(view(report, shown=shown, detail_limit=0, truncated=True))
        if len(body) <= limit:
            return body
    # Only the failing-checks table is left and it is still too long (thousands of checks).
    return body[: limit - len(cut_note)] + cut_note
