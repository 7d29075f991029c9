"""Fuzz webhook normalisation (bot/sansio/events.py): `python -m fuzz.fuzz_events [flags] [corpus]`.

Input: one byte choosing the source and event header, then the JSON body as the sender posts it.
A body that is not JSON is refused by ingress before normalisation, so it is skipped here.
"""
import sys

import atheris
import orjson

with atheris.instrument_imports(include=["bot"]):
    from fuzz.properties import check_event

HEADERS = (("github", "issue_comment"), ("github", "push"), ("github", "pull_request"), ("github", "check_suite"),
           ("gitlab", "Note Hook"), ("gitlab", "Pipeline Hook"), ("gitlab", "Push Hook"), ("slack", "event"))


def one_input(data: bytes) -> None:
    if not data:
        return
    try:
        payload = orjson.loads(data[1:])
    except orjson.JSONDecodeError:
        return
    source, name = HEADERS[data[0] % len(HEADERS)]
    check_event(source, name, payload)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
