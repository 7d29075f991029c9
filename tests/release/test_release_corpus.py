"""Agreement with 1,000 real releases of release-please, semantic-release and commitizen.

Each corpus line is one release: the previous tag, the next tag and the commits between them
(newest first). The library runs on every line, the real CLI on a seeded sample built as
real repositories. Every disagreement is written with its reason to test-output/.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.sansio.commits import Commit
from bot.sansio.release_config import release_settings
from bot.sansio.versioning import ReleasePlan, TagFormat, plan_release, release_tags
from tests.release.release_gitrepo import ROOT, fast_import, run_cli

CORPUS = ROOT.parent / "shared" / "corpus" / "release-bumps"  # DESIGN.md §5: ../shared/corpus
REPORT = ROOT / "test-output" / "release-corpus.md"
SAMPLE_PER_PROJECT = 10
SEED = 20240501

# Each project's own release rules, written as that repository's `release:` config would be.
PROJECT_CONFIG = {
    # release-please: breaking major, feat minor, any other releasable type patch; its changelog
    # shows feat, fix, perf, deps and revert, and only those make a release.
    "release-please": {"types": {"feat": "minor", "fix": "patch", "perf": "patch",
                                 "deps": "patch", "revert": "patch"}},
    # @semantic-release/commit-analyzer's default release rules: feat minor, fix/perf patch,
    # and every revert a patch.
    "semantic-release": {"types": {"feat": "minor", "fix": "patch", "perf": "patch",
                                   "revert": "patch"}},
    # commitizen's cz_conventional_commits bump_map: feat minor, fix/refactor/perf patch.
    "commitizen": {"types": {"feat": "minor", "fix": "patch", "refactor": "patch", "perf": "patch"}},
}


@dataclass
class Case:
    """One release of the corpus and what we make of it."""

    project: str
    row: dict
    plan: ReleasePlan | None = None

    @property
    def name(self) -> str:
        return f"{self.project} {self.row['prev_tag']} → {self.row['next_tag']}"

    @property
    def tag_format(self) -> str:
        return "v{version}" if self.row["prev_tag"].startswith("v") else "{version}"

    def config(self) -> dict:
        return {**PROJECT_CONFIG[self.project], "tag_format": self.tag_format}

    def visible_commits(self) -> list[dict]:
        """The commits a tool sees before releasing: all but the release commit itself."""
        return [c for c in self.row["commits"] if c["sha"] != self.row["release_commit"]]


def message(commit: dict) -> str:
    return commit["subject"] + (f"\n\n{commit['body']}" if commit["body"] else "")


def load_cases() -> list[Case]:
    return [Case(path.stem, json.loads(line))
            for path in sorted(CORPUS.glob("*.jsonl")) for line in path.open() if line.strip()]


def library_plan(case: Case) -> ReleasePlan:
    """Plan the release from the corpus line alone: linear history, merges off the base."""
    rows = case.visible_commits()
    base = case.row["prev_sha"]
    commits = []
    for index, row in enumerate(rows):
        parent = rows[index + 1]["sha"] if index + 1 < len(rows) else base
        commits.append(Commit(row["sha"], message(row), (parent, base) if row["is_merge"] else (parent,)))
    settings = release_settings(case.config())
    return plan_release(release_tags([case.row["prev_tag"]], TagFormat(case.tag_format)), commits, settings)


def reason(case: Case) -> str:
    """Why our bump differs from the project's, in words (the evidence follows in the report)."""
    ours, actual = case.plan.bump, case.row["actual_bump"]
    order = ["none", "patch", "minor", "major"]
    released_by = next((c["subject"] for c in case.row["commits"] if c["is_release_commit"]), "")
    # bump2version's "Bump version: a → b" commits: the maintainer picked the part by hand.
    prefix = "bump picked by hand with bump2version: " if released_by.startswith("Bump version:") else ""
    if case.plan.history.cancelled and order.index(actual) > order.index(ours):
        return prefix + "a commit and its revert cancel out here; the project's tool released for the revert"
    if ours == "none":
        types = sorted({c.type for c in case.plan.history.parsed()} | (
            {"(not conventional)"} if case.plan.history.unparsed else set()))
        return prefix + f"released although no commit asks for a release (types: {', '.join(types) or 'none'})"
    if order.index(ours) > order.index(actual):
        return prefix + f"the project released a smaller bump than its commits ask for ({ours})"
    return prefix + f"the project released a bigger bump than its commits ask for ({ours})"


def write_report(cases: list[Case], cli: dict[str, dict]) -> str:
    """Write the Markdown report and return the summary for the assertion message."""
    lines = ["# Release-bump corpus: shipbot next-version against the releases that happened", "",
             "Agreement: our bump (none/patch/minor/major) equals `actual_bump`; the exact version",
             "also needs no release between the two tags to be missing from the corpus.", ""]
    summary = []
    for project in [*sorted({c.project for c in cases}), "overall"]:
        mine = [c for c in cases if project in (c.project, "overall")]
        bump = sum(c.plan.bump == c.row["actual_bump"] for c in mine)
        version = sum(str(c.plan.next) == c.row["next_version"] for c in mine)
        summary.append(f"{project}: bump {bump}/{len(mine)} = {bump / len(mine):.1%}, "
                       f"exact version {version}/{len(mine)} = {version / len(mine):.1%}")
    lines += [f"- {line}" for line in summary]
    wrong = [c for c in cases if c.plan.bump != c.row["actual_bump"]]
    counts = Counter(reason(c).split(" (")[0] for c in wrong)
    lines += ["", "## Disagreements by reason", ""] + [f"- {n} × {text}" for text, n in counts.most_common()]
    lines += ["", "## Every disagreement", ""]
    for case in wrong:
        lines.append(f"### {case.name}: ours {case.plan.bump} ({case.plan.next}), "
                     f"released {case.row['actual_bump']} ({case.row['next_version']})")
        lines.append(f"Reason: {reason(case)}.")
        lines += [f"- reason: {r}" for r in case.plan.reasons[:5]]
        lines += [f"- commit: `{c['subject'][:100]}`" for c in case.visible_commits()[:8]]
        lines.append("")
    skipped = [c for c in cases if c.plan.bump == c.row["actual_bump"] and str(c.plan.next) != c.row["next_version"]]
    lines += ["## Same bump, other version (a release between the two tags is not in the corpus)", ""]
    lines += [f"- {c.name}: ours {c.plan.next}" for c in skipped]
    lines += ["", "## Real CLI on a seeded sample", ""]
    lines += [f"- {name}: cli {r['next']} ({r['bump']}), library {r['library']}" for name, r in sorted(cli.items())]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    top = "; ".join(f"{n}× {text}" for text, n in counts.most_common(4))
    return " | ".join(summary) + f" | main reasons: {top} | details: {REPORT}"


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    if not CORPUS.is_dir():
        pytest.fail(f"the release corpus is missing at {CORPUS}: clone shipbot next to shared/")
    cases = load_cases()
    for case in cases:
        case.plan = library_plan(case)
    return cases


def run_case_cli(case: Case, root: Path) -> dict:
    """Build the case as a real repository (fast-import) and run `next-version --json` on it."""
    path = root / case.name.replace(" ", "_").replace("→", "to")
    config = "release:\n" + "".join(f"  {key}: {json.dumps(value)}\n" for key, value in case.config().items())
    history = [{"message": f"chore: state at {case.row['prev_tag']}"}]
    for commit in reversed(case.visible_commits()):
        history.append({"message": message(commit), "merge": 0 if commit["is_merge"] else None})
    fast_import(path, history, tags={case.row["prev_tag"]: 0}, files={".shipbot.yml": config})
    done = run_cli("next-version", "--json", "--repo", str(path))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class TestCorpusAgreement:
    def test_library_and_cli_agree_with_real_releases(self, cases, tmp_path):
        """≥95% of the 1,000 releases get the bump the project made, ≥90% per project; the CLI agrees with the library."""
        rng = random.Random(SEED)
        sample = []
        for project in sorted({c.project for c in cases}):
            sample += rng.sample([c for c in cases if c.project == project], SAMPLE_PER_PROJECT)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda case: run_case_cli(case, tmp_path), sample))
        cli = {case.name: {**result, "library": f"{case.plan.next} ({case.plan.bump})"}
               for case, result in zip(sample, results)}
        summary = write_report(cases, cli)
        mismatched = [name for (name, r), case in zip(sorted(cli.items()), sorted(sample, key=lambda c: c.name))
                      if (r["next"], r["bump"]) != (str(case.plan.next) if case.plan.next else None, case.plan.bump)]
        assert mismatched == [], f"CLI and library disagree on {mismatched}; {summary}"
        overall = sum(c.plan.bump == c.row["actual_bump"] for c in cases) / len(cases)
        per_project = {p: sum(c.plan.bump == c.row["actual_bump"] for c in cases if c.project == p)
                       / sum(c.project == p for c in cases) for p in PROJECT_CONFIG}
        assert overall >= 0.95 and min(per_project.values()) >= 0.90, summary
