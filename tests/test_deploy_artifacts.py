"""The ways to run shipbot in production stay valid: Procfile, app.yaml, Dockerfile, Kubernetes manifests."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))


def tool(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).with_name(name))


class TestArtifacts:
    def test_procfile_migrates_on_release_and_serves_on_port(self):
        """Heroku runs `shipbot migrate` in its release phase and serves on $PORT."""
        lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
        assert lines["release"].strip() == "shipbot migrate"
        assert lines["web"].strip() == "shipbot serve --port $PORT"

    def test_app_yaml_uses_the_same_entry_point(self):
        """App Engine runs the same command and probes the health routes."""
        app = yaml.safe_load((ROOT / "app.yaml").read_text())
        assert app["entrypoint"] == "shipbot serve --port $PORT"
        assert app["readiness_check"]["path"] == "/readyz" and app["liveness_check"]["path"] == "/healthz"

    def test_dockerfile_passes_hadolint_and_runs_as_non_root(self):
        """hadolint (from PyPI) has nothing to say, and the image does not run as root."""
        dockerfile = ROOT / "Dockerfile"
        result = subprocess.run([tool("hadolint"), str(dockerfile)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        users = [line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("USER ")]
        assert users and users[-1] not in ("root", "0")

    def test_kubernetes_manifests_validate_offline(self):
        """The manifests validate against Kubernetes' schemas (strict), with probes on /healthz and /readyz."""
        result = subprocess.run([tool("kubernetes-validate"), "--strict", "-k", "1.30", *map(str, MANIFESTS)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        deployment = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "deployment.yaml").read_text())
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["initContainers"][0]["command"] == ["shipbot", "migrate"]
        assert deployment["spec"]["replicas"] >= 2
