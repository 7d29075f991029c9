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


LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, b"".join(b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"",)
                                                                 for _ in range(10))) for i in range(1, 10))
          + b']>\n<testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite>\n')


class TestHostileFiles:
    def test_billion_laughs_is_refused_at_once(self):
        """Nested entities that would expand to 3 GB are refused unexpanded: no memory, no time."""
        assert b"<!ENTITY lol9" in LAUGHS
        report = parse_junit(LAUGHS, "junit.xml")
        assert report.passed == 0 and "declares a DTD" in report.unreadable[0]

    def test_external_entities_are_never_read(self, tmp_path):
        """An external entity naming a local file is refused; the file's text never reaches a report."""
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET")
        xml = (f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file://{secret}">]>'
               f'<testsuite><testcase name="a"><failure message="&x;"/></testcase></testsuite>').encode()
        report = parse_junit(xml)
        assert report.failures == () and "TOP-SECRET" not in repr(report)

    @pytest.mark.parametrize("xml, expected", [
        (b"<html><body>502 Bad Gateway</body></html>", "not JUnit XML"),
        (b'<?xml version="1.0" encoding="UTF-6"?><testsuite/>', "not XML (unknown encoding: UTF-6)"),
        (b'<testsuite time="abc"><testcase name="a" time="x"/></testsuite>', None),
        (b'<testsuite time="nan"><testcase name="a"/></testsuite>', None),
        (b'<testsuite time="-5"><testcase name="a"/></testsuite>', None),
    ])
    def test_odd_documents_never_raise(self, xml, expected):
        """XML of another kind, and times that are not numbers, give a report or a note, never an exception."""
        report = parse_junit(xml, "junit.xml")
        if expected:
            assert expected in report.unreadable[0]
        else:
            assert (report.passed, report.duration, report.unreadable) == (1, 0.0, ())

    @pytest.mark.parametrize("line", ["\u00b2", "9" * 5000, "-3", ""])
    def test_line_attributes_that_are_not_line_numbers(self, line):
        """A superscript digit, a 5,000-digit number or a negative line is no line, not a crash."""
        xml = (f'<testsuite><testcase name="a" file="a.py" line="{line}"><failure message="m"/>'
               f'</testcase></testsuite>').encode()
        [failure] = parse_junit(xml).failures
        assert (failure.file, failure.line) == ("a.py", None)


class TestHostileArchives:
    def test_damaged_and_encrypted_entries_become_notes(self):
        """An entry whose compressed data is damaged is a note; the other entries are read."""
        import io
        import zipfile

        from bot.sansio.junit import junit_files

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("a/junit-good.xml", JEST)
            archive.writestr("b/junit-bad.xml", b"<testsuite/>" * 50)
        data = bytearray(buffer.getvalue())
        second = data.find(b"PK\x03\x04", 4)
        data[second + 60:second + 64] = b"\xff\xff\xff\xff"  # corrupt the second entry's compressed bytes
        files, notes = junit_files(bytes(data), ["**/junit*.xml"])
        assert [path for path, _ in files] == ["artifact/a/junit-good.xml"]
        assert notes and notes[0].startswith("artifact/b/junit-bad.xml: cannot be unpacked")
