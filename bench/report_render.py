"""Turn the figures bench/report.py measured into docs/benchmarks.md and its plots.

Every number in the report is computed here from the figures (medians, spreads, ratios, target
verdicts), so the text cannot drift from the measurement.
"""
from __future__ import annotations

import statistics
from pathlib import Path

MIB = 2**20
# The targets; bench/ingest.py and bench/changelog.py print the same ones.
MIN_RPS_VS_MINIMAL, MIN_RPS_CONCURRENCY = 0.8, 8
MAX_P99_VS_MINIMAL = 2.0
MIN_RPS_VS_PROBOT = 1.2
MAX_IDLE_RSS_MIB = 90
MAX_VS_FLOOR = {"changelog": 2.0, "next-version": 1.5}
# The rows of bench/changelog.py that do the same job, ours first.
SAME_JOB = {"next-version": ["next-version", "git-cliff --bumped-version", "cz bump --get-next"],
            "changelog": ["changelog", "git-cliff changelog", "cz changelog --dry-run"]}
FLOOR = "git log (floor)"
FLOORS = {"aiohttp-hmac", "bare-asyncio"}  # bench/floors.py's reference receivers


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> float:
    """(max − min) / median: how far apart the repeats of one point landed."""
    mid = median(values)
    return (max(values) - min(values)) / mid if mid else 0.0


def ratio(ours: list[float], theirs: list[float]) -> float:
    """Median of the per-round ratios: the rounds took turns, so each pair met the same neighbours'
    load. Figures with unequal counts (saved by an older report) fall back to the ratio of medians."""
    if len(ours) == len(theirs) and all(theirs):
        return median(a / b for a, b in zip(ours, theirs))
    return median(ours) / median(theirs)


def cell(values: list[float], digits: int = 0) -> str:
    return f"{median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def targets(figures: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target the figures can answer."""
    rows = []
    ingest = figures.get("ingest")
    if ingest:
        servers = ingest["servers"]
        ours, minimal = servers["shipbot"]["points"], servers["minimal-gidgethub"]["points"]
        for c in ingest["concurrency"]:
            key = str(c)
            rps = ratio(ours[key]["rps"], minimal[key]["rps"])
            if c >= MIN_RPS_CONCURRENCY:
                rows.append((f"ingestion req/s at concurrency {c} ≥ {MIN_RPS_VS_MINIMAL}× the minimal receiver",
                             f"{rps:.2f}×", rps >= MIN_RPS_VS_MINIMAL))
            p99 = ratio(ours[key]["p99"], minimal[key]["p99"])
            rows.append((f"ingestion p99 at concurrency {c} ≤ {MAX_P99_VS_MINIMAL}× the minimal receiver's",
                         f"{p99:.2f}×", p99 <= MAX_P99_VS_MINIMAL))
            if "probot" in servers:
                vs = ratio(ours[key]["rps"], servers["probot"]["points"][key]["rps"])
                rows.append((f"ingestion req/s at concurrency {c} ≥ {MIN_RPS_VS_PROBOT}× Probot's",
                             f"{vs:.2f}×", vs >= MIN_RPS_VS_PROBOT))
        idle = median(servers["shipbot"]["idle_rss"]) / MIB
        rows.append((f"idle RSS with GitHub, GitLab and Slack configured ≤ {MAX_IDLE_RSS_MIB} MiB",
                     f"{idle:.1f} MiB", idle <= MAX_IDLE_RSS_MIB))
        stored = ingest["shipbot_stored"]
        rows.append(("every delivery acknowledged with 202 is in the store",
                     f"{stored['rows']:,} rows for {stored['accepted']:,} acknowledged",
                     stored["rows"] >= stored["accepted"]))
    changelog = figures.get("changelog")
    if changelog:
        floor = changelog["rows"][FLOOR]["wall"]
        for name, limit in MAX_VS_FLOOR.items():
            times = ratio(changelog["rows"][name]["wall"], floor)
            rows.append((f"`shipbot {name}` on {changelog['commits']:,} commits ≤ {limit}× `git log` (wall time)",
                         f"{times:.2f}×", times <= limit))
    return rows


def machine_section(machine: dict) -> list[str]:
    other = "yes" if machine["other_load"] else "no"
    return [
        "| | |", "|---|---|",
        f"| CPU | {machine['cpu_model']} |",
        f"| CPUs | {machine['cpus']} |",
        f"| Python | {machine['python']} |",
        f"| load average (1 min) at start / end | {machine['load_start']:.2f} / {machine['load_end']:.2f} |",
        f"| CPU busy in the second before the run | {machine['busy_before']:.0f} % |",
        f"| other load present | {other} |",
        f"| run | {'quick (`--quick`)' if machine['quick'] else 'full'}, {machine['minutes']:.1f} min, "
        f"{machine['date']} |",
    ]


def caveats(figures: dict) -> list[str]:
    """What the reader should discount, from how the run was made and how far its repeats spread."""
    machine = figures["machine"]
    spreads = [spread(server["points"][str(c)]["rps"])
               for server in figures.get("ingest", {}).get("servers", {}).values()
               for c in figures["ingest"]["concurrency"]] if "ingest" in figures else []
    notes = []
    if machine["quick"]:
        notes.append("This is a smoke run (`--quick`: 1 s points, a small repository). It shows that every "
                     "part runs; rerun `make bench-report` on a quiet machine for figures to rely on.")
    if machine["other_load"]:
        notes.append("Other processes were using the CPUs during this run: absolute figures are lower and "
                     "repeats disagree more than on a quiet machine.")
    if spreads:
        notes.append(f"The repeats of an ingestion point spread by {median(spreads):.0%} of their median "
                     f"(median over the points; widest {max(spreads):.0%}).")
    return [line for note in notes for line in (note, "")]


def ingest_section(ingest: dict, plot: str | None) -> list[str]:
    servers = ingest["servers"]
    minimal = servers["minimal-gidgethub"]["points"]
    lines = ["| server | concurrency | req/s | p50 ms | p99 ms | CPU µs/request | req/s × minimal | "
             "p99 × minimal | spread of req/s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, server in servers.items():
        for c in ingest["concurrency"]:
            point = server["points"][str(c)]
            base = minimal[str(c)]
            lines.append(f"| {name} | {c} | {cell(point['rps'])} | {cell(point['p50'], 2)} | {cell(point['p99'], 2)} "
                         f"| {median(point['cpu_us']):,.0f} | {ratio(point['rps'], base['rps']):.2f}× "
                         f"| {ratio(point['p99'], base['p99']):.2f}× | {spread(point['rps']):.0%} |")
    if plot:
        lines += ["", f"![throughput and p99 latency against concurrency]({plot})"]
    if FLOORS <= set(servers):
        lines += ["", *floors_section(servers, ingest["concurrency"])]
    return lines


def floors_section(servers: dict, concurrency: list[int]) -> list[str]:
    """What the reference receivers say about the Probot target (bench/floors.py)."""
    lines = ["aiohttp-hmac is an aiohttp application that only checks the signature: every aiohttp service "
             "spends at least its CPU time per request. bare-asyncio reads HTTP by hand and costs the server so "
             "little that its req/s is what the load generator can send.", ""]
    for c in concurrency:
        points = {name: server["points"][str(c)] for name, server in servers.items()}
        line = f"- concurrency {c}:"
        if "probot" in points:
            budget = median(points["probot"]["cpu_us"]) / MIN_RPS_VS_PROBOT
            line += (f" {MIN_RPS_VS_PROBOT}× Probot's req/s on one core leaves {budget:,.0f} µs of CPU per request "
                     f"for everything; aiohttp-hmac alone spends {median(points['aiohttp-hmac']['cpu_us']):,.0f}, "
                     f"shipbot {median(points['shipbot']['cpu_us']):,.0f}.")
        ceiling = points["bare-asyncio"]
        busy = median([cpu * rps / 1e6 for cpu, rps in zip(ceiling["cpu_us"], ceiling["rps"])])
        line += f" The load generator sent bare-asyncio {median(ceiling['rps']):,.0f} req/s, keeping it busy {busy:.0%}."
        lines.append(line)
    return lines


def memory_section(figures: dict) -> list[str]:
    lines = ["| process | idle RSS MiB | peak RSS under load MiB |", "|---|---:|---:|"]
    for name, server in figures.get("ingest", {}).get("servers", {}).items():
        lines.append(f"| {name} (ingestion) | {cell([v / MIB for v in server['idle_rss']], 1)} "
                     f"| {cell([v / MIB for v in server['peak_rss']], 1)} |")
    for n, setup in figures.get("replicas", {}).get("setups", {}).items():
        lines.append(f"| {n} × shipbot on PostgreSQL, all replicas together | – "
                     f"| {cell([v / MIB for v in setup['peak_rss']], 1)} |")
    for name, row in figures.get("changelog", {}).get("rows", {}).items():
        lines.append(f"| `{name}` | – | {cell([v / 1024 for v in row['rss_kib']], 1)} |")
    return lines


def changelog_section(changelog: dict) -> list[str]:
    rows = changelog["rows"]
    floor, floor_cpu = rows[FLOOR]["wall"], rows[FLOOR]["cpu"]
    lines = ["| command | wall s | × floor | CPU s | CPU × floor | peak RSS MiB | spread of wall |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        lines.append(f"| `{name}` | {cell(row['wall'], 3)} | {ratio(row['wall'], floor):.2f}× "
                     f"| {median(row['cpu']):.3f} | {ratio(row['cpu'], floor_cpu):.2f}× "
                     f"| {median(row['rss_kib']) / 1024:.1f} | {spread(row['wall']):.0%} |")
    lines += ["", "shipbot beside the other tools doing the same job (wall time; below 1× means shipbot is faster):",
              ""]
    for job, (ours, *others) in SAME_JOB.items():
        for other in others:
            if ours in rows and other in rows:
                lines.append(f"- {job}: shipbot / `{other}` = {ratio(rows[ours]['wall'], rows[other]['wall']):.2f}×")
    return lines


def replicas_section(replicas: dict) -> list[str]:
    one, two = replicas["setups"]["1"], replicas["setups"]["2"]
    lines = ["| concurrency | 1 replica req/s | 2 replicas req/s | 2 / 1 | 1 replica p99 ms | 2 replicas p99 ms | "
             "2 / 1 |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for c in replicas["concurrency"]:
        a, b = one["points"][str(c)], two["points"][str(c)]
        lines.append(f"| {c} | {cell(a['rps'])} | {cell(b['rps'])} | {median(b['rps']) / median(a['rps']):.2f}× "
                     f"| {cell(a['p99'], 1)} | {cell(b['p99'], 1)} | {median(b['p99']) / median(a['p99']):.2f}× |")
    jobs = median(two["jobs_per_s"]) / median(one["jobs_per_s"])
    lines += ["", f"Jobs finished per second by the workers once the load stops: {cell(one['jobs_per_s'])} with one "
              f"replica, {cell(two['jobs_per_s'])} with two ({jobs:.2f}×)."]
    return lines


def render_markdown(figures: dict, plot: str | None = None) -> str:
    """docs/benchmarks.md from the figures; `plot` is the plot's path relative to the report."""
    machine = figures["machine"]
    out = ["# Benchmarks", "",
           f"Written by `make bench-report` (`bench/report.py`) from the figures in `{figures['figures_file']}`. "
           f"Each point was measured at least {machine['repeats']} times; a cell shows the median and, in brackets, the "
           "lowest and highest run. Ratios compare tools measured side by side in the same run, taking turns, so "
           "that load from elsewhere falls on each of them; a ratio is the median of the ratios of each round's "
           "pair. Absolute numbers depend on the machine.",
           "",
           "## Machine and noise", "", *machine_section(machine), "", *caveats(figures)]
    rows = targets(figures)
    if rows:
        out += ["## Targets", "", "| target | measured (median) | |", "|---|---:|---|"]
        out += [f"| {name} | {measured} | {verdict(met)} |" for name, measured, met in rows]
        out += ["", f"{sum(met for *_, met in rows)} of {len(rows)} targets met.", ""]
    if "ingest" in figures:
        ingest = figures["ingest"]
        out += ["## Webhook ingestion", "",
                "Signed `pull_request.opened` deliveries posted over loopback to shipbot (SQLite, every delivery "
                "stored before 202), a minimal gidgethub receiver and Probot with a no-op handler"
                + (", and two reference receivers that only check the signature (`bench/floors.py`)"
                   if FLOORS <= set(ingest["servers"]) else "")
                + ". They run at once and take turns of "
                f"{ingest['seconds']:g} s per concurrency, the others paused meanwhile (SIGSTOP), round after round: "
                "a neighbour's load then falls on all of them alike. The servers run on CPU 0, the load generator "
                "on CPU 1; CPU µs/request is the server's CPU time divided by the requests it answered.", "",
                *ingest_section(ingest, plot), ""]
    out += ["## Memory", "", *memory_section(figures), ""]
    if "changelog" in figures:
        changelog = figures["changelog"]
        out += ["## Changelog and next version", "",
                f"A {changelog['commits']:,}-commit repository built from the corpus's real commit messages, "
                f"each command run {len(changelog['rows'][FLOOR]['wall'])} times, the rows taking turns; "
                "`git log` over the same range is the floor. git-cliff runs with its default (conventional "
                "commits) configuration and writes the changelog to a file; commitizen with "
                "`cz_conventional_commits` and the range's start tag as its version.", "",
                *changelog_section(changelog), ""]
    if "replicas" in figures:
        replicas = figures["replicas"]
        out += ["## Replica scaling", "",
                f"One against two `shipbot serve` processes on one PostgreSQL database, {replicas['seconds']:g} s "
                "per point, requests alternating between the replicas and coming from 16 repositories; processes are not pinned to CPUs, and "
                "the load generator and PostgreSQL share the same CPUs, so on a machine with few CPUs the "
                "ratio shows the cost of a second replica more than its gain. No target is set for it.", "",
                *replicas_section(replicas), ""]
    return "\n".join(out)


def plot(figures: dict, path: Path) -> Path:
    """Throughput and p99 latency against concurrency for each server, with the runs' range as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    ingest = figures["ingest"]
    concurrency = ingest["concurrency"]
    fig, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for name, server in ingest["servers"].items():
        for axis, key in ((left, "rps"), (right, "p99")):
            runs = [server["points"][str(c)][key] for c in concurrency]
            mids = [median(r) for r in runs]
            errors = [[m - min(r) for m, r in zip(mids, runs)], [max(r) - m for m, r in zip(mids, runs)]]
            axis.errorbar(concurrency, mids, yerr=errors, marker="o", capsize=3, label=name)
    for axis, label in ((left, "requests/s"), (right, "p99 latency (ms)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}"))
        axis.yaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_xticks(concurrency, [str(c) for c in concurrency])
        axis.set_xlabel("concurrent clients")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    left.set_title("throughput (higher is better)")
    right.set_title("p99 acknowledgement latency (lower is better)")
    left.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
    return path
