"""Fuzz JUnit XML and artifact reading (bot/sansio/junit.py): `python -m fuzz.fuzz_junit [flags] [corpus]`.

Input: the bytes of a report file (also tried as a zip archive).
"""
import sys

import atheris

with atheris.instrument_imports(include=["bot", "junitparser"]):
    from fuzz.properties import check_junit


def one_input(data: bytes) -> None:
    check_junit(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
