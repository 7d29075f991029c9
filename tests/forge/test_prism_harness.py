"""The Prism harness itself: it trims GitHub's description and catches requests the description rejects."""
from __future__ import annotations

import json

from tests.prism import DESCRIPTION, OPERATIONS, trim_spec


class TestTrimmedSpec:
    def test_only_our_operations(self):
        """The trimmed description holds exactly the operations shipbot calls, without Link headers."""
        spec = trim_spec(json.loads(DESCRIPTION.read_bytes()), OPERATIONS)
        kept = {(p, m) for p, item in spec["paths"].items() for m in item if m != "parameters"}
        assert kept == {(p, m) for p, ms in OPERATIONS.items() for m in ms}
        assert '"Link"' not in json.dumps(spec["paths"]) and '"link"' not in json.dumps(spec["components"]["headers"])


class TestViolations:
    async def test_request_against_the_spec(self, github_api):
        """A body missing a required field is answered with an error and recorded as a violation."""
        async with github_api.session.post(f"{github_api.url}/repos/o/r/deployments", json={"environment": "x"}) as r:
            assert r.status == 422
        assert "required property 'ref'" in github_api.violations[0]
        github_api.violations.clear()  # expected here; any other test fails on it

    async def test_operation_we_do_not_call(self, github_api):
        """An operation outside the trimmed description is a problem+json answer and a violation."""
        async with github_api.session.delete(f"{github_api.url}/repos/o/r") as r:
            assert r.headers["content-type"].startswith("application/problem+json")
        assert github_api.violations
        github_api.violations.clear()

    async def test_accept_rewritten(self, github_api):
        """GitHub's media type reaches Prism as application/json, which it can answer."""
        async with github_api.session.get(f"{github_api.url}/repos/o/r/tags",
                                          headers={"Accept": "application/vnd.github+json"}) as r:
            assert r.status == 200
        assert github_api.calls[0].headers["Accept"] == "application/json" and not github_api.violations
