"""JUnit XML samples as the tools write them, and a real pytest run that writes its own."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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

SAMPLE_TESTS = textwrap.dedent('''
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

    @pytest.mark.skip(reason="one skipped test, so the JUnit report counts a skip")
    def test_skipped():
        pass
''')


def run_pytest(folder: Path, family: str = "xunit2") -> bytes:
    """Run pytest for real on SAMPLE_TESTS and return the JUnit XML it wrote."""
    (folder / "test_sample.py").write_text(SAMPLE_TESTS)
    target = folder / f"{family}.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", f"junit_family={family}",
                    f"--junitxml={target}", "test_sample.py"], cwd=folder, capture_output=True, check=False)
    return target.read_bytes()
