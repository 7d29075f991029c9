"""Fuzz webhook normalisation (bot/sansio/events.py): `python -m fuzz.fuzz_events [flags] [corpus]`.

Input: one byte choosing the source and event header, then the JSON body as the sender posts it.
A body that is not JSON is refused by ingress before normalisation, so it is skipped here; the
custom mutator therefore changes the JSON's values and shapes (types swapped, keys dropped,
containers where strings belong) rather than its bytes, most of the time.
"""
import random
import sys

import atheris
import orjson

with atheris.instrument_imports(include=["bot"]):
    from fuzz.properties import check_event

HEADERS = (("github", "issue_comment"), ("github", "push"), ("github", "pull_request"), ("github", "check_suite"),
           ("gitlab", "Note Hook"), ("gitlab", "Pipeline Hook"), ("gitlab", "Push Hook"), ("slack", "event"))
REPLACEMENTS = (None, True, False, 0, -1, 10**18, 1.5, "", "x", "created", "Bot", "/deploy staging", "o/r",
                [], [{}], {}, {"id": 1}, {"login": "x[bot]"})


def one_input(data: bytes) -> None:
    if not data:
        return
    try:
        payload = orjson.loads(data[1:])
    except orjson.JSONDecodeError:
        return
    source, name = HEADERS[data[0] % len(HEADERS)]
    check_event(source, name, payload)


def _mutate_value(value, rng: random.Random):
    """Replace, drop or re-shape one value somewhere inside `value`."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.15:
            del value[key]
        elif roll < 0.5:
            value[key] = rng.choice(REPLACEMENTS)
        else:
            value[key] = _mutate_value(value[key], rng)
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        value[index] = _mutate_value(value[index], rng)
        return value
    return rng.choice(REPLACEMENTS)


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    try:
        payload = orjson.loads(data[1:])
    except orjson.JSONDecodeError:
        payload = None
    if payload is None or rng.random() < 0.1:
        return atheris.Mutate(data, max_size)
    header = bytes([rng.randrange(256)]) if rng.random() < 0.1 else data[:1]
    out = header + orjson.dumps(_mutate_value(payload, rng))
    return out if len(out) <= max_size else data[:max_size]


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input, custom_mutator=mutate)
    atheris.Fuzz()
