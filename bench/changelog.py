"""Time `shipbot changelog` and `shipbot next-version` on a large history beside `git log`.

    python bench/changelog.py                 # builds a 20,000-commit repo from the corpus
    python bench/changelog.py --commits 50000
    python bench/changelog.py /path/to/repo --range v1.0.0..HEAD

The repository is built in a temp dir with git fast-import from the real commit messages of
../shared/corpus/release-bumps (merges included, as real two-parent commits). Each command
runs --repeat times; the table shows the median wall time, the peak RSS of the process, and
the ratio to `git log` over the same range (the floor: no tool can read history faster than
git hands it over). Targets: changelog ≤ 2× the floor, next-version ≤ 1.5×. With the `bench`
extra installed, git-cliff and commitizen do the same two jobs on the same range beside them.

The floor is fair to both sides: plain `git log` reads every commit object of the range and
prints what a changelog needs (sha, author, date, the whole message); the second row, git with
exactly the format shipbot asks for, costs a little less (~0.85× the floor: a Unix-time committer
date is cheaper for git to print than a formatted one).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "release-bumps"
AUTHORS = [("Ann Lee", "12345+annlee@users.noreply.github.com"), ("Bo Chen", "bo@example.com"),
           ("Dee Ray", "dee@example.com")]
# The corpus has no authors: its dependency-bot messages get the bot as author, others a person.
BOTS = {"Bumps [": ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
        "renovate": ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com")}
TARGETS = {"changelog": 2.0, "next-version": 1.5}
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


# Where the warm-up runs leave Python's compiled bytecode (set by main, in its temp dir).
# An installed shipbot runs from .pyc files (pip compiles them at install); run from this
# checkout under PYTHONDONTWRITEBYTECODE=1, as some shells and CI images set it, every timed
# run would compile shipbot's modules from source again (~10% of its Python instructions),
# and the warm-up run would not warm what sample() says it warms.
PYCACHE: Path | None = None
# The interpreter that runs shipbot: a venv beside the checkout's, seeing its packages and this
# checkout through a plain .pth file, as a regular install does (set by main). The checkout's
# own editable install imports setuptools' finder (and pathlib, re, urllib.parse…) at every
# start, ~15 ms before the CLI can start git: a development artifact no user's shipbot has.
# https://setuptools.pypa.io/en/latest/userguide/development_mode.html
PYTHON = sys.executable


def installed_python(scratch: Path) -> str:
    """A venv whose site-packages lists the checkout's packages and the checkout by path."""
    import sysconfig

    target = scratch / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    found = subprocess.run([str(target / "bin" / "python"), "-c",
                            "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    Path(found, "shipbot-bench.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{ROOT}\n")
    return str(target / "bin" / "python")


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    if PYCACHE is not None:
        clean.pop("PYTHONDONTWRITEBYTECODE", None)
        clean["PYTHONPYCACHEPREFIX"] = str(PYCACHE)  # not in the checkout: it stays clean
    return {**clean, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "SOURCE_DATE_EPOCH": "1714521600"}


def corpus_messages() -> list[tuple[str, bool]]:
    """Every non-release commit message of the corpus, oldest first, with its merge flag."""
    messages = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            for commit in reversed(row["commits"]):
                if not commit["is_release_commit"]:
                    body = f"\n\n{commit['body']}" if commit["body"] else ""
                    messages.append((commit["subject"] + body, commit["is_merge"]))
    return messages


def build_repo(path: Path, count: int) -> str:
    """A repository of `count` commits on main plus a root tag v0.1.0; returns the range."""
    messages = corpus_messages()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], env=env(), check=True)
    start = 1704067200
    stream = []
    for index in range(count):
        text, is_merge = messages[index % len(messages)]
        name, email = next((bot for marker, bot in BOTS.items() if marker in text),
                           AUTHORS[index % len(AUTHORS)])
        data = text.encode("utf-8")
        head = (f"commit refs/heads/main\nmark :{index + 1}\n"
                f"author {name} <{email}> {start + index} +0000\n"
                f"committer {name} <{email}> {start + index} +0000\n"
                f"data {len(data)}\n").encode() + data + b"\n"
        if index:
            head += f"from :{index}\n".encode()
        if is_merge and index > 5:
            head += f"merge :{index - 4}\n".encode()  # a real second parent, a few commits back
        stream.append(head + f"M 100644 inline f{index % 50}.txt\ndata 8\n{index:08d}\n\n".encode())
    stream.append(b"reset refs/tags/v0.1.0\nfrom :1\n\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, env=env(), input=b"".join(stream),
                   check=True)
    return "v0.1.0..HEAD"


def measure(command: list[str], cwd: Path) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds (with git children) of one run."""
    with tempfile.NamedTemporaryFile("r") as peak:
        # A child forked from this process starts with its RSS as the floor of ru_maxrss; GNU time's
        # own child does not, so its %M is the command's real peak.
        timed = [TIME, "-f", "%M", "-o", peak.name, *command] if TIME else command
        started = time.perf_counter()
        process = subprocess.Popen(timed, cwd=cwd, env=env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
        process.returncode = 0
        rss = int(peak.read().split()[-1]) if TIME else usage.ru_maxrss
    return elapsed, rss, usage.ru_utime + usage.ru_stime


def commands(repo: Path, span: str, *, given: bool) -> dict[str, list[str]]:
    """The floor and shipbot's commands over `span` of `repo`, by row name."""
    base, _, tip = span.rpartition("..")
    cli = [PYTHON, "-m", "bot.release_cli"]
    # A given range's start is used as it is; a built repo's v0.1.0 is found by the CLI.
    frm = ["--from", base] if base and given else []
    return {
        "git log (floor)": ["git", "log", span],
        "git log --format=<shipbot's> -z": ["git", "log", "-z",
                                            "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%ct%x1f%B", span],
        "next-version": [*cli, "next-version", "--repo", str(repo), "--rev", tip or "HEAD"],
        "next-version --json": [*cli, "next-version", "--json", "--repo", str(repo), "--rev", tip or "HEAD"],
        "changelog": [*cli, "changelog", "--repo", str(repo), *frm, "--to", tip or "HEAD"],
    }


def rival_commands(repo: Path, span: str, scratch: Path) -> dict[str, list[str]]:
    """git-cliff and commitizen doing the same two jobs over `span`, when installed (`.[bench]`).

    Both get a config file outside the repository: git-cliff its default (conventional commits),
    commitizen its conventional-commits rules with the range's start tag as the current version.
    """
    base, _, _ = span.rpartition("..")
    tools = Path(sys.executable).parent
    cliff, cz = shutil.which("git-cliff", path=tools), shutil.which("cz", path=tools)
    runs: dict[str, list[str]] = {}
    if cliff:
        config = scratch / "cliff.toml"
        subprocess.run([cliff, "--init", "--config", str(config)], env=env(), check=True, capture_output=True)
        cliff_cmd = [cliff, "--config", str(config), "--repository", str(repo)]
        runs["git-cliff --bumped-version"] = [*cliff_cmd, "--bumped-version", span]
        runs["git-cliff changelog"] = [*cliff_cmd, "--output", str(scratch / "cliff.md"), span]
    if cz and re.fullmatch(r"v\d+\.\d+\.\d+", base):
        config = scratch / "cz.toml"
        config.write_text(f'[tool.commitizen]\nname = "cz_conventional_commits"\nversion = "{base[1:]}"\n'
                          'tag_format = "v$version"\n')
        runs["cz bump --get-next"] = [cz, "--config", str(config), "bump", "--get-next"]
        runs["cz changelog --dry-run"] = [cz, "--config", str(config), "changelog", "--dry-run"]
    return runs


def sample(runs: dict[str, list[str]], repo: Path, repeat: int) -> dict[str, list[tuple[float, int, float]]]:
    """`repeat` measurements of each command, after one warm-up run each (page cache, .pyc files)."""
    samples: dict[str, list[tuple[float, int, float]]] = {name: [] for name in runs}
    for command in runs.values():
        measure(command, ROOT if command[0] == PYTHON else repo)
    for _ in range(repeat):  # interleaved, so a busy machine slows every row alike
        for name, command in runs.items():
            samples[name].append(measure(command, ROOT if command[0] == PYTHON else repo))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", nargs="?", help="a local repository (default: build one)")
    parser.add_argument("--range", help="range for a given repo (default: all of HEAD)")
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", metavar="PATH", help="also write every sample to PATH as JSON")
    args = parser.parse_args()
    global PYCACHE, PYTHON
    with tempfile.TemporaryDirectory(prefix="shipbot-bench-") as scratch:
        PYCACHE = Path(scratch) / "pycache"
        PYTHON = installed_python(Path(scratch))
        if args.repo:
            repo, span = Path(args.repo).resolve(), args.range or "HEAD"
        else:
            repo = Path(scratch) / "repo"
            started = time.perf_counter()
            span = build_repo(repo, args.commits)
            print(f"built {args.commits} commits with fast-import in {time.perf_counter() - started:.1f}s")
        base, _, tip = span.rpartition("..")
        count = subprocess.run(["git", "rev-list", "--count", span], cwd=repo, env=env(),
                               capture_output=True, text=True, check=True).stdout.strip()
        runs = {**commands(repo, span, given=bool(args.repo)), **rival_commands(repo, span, Path(scratch))}
        samples = sample(runs, repo, args.repeat)
        if args.json:
            Path(args.json).write_text(json.dumps({"commits": int(count), "span": span, "samples": samples}))
        results = {name: (statistics.median(s[0] for s in runs_), max(s[1] for s in runs_),
                          statistics.median(s[2] for s in runs_))
                   for name, runs_ in samples.items()}
    floor, _, floor_cpu = results["git log (floor)"]
    load = os.getloadavg()[0]
    print(f"\n{count} commits in {span}; median of {args.repeat} interleaved runs on "
          f"{os.cpu_count()} cores (load average {load:.1f} at the end)\n")
    print(f"{'command':34} {'wall s':>7} {'× floor':>8} {'CPU s':>7} {'× floor':>8} {'peak MiB':>9}"
          "  target (on wall time)")
    for name, (wall, rss, cpu) in results.items():
        target = TARGETS.get(name.split()[0])
        verdict = "" if target is None else f"≤ {target}×  {'met' if wall / floor <= target else 'MISSED'}"
        print(f"{name:34} {wall:7.3f} {wall / floor:8.2f} {cpu:7.3f} {cpu / floor_cpu:8.2f} "
              f"{rss / 1024:9.1f}  {verdict}")
    print("\nCPU s counts the command and the git processes it waited for; wall time is what a "
          "user waits,\nand on a busy machine it swings more than CPU time does.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
