"""The records DORA metrics are computed from and the figures they give, with the time helpers they share."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Sequence, Union

Timestamp = Union[float, int, datetime, str]


def to_epoch(value: Timestamp | None) -> float | None:
    """Unix seconds from seconds, an aware datetime or an ISO 8601 string with an offset."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a time cannot be a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no time zone, so it names no instant")
        return value.timestamp()
    raise TypeError(f"not a time: {value!r}")


@dataclass(frozen=True)
class DeployRecord:
    """One deploy of one environment, as the deployments table keeps it."""

    id: int
    status: str
    created_at: Timestamp
    finished_at: Timestamp | None = None
    sha: str | None = None
    ref: str = ""
    rollback_of: int | None = None


@dataclass(frozen=True)
class ChangeRecord:
    """A commit a successful deploy shipped, with the commit's time."""

    deployment_id: int
    sha: str
    committed_at: Timestamp | None


@dataclass(frozen=True)
class DayCount:
    day: str  # ISO date in the report's time zone
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True)
class DoraMetrics:
    """The four metrics of one repository environment over one window; None plus a reason where data is thin."""

    repo: str
    environment: str
    production: bool
    window_days: int
    window_start: float
    window_end: float
    deploys: int
    failed_deploys: int
    in_progress: int
    deployment_frequency_per_week: float | None
    deployment_frequency_reason: str | None
    lead_time_changes: int
    lead_time_median_s: float | None
    lead_time_median_reason: str | None
    lead_time_p90_s: float | None
    lead_time_p90_reason: str | None
    changes: int
    failed_changes: int
    change_failure_rate: float | None
    change_failure_rate_reason: str | None
    restores: int
    unrestored: int
    time_to_restore_median_s: float | None
    time_to_restore_reason: str | None
    daily: tuple[DayCount, ...] = ()
    lead_times_s: tuple[float, ...] = field(default=(), repr=False)
    restore_times_s: tuple[float, ...] = field(default=(), repr=False)

    @property
    def too_little_data(self) -> dict[str, str]:
        """Each metric without a figure, with the reason."""
        reasons = {"deployment_frequency": self.deployment_frequency_reason,
                   "lead_time_median": self.lead_time_median_reason, "lead_time_p90": self.lead_time_p90_reason,
                   "change_failure_rate": self.change_failure_rate_reason,
                   "time_to_restore_median": self.time_to_restore_reason}
        return {name: why for name, why in reasons.items() if why}

    def as_dict(self) -> dict:
        """JSON-safe: numbers, strings, None, lists and dicts only."""
        data = asdict(self)
        data["daily"] = [asdict(d) for d in self.daily]
        data["lead_times_s"] = list(self.lead_times_s)
        data["restore_times_s"] = list(self.restore_times_s)
        data["too_little_data"] = self.too_little_data
        return data


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the ceil(q·n)-th smallest value (q in (0, 1])."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def window_days_of(day_count: int, now: float, tz: tzinfo = timezone.utc) -> list[date]:
    """The calendar days of a window ending today (in `tz`), oldest first."""
    today = datetime.fromtimestamp(now, tz).date()
    return [today - timedelta(days=i) for i in range(day_count - 1, -1, -1)]


def window_start(day_count: int, now: float, tz: tzinfo = timezone.utc) -> float:
    """Local midnight at the start of the window's first day, in Unix seconds."""
    first = window_days_of(day_count, now, tz)[0]
    return datetime(first.year, first.month, first.day, tzinfo=tz).timestamp()
