"""Just enough of GitHub's API, on the recording server, for `/help` on issue #1 of Codertocat/Hello-World.

Comments are kept, so a retried job finds the answer it already gave; each answer carries a marker
naming its delivery and handler, which is how the tests count effects.
"""
from __future__ import annotations

import re
from collections import Counter

from tests.peers import body_of, github_example, github_headers
from tests.recorder import RecordingServer

SECRET = "faults-secret"
COMMENTS = r"/repos/Codertocat/Hello-World/issues/1/comments"
MARKER = re.compile(r"<!-- shipbot:reply (\S+) (\S+) \d+ -->")
LOGIN = "shipbot-test[bot]"


def fake_github(recorder: RecordingServer, *, delay: float = 0.0) -> list[dict]:
    """`delay` slows each new comment, to keep jobs in flight when a fault strikes."""
    comments: list[dict] = []

    def create(req, _match):
        comment = {"id": len(comments) + 1, "body": req.json["body"], "user": {"login": LOGIN, "id": 9}}
        comments.append(comment)
        return comment

    recorder.on("GET", "/user", json={"login": LOGIN, "id": 9})
    # No .shipbot.yml (the defaults apply); the commenter is the repository's admin.
    recorder.on("GET", r"/repos/Codertocat/Hello-World/contents/.*", status=404, json={"message": "Not Found"})
    recorder.on("GET", r"/repos/Codertocat/Hello-World/collaborators/Codertocat/permission",
                json={"permission": "admin", "role_name": "admin", "user": {"login": "Codertocat"}})
    recorder.on("POST", COMMENTS, status=201, respond=create, delay=delay)
    recorder.on("GET", COMMENTS, respond=lambda req, m: list(comments))
    return comments


def comment_delivery(delivery: str, text: str = "/help") -> tuple[bytes, dict[str, str]]:
    """A real `issue_comment` delivery saying `text`, signed as GitHub signs it."""
    payload = github_example("issue_comment", "created")
    payload["comment"]["body"] = text
    body = body_of(payload)
    return body, github_headers("issue_comment", body, SECRET, delivery=delivery)


def answers(comments: list[dict]) -> Counter:
    """How many answers each delivery got (not counting "shipbot gave up" notes)."""
    found = (MARKER.search(c["body"]) for c in comments)
    return Counter(m.group(1) for m in found if m and m.group(2) != "gave-up")
