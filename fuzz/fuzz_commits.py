"""Fuzz commit message parsing (bot/sansio/commits.py): `python -m fuzz.fuzz_commits [libFuzzer flags] [corpus]`.

Input: one flag byte (bit 0: a merge commit), then the message as UTF-8.
"""
import sys

import atheris

with atheris.instrument_imports(include=["bot"]):
    from fuzz.properties import check_commit_message


def one_input(data: bytes) -> None:
    if data:
        check_commit_message(data[1:].decode("utf-8", "replace"), merge=bool(data[0] & 1))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
