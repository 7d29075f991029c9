"""Read from a webhook body only the fields that routing needs; the worker parses the rest.

Acknowledging a delivery needs its event name, repository, sender and, for comments, the text that
may hold commands: a few dozen bytes of a 20–25 KB `pull_request` payload. simdjson validates the
whole document (structure and UTF-8) as fast as it can be read, and fields are taken from it
without building the other thousands of Python objects; orjson.loads took about four times as
long, the largest single cost of an acknowledgement. https://github.com/TkTech/pysimdjson
"""
from __future__ import annotations

from typing import Any

import simdjson

SMALL_OBJECT = 16

# What bot.sansio.events.from_github reads; tests/ingress/test_routing_view.py checks, over every
# octokit example, that the view normalizes exactly as the whole payload does.
GITHUB_ROUTING_FIELDS: dict[str, Any] = {
    "action": None,
    "zen": None,  # ping
    "repository": {"full_name": None, "id": None},
    "sender": {"login": None, "id": None, "type": None},
    "installation": {"id": None},
    "issue": {"number": None, "pull_request": None},
    "comment": {"body": None, "id": None, "user": {"type": None}},
}


def routing_view(body: bytes | str, fields: dict[str, Any]) -> Any:
    """The document's `fields` as plain Python (a dict when the body is an object; other JSON values
    whole). ValueError when the body is not JSON (UnicodeDecodeError is one)."""
    try:
        document = simdjson.Parser().parse(body)
    except RuntimeError as exc:  # pysimdjson's BIGINT_ERROR: an integer below -2**63
        raise ValueError(str(exc)) from None
    return _pick(document, fields)


def _pick(value: Any, fields: dict[str, Any] | None) -> Any:
    if isinstance(value, simdjson.Object):
        if fields is None:
            return value.as_dict()
        # pysimdjson answers an absent key by raising and catching inside (microseconds each), and
        # listing keys costs a string per key: a small object lists its keys once, a large one
        # (a repository has about 90) is asked for each field, which is nearly always there.
        if len(value) <= SMALL_OBJECT:
            present = set(value.keys())
            return {key: _pick(value[key], sub) for key, sub in fields.items() if key in present}
        picked = {}
        for key, sub in fields.items():
            try:
                picked[key] = _pick(value[key], sub)
            except KeyError:
                pass
        return picked
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value
