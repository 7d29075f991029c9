"""JUnit XML as pytest, Maven Surefire (JUnit 5), jest-junit and go-junit-report write it."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot.sansio.junit import merge, parse_junit

# Written by maven-surefire-plugin 3.x for a JUnit 5 class, with rerunFailingTestsCount=1:
# https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd
SUREFIRE = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd" version="3.0" name="com.example.CalculatorTest" time="0.052" tests="4" errors="1" skipped="1" failures="1">
  <properties>
    <property name="java.version" value="17.0.10"/>
    <property name="surefire.test.class.path" value="/build/target/test-classes"/>
  </properties>
  <testcase name="addsTwoNumbers" classname="com.example.CalculatorTest" time="0.011"/>
  <testcase name="dividesEvenly" classname="com.example.CalculatorTest" time="0.006">
    <failure message="expected: &lt;2&gt; but was: &lt;3&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <2> but was: <3>
	at org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)
	at org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:528)
	at com.example.CalculatorTest.dividesEvenly(CalculatorTest.java:21)
]]></failure>
    <system-out><![CDATA[dividing 4 by 2
]]></system-out>
  </testcase>
  <testcase name="readsConfig" classname="com.example.CalculatorTest" time="0.002">
    <error message="config.properties (No such file or directory)" type="java.io.FileNotFoundException"><![CDATA[java.io.FileNotFoundException: config.properties (No such file or directory)
	at java.base/java.io.FileInputStream.open0(Native Method)
	at com.example.CalculatorTest.readsConfig(CalculatorTest.java:34)
]]></error>
  </testcase>
  <testcase name="slowPath" classname="com.example.CalculatorTest" time="0">
    <skipped message="not on CI"/>
  </testcase>
  <testcase name="timesOutSometimes" classname="com.example.CalculatorTest" time="0.031">
    <flakyFailure message="execution timed out after 10 ms" type="java.util.concurrent.TimeoutException">
      <stackTrace><![CDATA[java.util.concurrent.TimeoutException: execution timed out after 10 ms
	at com.example.CalculatorTest.timesOutSometimes(CalculatorTest.java:41)
]]></stackTrace>
    </flakyFailure>
  </testcase>
</testsuite>
"""

# jest-junit 16 defaults: classname and name are "{classname} {title}", the failure is the stack in the text.
JEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="1.234">
  <testsuite name="sum" errors="0" failures="1" skipped="1" timestamp="2024-05-02T10:11:12" time="0.412" tests="3">
    <testcase classname="sum adds 1 + 2 to equal 3" name="sum adds 1 + 2 to equal 3" time="0.002">
    </testcase>
    <testcase classname="sum subtracts" name="sum subtracts" time="0.004">
      <failure>Error: expect(received).toBe(expected) // Object.is equality

Expected: 1
Received: 2
    at Object.toBe (/home/runner/work/app/app/src/sum.test.js:9:17)
    at Promise.then.completed (/home/runner/work/app/app/node_modules/jest-circus/build/utils.js:298:28)</failure>
    </testcase>
    <testcase classname="sum divides" name="sum divides" time="0">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>
"""

# go test -v 2>&1 | go-junit-report (v2): the package is the classname, the message is the word "Failed".
GO = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1">
\t<testsuite name="github.com/acme/calc" tests="3" failures="1" errors="0" id="0" hostname="runner" time="0.004" timestamp="2024-05-02T10:11:12Z">
\t\t<properties>
\t\t\t<property name="go.version" value="go1.22.2 linux/amd64"></property>
\t\t</properties>
\t\t<testcase name="TestAdd" classname="github.com/acme/calc" time="0.000"></testcase>
\t\t<testcase name="TestDivide" classname="github.com/acme/calc" time="0.000">
\t\t\t<failure message="Failed"><![CDATA[    calc_test.go:14: Divide(4, 2) = 3; want 2]]></failure>
\t\t</testcase>
\t\t<testcase name="TestNetwork" classname="github.com/acme/calc" time="0.000">
\t\t\t<skipped message="Skipped"><![CDATA[    calc_test.go:20: no network]]></skipped>
\t\t</testcase>
\t</testsuite>
</testsuites>
"""


@pytest.fixture(scope="module")
def pytest_xml(tmp_path_factory) -> dict[str, bytes]:
    """Real pytest reports (default xunit2, and xunit1 with file/line attributes) from a real run."""
    folder = tmp_path_factory.mktemp("pytest-run")
    (folder / "test_sample.py").write_text(textwrap.dedent('''
        import pytest

        def test_ok():
            pass

        def test_bad():
            assert 1 + 1 == 3, "arithmetic is broken"

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture exploded")

        def test_error(broken):
            pass

        @pytest.mark.skip(reason="later")
        def test_skipped():
            pass
    '''))
    out = {}
    for family in ("xunit2", "xunit1"):
        target = folder / f"{family}.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", f"junit_family={family}",
                        f"--junitxml={target}", "test_sample.py"], cwd=folder, capture_output=True, check=False)
        out[family] = target.read_bytes()
    return out


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
