"""Compute DORA metrics from deploy records: deployment frequency, lead time, change failure rate, time to restore.

No clock and no I/O: callers pass `now` and plain records. Times may be Unix seconds, aware datetimes
or ISO 8601 strings with an offset (as forges send commit dates); naive datetimes are refused because
they name no instant. The window is whole calendar days in `tz` (today and the `window_days - 1` days
before it, up to `now`), so the daily series and the figures count the same deploys, across DST too.

Definitions (README "DORA metrics" says the same in words):
- a deploy counts when it finished: `success`, or failed (`failure`, `error`, `timed_out`); cancelled
  and unfinished deploys count for nothing (unfinished ones are reported as `in_progress`);
- deployment frequency: successful deploys in the window per 7 days;
- lead time: for each commit first shipped to the environment by a successful deploy in the window,
  that deploy's finish minus the commit's time; median and p90 (nearest rank: the ceil(0.9·n)-th
  smallest, so with fewer than 10 values it is the largest);
- change failure rate: of the deploys in the window that are not rollbacks, the share that failed,
  was rolled back (`rollback_of` names it), or was followed within `hotfix_window` by a deploy of a
  ref matching `hotfix_refs`;
- time to restore: from the finish of a failed change to the finish of the next successful deploy
  that is not itself a failed change (one incident however many failures it holds); median.
"""
from __future__ import annotations

import fnmatch
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from typing import Iterable, Sequence

from bot.sansio.dora_records import (ChangeRecord, DayCount, DeployRecord, DoraMetrics, Timestamp, percentile,
                                     to_epoch, window_days_of, window_start)

SUCCESS = "success"
FAILED_STATES = frozenset({"failure", "error", "timed_out"})
FINAL_STATES = FAILED_STATES | {SUCCESS, "cancelled"}
WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
PRODUCTION_NAMES = frozenset({"production", "prod"})
DEFAULT_HOTFIX_WINDOW = 24 * 3600.0
DEFAULT_HOTFIX_REFS = ("hotfix/*", "hotfix-*")

# Below these a figure says more about chance than about the team: "too little data" instead.
MIN_DEPLOYS_FOR_FREQUENCY = 2
MIN_CHANGES_FOR_MEDIAN = 3
MIN_CHANGES_FOR_P90 = 10
MIN_DEPLOYS_FOR_FAILURE_RATE = 5
MIN_RESTORES = 1

def is_production(environment: str, production_environments: Iterable[str] = PRODUCTION_NAMES) -> bool:
    return environment in set(production_environments)


def compute_metrics(repo: str, environment: str, deploys: Iterable[DeployRecord], changes: Iterable[ChangeRecord],
                    *, now: Timestamp, window_days: int = DEFAULT_WINDOW,
                    production_environments: Iterable[str] = PRODUCTION_NAMES,
                    hotfix_window: float = DEFAULT_HOTFIX_WINDOW, hotfix_refs: Sequence[str] = DEFAULT_HOTFIX_REFS,
                    tz: tzinfo = timezone.utc) -> DoraMetrics:
    """DORA metrics of one environment. Pass its deploys from before the window too (a month is plenty):
    they decide which commits were shipped already and whether an incident began before the window."""
    if window_days < 1:
        raise ValueError("a window is at least one day")
    end = to_epoch(now)
    start = window_start(window_days, end, tz)
    days = window_days_of(window_days, end, tz)
    rows = [_Deploy.of(d) for d in deploys]

    def inside(t: float | None) -> bool:
        return t is not None and start <= t <= end

    finished = sorted((d for d in rows if d.finished is not None and (d.status == SUCCESS or d.failed)),
                      key=lambda d: (d.finished, d.id))
    succeeded = [d for d in finished if d.status == SUCCESS and inside(d.finished)]
    failed = [d for d in finished if d.failed and inside(d.finished)]
    in_progress = sum(1 for d in rows if d.finished is None and d.status not in FINAL_STATES and d.created <= end)
    daily = _daily(days, tz, succeeded, failed)
    production = is_production(environment, production_environments)
    tally = _Tally(deploys=len(succeeded), failed_deploys=len(failed), in_progress=in_progress, daily=daily)
    if production:
        bad = _failed_changes(rows, finished, hotfix_window, hotfix_refs)
        counted = [d for d in finished if inside(d.finished) and d.rollback_of is None]
        tally.changes = len(counted)
        tally.failed_changes = sum(1 for d in counted if d.id in bad)
        tally.lead_times = _lead_times(finished, changes, inside)
        tally.restores, tally.unrestored = _restores(finished, bad, inside)
    return tally.metrics(repo, environment, production, window_days, start, end)


def combine(metrics: Sequence[DoraMetrics], *, repo: str = "*", environment: str = "production") -> DoraMetrics | None:
    """Pool several environments' figures (all over the same window): sums, and medians of the pooled values."""
    if not metrics:
        return None
    first = metrics[0]
    production = [m for m in metrics if m.production]
    days = {d.day: [0, 0] for d in first.daily}
    for m in metrics:
        for d in m.daily:
            days.setdefault(d.day, [0, 0])
            days[d.day][0] += d.succeeded
            days[d.day][1] += d.failed
    tally = _Tally(deploys=sum(m.deploys for m in metrics), failed_deploys=sum(m.failed_deploys for m in metrics),
                   in_progress=sum(m.in_progress for m in metrics),
                   daily=tuple(DayCount(day, s, f) for day, (s, f) in days.items()),
                   changes=sum(m.changes for m in production), failed_changes=sum(m.failed_changes for m in production),
                   lead_times=[t for m in production for t in m.lead_times_s],
                   restores=[t for m in production for t in m.restore_times_s],
                   unrestored=sum(m.unrestored for m in production))
    return tally.metrics(repo, environment, bool(production), first.window_days, first.window_start, first.window_end)


@dataclass
class _Deploy:
    id: int
    status: str
    created: float
    finished: float | None
    ref: str
    rollback_of: int | None

    @classmethod
    def of(cls, d: DeployRecord) -> "_Deploy":
        return cls(d.id, d.status, to_epoch(d.created_at), to_epoch(d.finished_at), d.ref or "", d.rollback_of)

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATES


def _daily(days: list[date], tz: tzinfo, succeeded: list[_Deploy], failed: list[_Deploy]) -> tuple[DayCount, ...]:
    counts = {day: [0, 0] for day in days}
    for index, group in ((0, succeeded), (1, failed)):
        for d in group:
            day = datetime.fromtimestamp(d.finished, tz).date()
            if day in counts:
                counts[day][index] += 1
    return tuple(DayCount(day.isoformat(), s, f) for day, (s, f) in counts.items())


def _failed_changes(rows: list[_Deploy], finished: list[_Deploy], hotfix_window: float,
                    hotfix_refs: Sequence[str]) -> set[int]:
    """Ids of deploys that failed, were rolled back, or were followed by a hotfix in time."""
    bad = {d.id for d in finished if d.failed}
    bad |= {d.rollback_of for d in rows if d.rollback_of is not None and d.status != "cancelled"}
    good = [d for d in finished if d.status == SUCCESS and d.rollback_of is None]
    for fix in rows:
        if fix.status == "cancelled" or fix.rollback_of is not None or not _is_hotfix(fix.ref, hotfix_refs):
            continue
        before = [d for d in good if d.id != fix.id and d.finished <= fix.created]
        if before and fix.created - before[-1].finished <= hotfix_window:
            bad.add(before[-1].id)
    return bad


def _is_hotfix(ref: str, patterns: Sequence[str]) -> bool:
    short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    return any(fnmatch.fnmatchcase(short, p) for p in patterns)


def _lead_times(finished: list[_Deploy], changes: Iterable[ChangeRecord], inside) -> list[float]:
    """Per commit, from its time to the finish of the first successful deploy that shipped it."""
    shipped = {d.id: d.finished for d in finished if d.status == SUCCESS}
    first: dict[str, tuple[float, float]] = {}
    for change in changes:
        at, committed = shipped.get(change.deployment_id), to_epoch(change.committed_at)
        if at is None or committed is None:
            continue
        if change.sha not in first or at < first[change.sha][0]:
            first[change.sha] = (at, committed)
    # A commit dated after its deploy (a skewed clock, a rewritten date) counts as shipped at once.
    return sorted(max(0.0, at - committed) for at, committed in first.values() if inside(at))


def _restores(finished: list[_Deploy], bad: set[int], inside) -> tuple[list[float], int]:
    """Durations of incidents that began in the window, and how many of those are still open."""
    durations: list[float] = []
    opened: float | None = None
    for d in finished:
        if d.id in bad:
            opened = d.finished if opened is None else opened
        elif d.status == SUCCESS and opened is not None:
            if inside(opened):
                durations.append(d.finished - opened)
            opened = None
    return sorted(durations), int(inside(opened))


@dataclass
class _Tally:
    deploys: int
    failed_deploys: int
    in_progress: int
    daily: tuple[DayCount, ...]
    changes: int = 0
    failed_changes: int = 0
    lead_times: list[float] = field(default_factory=list)
    restores: list[float] = field(default_factory=list)
    unrestored: int = 0

    def metrics(self, repo: str, environment: str, production: bool, window_days: int, start: float,
                end: float) -> DoraMetrics:
        span = f"in the last {window_days} days"
        only_prod = None if production else "measured for production environments only"
        frequency = freq_why = None
        if self.deploys >= MIN_DEPLOYS_FOR_FREQUENCY:
            frequency = self.deploys / (window_days / 7)
        else:
            freq_why = f"fewer than {MIN_DEPLOYS_FOR_FREQUENCY} successful deploys {span}"
        n = len(self.lead_times)
        median = statistics.median(self.lead_times) if n >= MIN_CHANGES_FOR_MEDIAN else None
        p90 = percentile(self.lead_times, 0.9) if n >= MIN_CHANGES_FOR_P90 else None
        rate = self.failed_changes / self.changes if self.changes >= MIN_DEPLOYS_FOR_FAILURE_RATE else None
        restore = statistics.median(self.restores) if len(self.restores) >= MIN_RESTORES else None
        if not production:
            median_why = p90_why = rate_why = restore_why = only_prod
        else:
            median_why = None if median is not None else (
                f"fewer than {MIN_CHANGES_FOR_MEDIAN} commits with known times shipped {span}")
            p90_why = None if p90 is not None else f"fewer than {MIN_CHANGES_FOR_P90} commits with known times shipped {span}"
            rate_why = None if rate is not None else f"fewer than {MIN_DEPLOYS_FOR_FAILURE_RATE} finished deploys {span}"
            restore_why = None if restore is not None else (
                f"no failed deploy was followed by a good one {span}" if self.unrestored or self.failed_changes
                else f"no failed deploys {span}")
        return DoraMetrics(
            repo=repo, environment=environment, production=production, window_days=window_days, window_start=start,
            window_end=end, deploys=self.deploys, failed_deploys=self.failed_deploys, in_progress=self.in_progress,
            deployment_frequency_per_week=frequency, deployment_frequency_reason=freq_why, lead_time_changes=n,
            lead_time_median_s=median, lead_time_median_reason=median_why, lead_time_p90_s=p90,
            lead_time_p90_reason=p90_why, changes=self.changes, failed_changes=self.failed_changes,
            change_failure_rate=rate, change_failure_rate_reason=rate_why, restores=len(self.restores),
            unrestored=self.unrestored, time_to_restore_median_s=restore, time_to_restore_reason=restore_why,
            daily=self.daily, lead_times_s=tuple(sorted(self.lead_times)), restore_times_s=tuple(sorted(self.restores)))


def parse_window(text: str) -> int:
    """`7d`, `30d` or `90d` as a number of days; ValueError says which are allowed."""
    word = text.strip().lower()
    if word.endswith("d") and word[:-1].isdigit() and int(word[:-1]) in WINDOWS:
        return int(word[:-1])
    allowed = ", ".join(f"{w}d" for w in WINDOWS)
    raise ValueError(f"'{text}' is not a window; use one of {allowed}")


__all__ = ["ChangeRecord", "DayCount", "DeployRecord", "DoraMetrics", "Timestamp", "combine", "compute_metrics",
           "is_production", "parse_window", "percentile", "to_epoch", "window_days_of", "window_start"]
