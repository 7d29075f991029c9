"""bench/report.py's rendering on made-up figures: tables, target verdicts and the plot. Measures nothing."""
from __future__ import annotations

import copy
import json

import pytest

from bench import report

MIB = 2**20


def point(rps: list[float], p99: list[float]) -> dict:
    return {"rps": rps, "p50": [p / 4 for p in p99], "p99": p99, "cpu_us": [1e6 / r for r in rps]}


@pytest.fixture
def figures() -> dict:
    def server(scale: float, idle_mib: float) -> dict:
        return {"idle_rss": [idle_mib * MIB] * 3, "peak_rss": [(idle_mib + 10) * MIB] * 3,
                "points": {str(c): point([scale * c * 100 * f for f in (0.9, 1.0, 1.1)],
                                         [10.0 / scale, 12.0 / scale, 30.0]) for c in (1, 8, 64)}}

    def row(wall: float, kib: int) -> dict:
        return {"wall": [wall * 0.95, wall, wall * 1.2], "rss_kib": [kib] * 3, "cpu": [wall / 2] * 3}

    return {
        "machine": {"cpu_model": "Test CPU", "cpus": 2, "python": "3.11.7", "load_start": 0.1, "load_end": 0.2,
                    "busy_before": 2.0, "other_load": False, "quick": True, "repeats": 3, "minutes": 1.5,
                    "date": "2026-01-01 00:00 UTC"},
        "ingest": {"seconds": 1.0, "concurrency": [1, 8, 64], "shipbot_stored": {"accepted": 100, "rows": 103},
                   "servers": {"shipbot": server(0.9, 80), "minimal-gidgethub": server(1.0, 35),
                               "probot": server(0.5, 65)}},
        "changelog": {"commits": 2000, "span": "v0.1.0..HEAD", "rows": {
            "git log (floor)": row(0.1, 6000), "next-version": row(0.14, 19000), "changelog": row(0.3, 26000),
            "git-cliff --bumped-version": row(0.05, 20000), "git-cliff changelog": row(0.2, 64000),
            "cz bump --get-next": row(0.7, 44000), "cz changelog --dry-run": row(0.9, 44000)}},
        "replicas": {"seconds": 1.0, "repeats": 3, "concurrency": [8, 64], "setups": {
            "1": {"points": {"8": point([400, 500, 600], [20, 25, 30]), "64": point([500, 550, 600], [90, 100, 110])},
                  "jobs_per_s": [100, 110, 120], "peak_rss": [120 * MIB] * 3},
            "2": {"points": {"8": point([700, 800, 900], [15, 20, 25]), "64": point([900, 1000, 1100], [60, 70, 80])},
                  "jobs_per_s": [180, 200, 220], "peak_rss": [240 * MIB] * 3}}},
    }


def verdicts(figures: dict) -> dict[str, bool]:
    return {name: met for name, _, met in report.report_render.targets(figures)}


class TestReport:
    def test_targets_are_computed_from_the_figures(self, figures):
        """0.9× the minimal receiver meets ≥ 0.8×; 1.8× Probot meets ≥ 1.2×; next-version at 1.4× meets ≤ 1.5×."""
        met = verdicts(figures)
        assert met["ingestion req/s at concurrency 8 ≥ 0.8× the minimal receiver"]
        assert met["ingestion req/s at concurrency 64 ≥ 1.2× Probot's"]
        assert met["idle RSS with GitHub, GitLab and Slack configured ≤ 90 MiB"]
        assert met["`shipbot next-version` on 2,000 commits ≤ 1.5× `git log` (wall time)"]
        assert not met["`shipbot changelog` on 2,000 commits ≤ 2.0× `git log` (wall time)"]  # 3×
        assert met["every delivery acknowledged with 202 is in the store"]

    def test_slower_figures_turn_a_target_missed(self, figures):
        slower = copy.deepcopy(figures)
        slower["ingest"]["servers"]["shipbot"]["points"]["8"]["rps"] = [100.0, 110.0, 120.0]
        slower["ingest"]["servers"]["shipbot"]["idle_rss"] = [95 * MIB] * 3
        slower["ingest"]["shipbot_stored"]["rows"] = 99
        met = verdicts(slower)
        assert not met["ingestion req/s at concurrency 8 ≥ 0.8× the minimal receiver"]
        assert not met["idle RSS with GitHub, GitLab and Slack configured ≤ 90 MiB"]
        assert not met["every delivery acknowledged with 202 is in the store"]

    def test_write_renders_tables_plot_and_saved_figures(self, figures, tmp_path):
        out = tmp_path / "benchmarks.md"
        report.write(figures, out)
        text = out.read_text()
        assert "| shipbot | 8 | 720 (648–792) |" in text  # median (lowest–highest) of the three runs
        assert "| 8 | 500 (400–600) | 800 (700–900) | 1.60× |" in text  # two replicas against one
        assert "110 (100–120) with one replica, 200 (180–220) with two (1.82×)" in text
        assert "- changelog: shipbot / `git-cliff changelog` = 1.50×" in text
        assert "| `changelog` | 0.300 (0.285–0.360) | 3.00× |" in text
        assert "11 of 12 targets met." in text  # all but the changelog at 3×
        assert "| other load present | no |" in text and "Other processes were using" not in text
        assert "This is a smoke run" in text
        assert "The repeats of an ingestion point spread by 20% of their median" in text
        assert "![throughput and p99 latency against concurrency](benchmarks/ingest.png)" in text
        png = (tmp_path / "benchmarks" / "ingest.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
        saved = json.loads((tmp_path / "benchmarks" / "figures.json").read_text())
        assert saved["ingest"] == figures["ingest"]

    def test_parts_left_out_leave_their_sections_out(self, figures, tmp_path):
        del figures["ingest"], figures["replicas"]
        out = tmp_path / "benchmarks.md"
        report.write(figures, out)
        text = out.read_text()
        assert "## Changelog and next version" in text
        assert "## Webhook ingestion" not in text and "## Replica scaling" not in text
        assert not (tmp_path / "benchmarks" / "ingest.png").exists()


def test_floors_show_what_the_probot_target_leaves_per_request(figures, tmp_path):
    """With bench/floors.py's receivers measured, the section says how much CPU per request 1.2× Probot
    allows (Probot's CPU/request / 1.2) beside what the aiohttp floor spends; without them it says nothing."""
    servers = figures["ingest"]["servers"]
    servers["aiohttp-hmac"] = {"idle_rss": [30 * MIB] * 3, "peak_rss": [33 * MIB] * 3,
                               "points": {str(c): point([1500.0] * 3, [5.0] * 3) for c in (1, 8, 64)}}
    servers["bare-asyncio"] = {"idle_rss": [20 * MIB] * 3, "peak_rss": [21 * MIB] * 3,
                               "points": {str(c): point([3000.0] * 3, [4.0] * 3) for c in (1, 8, 64)}}
    for c in (1, 8, 64):
        servers["bare-asyncio"]["points"][str(c)]["cpu_us"] = [100.0] * 3  # busy 30% at 3,000 req/s
    out = tmp_path / "benchmarks.md"
    report.write(figures, out)
    text = out.read_text()
    # Probot at concurrency 8: 0.5 × 800 = 400 req/s, 2,500 µs each; 2,500 / 1.2 = 2,083.
    assert ("- concurrency 8: 1.2× Probot's req/s on one core leaves 2,083 µs of CPU per request for everything; "
            "aiohttp-hmac alone spends 667, shipbot 1,389. The load generator sent bare-asyncio 3,000 req/s, "
            "keeping it busy 30%.") in text
    assert "two reference receivers that only check the signature" in text
    assert "| aiohttp-hmac | 8 | 1,500 (1,500–1,500) |" in text
    assert "11 of 12 targets met." in text  # the floors add no target

    del servers["aiohttp-hmac"], servers["bare-asyncio"]
    report.write(figures, out)
    assert "aiohttp-hmac" not in out.read_text()


def test_ratios_pair_the_rounds():
    from bench import report_render

    # The third round met a neighbour's load on both sides: paired, it cancels; the medians alone
    # would compare 200 with 210.
    assert report_render.ratio([100.0, 200.0, 300.0], [110.0, 210.0, 600.0]) == pytest.approx(100 / 110)
    assert report_render.ratio([100.0, 200.0], [100.0, 200.0, 300.0]) == pytest.approx(150 / 200)
