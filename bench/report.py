"""Run every benchmark, repeat each point, and write docs/benchmarks.md with its plot.

    .venv/bin/python bench/report.py              # the full report, about 10 minutes
    .venv/bin/python bench/report.py --quick      # a smoke run: short points, a small repository
    .venv/bin/python bench/report.py --parts ingest,changelog
    .venv/bin/python bench/report.py --render docs/benchmarks/figures.json   # re-render, measure nothing

Parts: ingestion (bench/ingest.py's servers: shipbot, the minimal gidgethub receiver, Probot, the floors),
changelog/next-version (bench/changelog.py's rows with git-cliff and commitizen beside them),
replica scaling (bench/replicas.py, needs PostgreSQL on 127.0.0.1:5432). Memory comes from all three.
The figures are saved as JSON next to the report, so the tables can be re-rendered without measuring.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import changelog  # noqa: E402
import ingest  # noqa: E402
import replicas  # noqa: E402
import report_render  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("ingest", "changelog", "replicas")
# CPU busy in the second before the run above this counts as other load. The load average is
# reported but not used: it trails by minutes, so a job that has just ended still shows in it.
BUSY_PERCENT = 10.0


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_before(quick: bool, repeats: int) -> dict:
    busy = psutil.cpu_percent(interval=1.0)
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    return {"cpu_model": cpu_model(), "cpus": cpus, "python": sys.version.split()[0], "load_start": load,
            "busy_before": busy, "other_load": busy > BUSY_PERCENT,
            "quick": quick, "repeats": repeats, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


async def ingest_part(seconds: float, repeats: int, concurrency: list[int]) -> dict:
    """bench/ingest.py's servers, all started at once, taking turns (ingest.take_turns)."""
    body = ingest.example_body("pull_request", "opened")
    figures: dict = {"seconds": seconds, "concurrency": concurrency, "servers": {}}
    own_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, ingest.LOAD_CPU)
    with tempfile.TemporaryDirectory(prefix="shipbot-bench-") as scratch:
        db = Path(scratch) / "bench.db"
        servers = ingest.make_servers(db, floors=True)
        try:
            for server in servers:
                server.start()
            for server in servers:
                await server.wait_ready()
            await asyncio.sleep(1.0)
            idle = {server.name: server.rss() for server in servers}
            results = await ingest.take_turns(servers, body, concurrency, seconds, repeats)
        finally:
            for server in servers:
                server.stop()
            os.sched_setaffinity(0, own_cpus)
        with sqlite3.connect(db) as conn:
            rows = conn.execute("select count(*) from jobs").fetchone()[0]
    for server in servers:
        figures["servers"][server.name] = {
            "idle_rss": [idle[server.name]], "peak_rss": [server.peak_rss],
            "points": {str(c): {key: [run[key] for run in runs] for key in ("rps", "p50", "p99", "cpu_us")}
                       for c, runs in results[server.name].items()}}
    accepted = sum(run["statuses"].get(202, 0) for runs in results["shipbot"].values() for run in runs)
    # The warm-up's deliveries are stored too, so rows may exceed the measured 202s, never fall short.
    figures["shipbot_stored"] = {"accepted": accepted, "rows": rows}
    return figures


def changelog_part(commits: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="shipbot-bench-") as scratch:
        changelog.PYCACHE = Path(scratch) / "pycache"  # as bench/changelog.py's main does
        changelog.PYTHON = changelog.installed_python(Path(scratch))
        repo = Path(scratch) / "repo"
        span = changelog.build_repo(repo, commits)
        runs = {**changelog.commands(repo, span, given=False),
                **changelog.rival_commands(repo, span, Path(scratch))}
        samples = changelog.sample(runs, repo, repeats)
    changelog.PYCACHE = None
    return {"commits": commits, "span": span,
            "rows": {name: {"wall": [s[0] for s in runs_], "rss_kib": [s[1] for s in runs_],
                            "cpu": [s[2] for s in runs_]} for name, runs_ in samples.items()}}


def measure(parts: list[str], quick: bool, repeats: int) -> dict:
    started = time.monotonic()
    figures: dict = {"machine": machine_before(quick, repeats)}
    seconds = 1.0 if quick else 5.0
    for part in parts:
        print(f"bench/report.py: {part} …", file=sys.stderr, flush=True)
        if part == "ingest":
            # Twice the rounds of half the length: the same time, more turns to even out the noise.
            figures["ingest"] = asyncio.run(ingest_part(seconds / 2, repeats * 2, [1, 8, 64]))
        elif part == "changelog":
            figures["changelog"] = changelog_part(2_000 if quick else 20_000, repeats if quick else max(repeats, 5))
        elif part == "replicas":
            figures["replicas"] = asyncio.run(replicas.run(seconds, repeats, (8, 64)))
    figures["machine"].update(load_end=os.getloadavg()[0], minutes=(time.monotonic() - started) / 60)
    return figures


def write(figures: dict, out: Path) -> None:
    assets = out.parent / out.stem
    figures["figures_file"] = str((assets / "figures.json").relative_to(out.parent))
    plot = None
    if "ingest" in figures:
        plot = report_render.plot(figures, assets / "ingest.png").relative_to(out.parent).as_posix()
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    out.write_text(report_render.render_markdown(figures, plot) + "\n")
    print(f"wrote {out} and {assets}/", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 s points and a 2,000-commit repository")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each point (at least 3)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"a comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks.md")
    parser.add_argument("--render", type=Path, metavar="FIGURES_JSON", help="re-render saved figures, measure nothing")
    args = parser.parse_args()
    if args.render:
        write(json.loads(args.render.read_text()), args.out)
        return 0
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or args.repeats < 3:
        parser.error(f"unknown part(s) {', '.join(unknown)}" if unknown else "--repeats must be at least 3: "
                     "a median and a spread need three runs")
    if "ingest" in parts and not ingest.EXAMPLES.exists():
        parser.error(f"{ingest.EXAMPLES} is missing: run `npm ci`")
    if "replicas" in parts and subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode:
        parser.error("PostgreSQL is not answering on 127.0.0.1:5432: run `make postgres`")
    write(measure(parts, args.quick, args.repeats), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
