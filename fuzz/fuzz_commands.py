"""Fuzz the command grammar (bot/sansio/commands.py): `python -m fuzz.fuzz_commands [libFuzzer flags] [corpus]`.

Input: one flag byte (bit 0: a comment rather than Slack; bits 1-2: no forge, GitHub, GitLab),
then the text as UTF-8.
"""
import sys

import atheris

with atheris.instrument_imports(include=["bot"]):
    from fuzz.properties import check_command_text

FORGES = (None, "github", "gitlab", None)


def one_input(data: bytes) -> None:
    if data:
        check_command_text(data[1:].decode("utf-8", "replace"), in_comment=bool(data[0] & 1),
                           forge=FORGES[(data[0] >> 1) & 3])


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
