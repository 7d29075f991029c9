"""The example CI files users copy: valid YAML, the keys each CI requires, every shipbot input, valid API calls."""
from __future__ import annotations

import json
import re
import shlex
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.peers import NODE_MODULES

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ("environment", "ref", "sha", "shipbot_request_id", "requested_by")  # DESIGN.md, "Every deploy hands…"
OPENAPI = NODE_MODULES / "@octokit" / "openapi" / "generated" / "api.github.com.deref.json"
STATUSES = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"


def workflow(name: str = "deploy.yml") -> dict:
    data = yaml.safe_load((ROOT / "examples" / "github" / name).read_text())
    # YAML 1.1 reads the bare key `on` as True; GitHub reads it as "on".
    data["on"] = data.pop(True, data.get("on"))
    return data


@lru_cache(maxsize=1)
def status_schema() -> dict:
    spec = json.loads(OPENAPI.read_text())
    return spec["paths"][STATUSES]["post"]["requestBody"]["content"]["application/json"]["schema"]


def api_calls(run: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, fields) of each `gh api` call in a step's script."""
    calls = []
    for line in re.split(r"\n(?=gh )", run.strip()):
        words = shlex.split(line)
        if words[:2] != ["gh", "api"]:
            continue
        method = words[words.index("--method") + 1]
        path = next(w for w in words[2:] if w.startswith("repos/"))
        fields = dict(w.split("=", 1) for i, w in enumerate(words) if i and words[i - 1] == "-f")
        calls.append((method, path, fields))
    return calls


class TestGitHubWorkflow:
    def test_required_keys(self):
        """The workflow has what GitHub requires: on, jobs, runs-on and steps with run or uses."""
        data = workflow()
        assert data["on"] == "deployment" and data["permissions"]["deployments"] == "write"
        for job in data["jobs"].values():
            assert job["runs-on"] and job["steps"]
            for step in job["steps"]:
                assert ("run" in step) != ("uses" in step), step

    def test_reads_every_input_from_the_payload(self):
        """Every input shipbot hands a deploy is read from the deployment payload, and the sha is checked out."""
        text = (ROOT / "examples" / "github" / "deploy.yml").read_text()
        for name in INPUTS:
            assert f"github.event.deployment.payload.{name} }}}}" in text, name
        steps = workflow()["jobs"]["deploy"]["steps"]
        checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["ref"] == "${{ github.event.deployment.payload.sha }}"

    def test_status_calls_match_github_openapi(self):
        """Each status report is a POST GitHub's OpenAPI description accepts, ending in success or failure."""
        states = []
        for step in workflow()["jobs"]["deploy"]["steps"]:
            for method, path, fields in api_calls(step.get("run", "")):
                assert method == "POST"
                assert re.fullmatch(r"repos/\$\{GITHUB_REPOSITORY\}/deployments/\$\{DEPLOYMENT_ID\}/statuses", path)
                jsonschema.validate(fields, status_schema())
                states.append(fields["state"])
        assert states == ["in_progress", "success", "failure"]


class TestDispatchedWorkflow:
    def test_declares_every_input_and_names_the_run(self):
        """workflow_dispatch declares each input as a required string; run-name carries the request id."""
        data = workflow("deploy-dispatch.yml")
        inputs = data["on"]["workflow_dispatch"]["inputs"]
        assert tuple(inputs) == INPUTS
        assert all(spec["required"] is True and spec["type"] == "string" for spec in inputs.values())
        assert "${{ inputs.shipbot_request_id }}" in data["run-name"]
        steps = data["jobs"]["deploy"]["steps"]
        assert data["jobs"]["deploy"]["runs-on"] and all(("run" in s) != ("uses" in s) for s in steps)
        assert steps[0]["with"]["ref"] == "${{ inputs.sha }}"


class TestGitLabCI:
    @pytest.fixture
    def ci(self) -> dict:
        return yaml.safe_load((ROOT / "examples" / "gitlab" / ".gitlab-ci.yml").read_text())

    def test_deploy_job_reads_the_variables(self, ci):
        """The deploy job runs only for shipbot's pipelines, names the environment and uses every variable."""
        job = ci["deploy"]
        assert job["stage"] in ci["stages"] and isinstance(job["script"], list)
        assert job["environment"]["name"] == "$environment" and job["resource_group"] == "$environment"
        assert "$shipbot_request_id" in job["rules"][0]["if"]
        script = "\n".join(job["script"])
        for name in INPUTS:
            assert f"${name}" in script, name
        assert 'git checkout --detach "$sha"' in script


class TestActionlint:
    def test_workflows_pass_actionlint(self):
        """actionlint (from PyPI) finds nothing to say about the example workflows."""
        import shutil
        import subprocess
        import sys
        from pathlib import Path

        binary = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
        workflows = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "examples" / "github").glob("*.yml"))
        result = subprocess.run([binary, *workflows], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
