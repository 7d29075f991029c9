"""Read per-test failures out of JUnit XML as pytest, Surefire, jest-junit and go-junit-report write it."""
from __future__ import annotations

import fnmatch
import io
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Sequence
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from junitparser import JUnitXmlError, xunit2

# "tests/test_x.py:12: AssertionError", "    foo_test.go:12: want 1", "at a.B.c(FooTest.java:31)",
# "at Object.<anonymous> (src/sum.test.js:5:9)": the first source position in the failure text.
POSITION_RE = re.compile(
    r"(?:^|[\s(])([/\\]?(?:[\w.@-]+[/\\])*[\w.@-]+\.(?:py|go|java|kt|js|jsx|mjs|ts|tsx|rb|rs|cs)):(\d+)", re.M)
# go-junit-report and some runners put a fixed word where the message belongs.
GENERIC_MESSAGES = frozenset({"failed", "failure", "error"})


@dataclass(frozen=True)
class TestFailure:
    """One failed (or errored) test case with what its runner said about it."""

    name: str
    classname: str | None = None
    message: str | None = None
    details: str | None = None
    file: str | None = None
    line: int | None = None
    kind: str = "failure"  # failure | error
    source: str | None = None  # the report file (or check) it came from

    @property
    def title(self) -> str:
        return f"{self.classname}.{self.name}" if self.classname and self.classname not in self.name else self.name


@dataclass(frozen=True)
class JUnitReport:
    """Counts and failures of one or more JUnit XML files."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0
    duration: float = 0.0
    failures: tuple[TestFailure, ...] = ()
    flaky: tuple[str, ...] = ()  # tests that failed, then passed on a re-run in the same job
    unreadable: tuple[str, ...] = field(default=())  # files that were not JUnit XML, with why


def parse_junit(data: bytes, source: str = "junit.xml") -> JUnitReport:
    """Parse one file; a file that is not JUnit XML is reported in `unreadable`, never raised.

    Artifacts are written by whoever can push a branch, so the XML is parsed by defusedxml with
    DTDs refused: no entity expansion ("billion laughs"), no external entities. JUnit XML never
    needs a DTD.
    """
    try:
        xml = xunit2.JUnitXml.fromroot(safe_fromstring(data, forbid_dtd=True))
    except DefusedXmlException:
        return JUnitReport(unreadable=(f"{source}: not read: it declares a DTD, which JUnit XML never needs",))
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: an encoding Python does not know
        return JUnitReport(unreadable=(f"{source}: not XML ({exc})",))
    except JUnitXmlError:
        return JUnitReport(unreadable=(f"{source}: XML, but not JUnit XML (no <testsuites> or <testsuite> root)",))
    suites = [xml] if isinstance(xml, xunit2.TestSuite) else list(xml)
    passed = failed = skipped = errored = 0
    duration = 0.0
    failures: list[TestFailure] = []
    flaky: list[str] = []
    for suite in _leaf_suites(suites):
        duration += _seconds(suite._elem.get("time"))
        for case in suite:
            if not isinstance(case, xunit2.TestCase):
                continue
            results = case.result
            if case.is_skipped:
                skipped += 1
            elif not results:
                passed += 1
                if case.flaky_failures() or case.flaky_errors():  # Surefire's rerunFailingTestsCount
                    flaky.append(_title(case))
            else:
                bad = next((r for r in results if r._tag in ("failure", "error")), None)
                if bad is None:
                    passed += 1
                    continue
                if bad._tag == "error":
                    errored += 1
                else:
                    failed += 1
                failures.append(_failure(case, bad, source))
    return JUnitReport(passed, failed, skipped, errored, duration, tuple(failures), tuple(flaky))


def _seconds(text: str | None) -> float:
    """A time attribute in seconds; runners write "", "1,234.5" or nothing at all, which count as 0."""
    try:
        value = float((text or "0").replace(",", ""))
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def _line_number(text: str | None) -> int | None:
    # isdigit() admits "²", which int() refuses; and a 5,000-digit "line" is no line.
    return int(text) if text and len(text) <= 9 and text.isascii() and text.isdigit() else None


def _leaf_suites(suites):
    # Jest and Surefire nest nothing; some runners nest <testsuite> in <testsuite>.
    for suite in suites:
        nested = [s for s in suite if isinstance(s, xunit2.TestSuite)] if hasattr(suite, "__iter__") else []
        yield suite
        yield from _leaf_suites(nested)


def _title(case) -> str:
    return f"{case.classname}.{case.name}" if case.classname else str(case.name)


def _failure(case, result, source: str) -> TestFailure:
    text = (result.text or "").strip() or None
    message = (result.message or "").strip() or None
    # pytest (junit_family=xunit1) and jest-junit (addFileAttribute) write file= on the test case.
    file, line = case._elem.get("file"), _line_number(case._elem.get("line"))
    if file and line is not None:
        line += 1  # pytest writes item.location's 0-based line number
    if not file:
        file, found = _position(text or message or "", case.classname or "")
        line = _line_number(found)
    if (message is None or message.lower() in GENERIC_MESSAGES) and text:
        message = text.strip().splitlines()[0].strip()[:500]
    return TestFailure(name=str(case.name), classname=case.classname or None, message=message, details=text,
                       file=file or None, line=line, kind=result._tag, source=source)


def _position(text: str, classname: str) -> tuple[str | None, str | None]:
    """The first source position in the text, preferring the test's own file over library frames."""
    found = [(m.group(1), m.group(2)) for m in POSITION_RE.finditer(text[:20000])]
    for file, line in found:
        stem = re.split(r"[/\\]", file)[-1].split(".")[0]
        if stem and stem in classname:
            return file, line
    return found[0] if found else (None, None)


def matches(path: str, patterns: Sequence[str]) -> bool:
    """fnmatch globs where `*` also crosses `/`, and a leading `**/` also matches at the top level."""
    return any(fnmatch.fnmatchcase(path, p) or (p.startswith("**/") and fnmatch.fnmatchcase(path, p[3:]))
               for p in patterns)


def junit_files(archive: bytes, patterns: Sequence[str], *, max_bytes: int = 50_000_000,
                name: str = "artifact") -> tuple[list[tuple[str, bytes]], list[str]]:
    """The files of a zip artifact whose paths match the globs, and notes about what could not be read."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        return [], [f"{name}: not a zip archive"]
    found, notes, total = [], [], 0
    for info in zipped.infolist():
        if info.is_dir() or not matches(info.filename, patterns):
            continue
        total += info.file_size  # the uncompressed size the archive declares: no zip bombs
        if total > max_bytes:
            notes.append(f"{name}: more than {max_bytes // 1_000_000} MB of test results; the rest was not read")
            break
        try:
            found.append((f"{name}/{info.filename}", zipped.read(info)))
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
            # A damaged entry, an unsupported compression method, or a password-protected file.
            notes.append(f"{name}/{info.filename}: cannot be unpacked ({exc})")
    return found, notes


def merge(reports: list[JUnitReport]) -> JUnitReport:
    """Add several files' reports into one."""
    return JUnitReport(
        sum(r.passed for r in reports), sum(r.failed for r in reports), sum(r.skipped for r in reports),
        sum(r.errored for r in reports), sum(r.duration for r in reports),
        tuple(f for r in reports for f in r.failures), tuple(t for r in reports for t in r.flaky),
        tuple(u for r in reports for u in r.unreadable))
