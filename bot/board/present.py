"""Jinja filters that turn board data into words for people: times, durations, statuses, safe links."""
from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlsplit

import jinja2

from bot.board.charts import Chart, bars, stacked_bars

# Each status gets one of a few looks; their colours (templates/board_base.html.j2) are checked
# for contrast by tests/board/test_board_browser.py.
STATUS_LOOK = {"success": "ok", "failure": "bad", "error": "bad", "timed_out": "bad", "cancelled": "muted",
               "starting": "busy", "queued": "busy", "in_progress": "busy"}
STATUS_WORDS = {"success": "deployed", "failure": "failed", "error": "errored", "timed_out": "timed out",
                "cancelled": "cancelled", "starting": "starting", "queued": "queued", "in_progress": "in progress"}
FORGE_NAMES = {"github": "GitHub", "gitlab": "GitLab"}


def _ts(value: str | float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def when(value: str | float | None) -> str:
    """`2026-11-27 14:03 UTC`: one unambiguous time for readers anywhere."""
    ts = _ts(value)
    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def ago(value: str | float | None, now: float | None = None) -> str:
    ts = _ts(value)
    if ts is None:
        return ""
    seconds = (time.time() if now is None else now) - ts
    future = seconds < 0
    text = span(abs(seconds))
    return f"in {text}" if future else f"{text} ago"


def span(seconds: float | None) -> str:
    """A duration in the largest unit that reads well: 45 s, 12 min, 3 h, 4 d."""
    if seconds is None:
        return "—"
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit != "min" else 1):
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach an href: a `javascript:` URL from a payload must never be clickable."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def look(status: str | None) -> str:
    return STATUS_LOOK.get(status or "", "muted")


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", status or "unknown")


def forge_name(forge: str) -> str:
    return FORGE_NAMES.get(forge, forge or "repository")


def daily_chart(daily: list[dict]) -> Chart:
    """Deploys per day: successes, with failures stacked on top."""
    return stacked_bars([(d["succeeded"], d["failed"]) for d in daily])


def install_filters(env: jinja2.Environment) -> None:
    env.filters.update(when=when, ago=ago, span=span, safe_url=safe_url, look=look, status_words=status_words,
                       forge_name=forge_name, short_sha=lambda sha: (sha or "")[:7], daily_chart=daily_chart,
                       lead_chart=bars)
