"""JUnit XML as pytest, Maven Surefire (JUnit 5), jest-junit and go-junit-report write it."""
from __future__ import annotations

import pytest

from bot.sansio.junit import merge, parse_junit
from tests.junit_samples import GO, JEST, SUREFIRE, run_pytest


@pytest.fixture(scope="module")
def pytest_xml(tmp_path_factory) -> dict[str, bytes]:
    """Real pytest reports (default xunit2, and xunit1 with file/line attributes) from a real run."""
    folder = tmp_path_factory.mktemp("pytest-run")
    return {family: run_pytest(folder, family) for family in ("xunit2", "xunit1")}


class TestPytest:
    def test_counts_and_messages(self, pytest_xml):
        """A real pytest report gives counts, the assertion message and the test's file and line."""
        report = parse_junit(pytest_xml["xunit2"], "junit.xml")
        assert (report.passed, report.failed, report.errored, report.skipped) == (1, 1, 1, 1)
        bad = next(f for f in report.failures if f.name == "test_bad")
        assert bad.title == "test_sample.test_bad"
        assert bad.message.startswith("AssertionError: arithmetic is broken")
        assert (bad.file, bad.line) == ("test_sample.py", 8)  # the assert line
        assert bad.source == "junit.xml"

    def test_fixture_errors_are_errors(self, pytest_xml):
        """A broken fixture is an error, not a failure, with its exception as the message."""
        error = next(f for f in parse_junit(pytest_xml["xunit2"]).failures if f.name == "test_error")
        assert error.kind == "error"
        assert "fixture exploded" in error.message

    def test_xunit1_file_attributes(self, pytest_xml):
        """With junit_family=xunit1 pytest writes file= and a 0-based line= (the def) on the test case."""
        bad = next(f for f in parse_junit(pytest_xml["xunit1"]).failures if f.name == "test_bad")
        assert (bad.file, bad.line) == ("test_sample.py", 7)


class TestOtherRunners:
    def test_surefire(self):
        """Surefire: the test's own stack frame is the position, errors count apart, flaky passes are listed."""
        report = parse_junit(SUREFIRE, "TEST-com.example.CalculatorTest.xml")
        assert (report.passed, report.failed, report.errored, report.skipped) == (2, 1, 1, 1)
        failure, error = report.failures
        assert failure.title == "com.example.CalculatorTest.dividesEvenly"
        assert failure.message == "expected: <2> but was: <3>"
        assert (failure.file, failure.line) == ("CalculatorTest.java", 21)
        assert (error.kind, error.line) == ("error", 34)
        assert report.flaky == ("com.example.CalculatorTest.timesOutSometimes",)

    def test_jest(self):
        """jest-junit: the title is not doubled, the message is the first line and the position is the test file."""
        report = parse_junit(JEST)
        assert (report.passed, report.failed, report.skipped) == (1, 1, 1)
        [failure] = report.failures
        assert failure.title == "sum subtracts"
        assert failure.message == "Error: expect(received).toBe(expected) // Object.is equality"
        assert (failure.file, failure.line) == ("/home/runner/work/app/app/src/sum.test.js", 9)

    def test_go(self):
        """go-junit-report: the generic "Failed" gives way to the t.Errorf line."""
        [failure] = parse_junit(GO).failures
        assert failure.title == "github.com/acme/calc.TestDivide"
        assert failure.message == "calc_test.go:14: Divide(4, 2) = 3; want 2"
        assert (failure.file, failure.line) == ("calc_test.go", 14)

    def test_not_xml_is_reported_not_raised(self):
        """A file that is not XML becomes a note in `unreadable` instead of an exception."""
        report = parse_junit(b"PK\x03\x04 zip bytes", "junit.xml")
        assert report.failures == ()
        assert report.unreadable[0].startswith("junit.xml: not XML")

    def test_merge_adds_up(self):
        """Several files add up to one report."""
        total = merge([parse_junit(GO), parse_junit(JEST)])
        assert (total.passed, total.failed, total.skipped) == (2, 2, 2)
        assert len(total.failures) == 2
