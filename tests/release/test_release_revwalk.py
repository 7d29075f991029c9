"""The quick walk of a range (bot.sansio.revwalk through bot.git) against git's own `base..tip`.

Random histories (merges, several roots, branches never merged) are built with git
fast-import, and every sampled pair of commits is read both ways: the quick walk must give
git's commits in git's order and git's boundary, or say it cannot be sure (WalkUncertain),
never anything else. Dates that fall from child to parent never need git's way; equal dates
(a rebase, a script) rarely do.
"""
from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from bot.git import Git
from bot.sansio.revwalk import RangeTail, WalkUncertain
from tests.release.release_gitrepo import EPOCH, git_env

DAGS = 24  # histories per kind of dates
PAIRS = 12  # ranges read per history


def build_dag(path: Path, rng: random.Random, dates: str) -> list[str]:
    """A random history of 20-70 commits; returns the shas, oldest first."""
    count = rng.randint(20, 70)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], env=git_env(), check=True)
    stream = []
    for index in range(count):
        if dates == "falling":  # every child strictly later than its parents
            when = EPOCH + 60 * index
        elif dates == "equal":  # runs of commits made in the same second
            when = EPOCH + 60 * (index // 4)
        else:  # "skewed": clocks that disagree
            when = EPOCH + rng.randint(0, 60 * count)
        parents = []
        if index and rng.random() > 0.06:
            parents.append(rng.randrange(index) if rng.random() < 0.3 else index - 1)
            if index > 2 and rng.random() < 0.25:
                other = rng.randrange(index)
                if other not in parents:
                    parents.append(other)
        stream.append(f"reset refs/heads/b{index}\n" if not parents else "")
        stream.append(f"commit refs/heads/b{index}\nmark :{index + 1}\n"
                      f"committer Ann <ann@example.com> {when} +0000\ndata 9\nc{index:07d}\n")
        stream.extend(f"{'from' if n == 0 else 'merge'} :{p + 1}\n" for n, p in enumerate(parents))
        stream.append("\n")
    marks = path / "marks"
    subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], cwd=path,
                   env=git_env(), input="".join(stream).encode(), check=True)
    by_mark = dict(line.split() for line in marks.read_text().splitlines())
    return [by_mark[f":{index + 1}"] for index in range(count)]


def gits_range(path: Path, base: str, tip: str) -> tuple[list[str], set[str]]:
    """git's own `git log --boundary base..tip`: the commits in order, and the boundary."""
    out = subprocess.run(["git", "log", "--boundary", "--format=%m%H", f"{base}..{tip}"], cwd=path,
                         env=git_env(), capture_output=True, text=True, check=True).stdout.split()
    return [line[1:] for line in out if line[0] != "-"], {line[1:] for line in out if line[0] == "-"}


@pytest.mark.parametrize("dates", ["falling", "equal", "skewed"])
def test_quick_walk_is_gits_range_or_says_it_cannot_be_sure(tmp_path, dates):
    rng = random.Random(f"revwalk-{dates}")
    checked = uncertain = 0
    for number in range(DAGS):
        path = tmp_path / f"dag{number}"
        shas = build_dag(path, rng, dates)
        git = Git(path)
        for _ in range(PAIRS):
            base, tip = rng.choice(shas), rng.choice(shas)
            expected, expected_boundary = gits_range(path, base, tip)
            boundary: list[str] = []
            try:
                got = [commit.sha for commit in git.log([f"{base}..{tip}"], boundary=boundary)]
            except WalkUncertain:
                uncertain += 1
                continue
            checked += 1
            assert got == expected, f"{path}: {base}..{tip}"
            assert set(boundary) == expected_boundary, f"{path}: {base}..{tip}"
    if dates == "falling":
        assert uncertain == 0  # the quick walk is sure whenever clocks agree with history
    elif dates == "equal":
        assert checked >= DAGS * PAIRS // 4  # commits of the same second are common enough


def test_uncertain_walk_falls_back_to_gits_own(tmp_path):
    """A range whose dates tie falls back, through read_range, to git's limited walk."""
    rng = random.Random("revwalk-fallback")
    for number in range(40):
        path = tmp_path / f"dag{number}"
        shas = build_dag(path, rng, "equal")
        git = Git(path)
        for base, tip in [(rng.choice(shas), rng.choice(shas)) for _ in range(PAIRS)]:
            try:
                list(git.log([f"{base}..{tip}"]))
            except WalkUncertain:
                got = git.read_range([f"{base}..{tip}"], lambda commits: [c.sha for c in commits])
                assert got == gits_range(path, base, tip)[0]
                return
    pytest.fail("no range with equal dates needed git's own walk")


def test_tail_of_a_straight_history_ends_five_commits_after_the_base():
    """c9 … c0, base c5: git pops c5 and five more before it stops, as revision.c's SLOP says."""
    shas = [f"c{n}" for n in range(10)]
    parents = {sha: (shas[n - 1],) if n else () for n, sha in enumerate(shas)}
    shown = {sha: parents[sha] for sha in ["c9", "c8", "c7", "c6"]}
    tail = RangeTail("c5", "c9", shown, {"c8", "c7", "c6", "c5"}, last_date=6)
    popped = []
    for sha in ["c5", "c4", "c3", "c2", "c1", "c0"]:
        if not tail.pop(sha, parents[sha], int(sha[1:]), sha):
            break
        popped.append(sha)
    assert popped == ["c5", "c4", "c3", "c2", "c1"]  # c0 is where git stops
    assert tail.settle("c0", ()) and tail.in_range() == []
    assert tail.boundary() == {"c5"}


def test_tail_gives_up_on_a_commit_dated_after_the_one_before():
    tail = RangeTail("b", "t", {"t": ("b",)}, {"b"}, last_date=100)
    with pytest.raises(WalkUncertain, match="dated later"):
        tail.pop("b", ("a",), 101, None)


def test_tail_gives_up_when_an_ancestor_of_the_base_was_given_out():
    """t and x were given out, but x is also the base's parent: git would leave it out."""
    tail = RangeTail("b", "t", {"t": ("x",), "x": ()}, {"x"}, last_date=100)
    with pytest.raises(WalkUncertain):
        tail.pop("b", ("x",), 90, None)
