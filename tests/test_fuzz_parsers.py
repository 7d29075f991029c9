"""Run each atheris harness in fuzz/ for a short, bounded time: no crash, no hang, no undocumented error.

The seed corpora are real inputs: commit messages of the release corpus (../shared/corpus),
DESIGN.md's example config, the JUnit reports the tests use, and recorded webhooks.
libFuzzer mutates them (coverage-guided) for -runs inputs or -max_total_time seconds.
A failure shows the harness's report; the input that broke it is kept under the test's tmp_path.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.junit_samples import GO, JEST, SUREFIRE

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "release-bumps"
GITLAB_FIXTURES = ROOT.parent / "shared" / "fixtures" / "gitlab"
GITHUB_EXAMPLES = ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
RUNS, SECONDS = 20000, 8


def commit_seeds() -> list[bytes]:
    seeds = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text().splitlines()[:40]:
            for commit in json.loads(line)["commits"][:5]:
                message = commit["subject"] + ("\n\n" + commit["body"] if commit.get("body") else "")
                seeds.append(bytes([int(bool(commit.get("is_merge")))]) + message.encode())
    return seeds


def command_seeds() -> list[bytes]:
    lines = ["/deploy staging", "/deploy widget@v1.2 to production --force", "/shipbot lock staging 'db work'",
             "/release minor --pre rc --dry-run", "/release-as 2.0.0", "/shipbot deploy confirm 4F2K",
             "/rollback prod --repo github:o/r", "/dora 30d", "> /deploy prod\n```\n/deploy x\n```\n/retest",
             "/shipbot help deploy", "/lock prod --steal", "/shipbot link gitlab:g/sub/p"]
    return [bytes([flags]) + line.encode() for line in lines for flags in (0, 1, 5)]


def config_seeds() -> list[bytes]:
    from tests.sansio.test_repoconfig import DESIGN_EXAMPLE

    return [DESIGN_EXAMPLE.encode(), b"deploy:\n  environments:\n    staging: {allow: ['*']}\n    production:\n"
                    b"      aliases: [prod]\n      allow: &ops ['github:octocat']\n      confirm: true\n"]


def junit_seeds() -> list[bytes]:
    return [GO, JEST, SUREFIRE]


def event_seeds() -> list[bytes]:
    seeds = []
    if GITHUB_EXAMPLES.exists():
        for entry in json.loads(GITHUB_EXAMPLES.read_text()):
            if entry["name"] in ("issue_comment", "push", "pull_request", "check_suite"):
                index = ("issue_comment", "push", "pull_request", "check_suite").index(entry["name"])
                seeds += [bytes([index]) + json.dumps(example).encode() for example in entry["examples"][:2]]
    for path in sorted(GITLAB_FIXTURES.rglob("*.json"))[:20]:
        seeds.append(bytes([4 + len(seeds) % 3]) + path.read_bytes())
    return seeds


HARNESSES = {"commits": commit_seeds, "commands": command_seeds, "repoconfig": config_seeds,
             "junit": junit_seeds, "events": event_seeds}


@pytest.mark.parametrize("target", sorted(HARNESSES))
def test_harness_runs_clean(target, tmp_path):
    """The harness exits 0 after its bounded run: every mutated input kept the parser's promises."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = HARNESSES[target]()
    assert seeds, f"no seed inputs found for {target}"
    for index, seed in enumerate(seeds):
        (corpus / f"seed-{index:04d}").write_bytes(seed)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", f"fuzz.fuzz_{target}", f"-runs={RUNS}", f"-max_total_time={SECONDS}",
         "-timeout=10", "-rss_limit_mb=1024", "-seed=1",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=SECONDS * 8 + 60)
    report = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, f"fuzz_{target} found a problem:\n{report}"
    assert "Done" in report, report
