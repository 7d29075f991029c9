"""Fuzz `.shipbot.yml` parsing and validation (bot/sansio/repoconfig.py, release_config.py).

`python -m fuzz.fuzz_repoconfig [libFuzzer flags] [corpus]`; input: the file as UTF-8.
"""
import sys

import atheris

with atheris.instrument_imports(include=["bot", "yaml"]):
    from fuzz.properties import check_repo_config


def one_input(data: bytes) -> None:
    check_repo_config(data.decode("utf-8", "replace"))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
