"""Ingress normalizes from a view of the fields routing needs; it must route exactly as the whole payload."""
from __future__ import annotations

import json

import orjson
import pytest
import simdjson

from bot.ingress.routing_view import GITHUB_ROUTING_FIELDS, routing_view
from bot.sansio.events import from_github
from tests.peers import OCTOKIT_EXAMPLES


def octokit_examples():
    for event in json.loads(OCTOKIT_EXAMPLES.read_text()):
        for i, example in enumerate(event["examples"]):
            yield pytest.param(event["name"], example, id=f"{event['name']}-{example.get('action', '')}-{i}")


def routing(event):
    return (event.name, event.repo, event.actor, event.installation_id, event.commands, event.reply_to)


@pytest.mark.parametrize(("name", "payload"), list(octokit_examples()))
def test_every_octokit_example_routes_the_same_from_the_view(name, payload):
    body = orjson.dumps(payload)
    view = routing_view(body, GITHUB_ROUTING_FIELDS)
    assert routing(from_github(name, view, "d")) == routing(from_github(name, payload, "d"))
    assert len(orjson.dumps(view)) < max(len(body), 600)


def test_comment_commands_come_through_the_view():
    payload = {"action": "created", "repository": {"full_name": "o/r", "id": 1, "name": "r"},
               "sender": {"login": "dev", "id": 2, "type": "User"},
               "issue": {"number": 7, "pull_request": {"url": "u"}, "title": "t"},
               "comment": {"id": 9, "body": "/deploy staging", "user": {"type": "User", "login": "dev"}}}
    event = from_github("issue_comment", routing_view(orjson.dumps(payload), GITHUB_ROUTING_FIELDS), "d")
    assert [c.name for c in event.commands] == ["deploy"] and event.reply_to.on_change_request


@pytest.mark.parametrize("body", [b'{"action":', b"\xff\xfe{}", b'{"a": 1} trailing', b"", b"{" * 5000 + b"}" * 5000,
                                  b'{"": -9223372036854775809}', b'{"a": 18446744073709551616}', b'{"a": 1e400}'])
def test_what_is_not_json_is_a_value_error(body):
    with pytest.raises(ValueError):
        routing_view(body, GITHUB_ROUTING_FIELDS)


def test_fields_of_the_wrong_type_come_through_whole_for_normalize_to_judge():
    view = routing_view(b'{"repository": "o/r", "sender": [1, 2], "comment": {"user": "x", "body": 5}}',
                        GITHUB_ROUTING_FIELDS)
    assert view == {"repository": "o/r", "sender": [1, 2], "comment": {"user": "x", "body": 5}}
    assert not isinstance(view["comment"], simdjson.Object)


def test_other_json_values_are_returned_whole():
    assert routing_view(b"[1, 2]", GITHUB_ROUTING_FIELDS) == [1, 2]
    assert routing_view(b'"x"', GITHUB_ROUTING_FIELDS) == "x"
