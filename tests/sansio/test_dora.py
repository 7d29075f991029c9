"""DORA metrics from deploy records, checked against figures worked out by hand."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.sansio.dora import (MIN_CHANGES_FOR_P90, ChangeRecord, DeployRecord, combine, compute_metrics, parse_window,
                             percentile, to_epoch)

UTC = timezone.utc
H, DAY = 3600.0, 86400.0
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp()
T0 = datetime(2026, 11, 21, 0, 0, tzinfo=UTC).timestamp()  # first day of the 7-day window ending NOW


def d(id, status, finished, *, created=None, ref="main", rollback_of=None, sha=None):
    return DeployRecord(id=id, status=status, created_at=created if created is not None else (
        finished - 600 if finished is not None else T0), finished_at=finished, sha=sha or f"sha{id}", ref=ref,
        rollback_of=rollback_of)


# A week of production, worked out by hand (times from T0, the window's first midnight):
#  1 success   +1h10m   ships c1 (committed -2h: lead 3h10m) and c2 (+30m: lead 40m)
#  2 failure   +1d1h
#  3 success   +1d3h    ships c3 (+1d: lead 3h) and c1 again (shipped by 1 already: not counted twice)
#  4 success   +2d      rolled back by 5
#  5 success   +2d30m   rollback_of=4
#  6 success   +3d      followed by hotfix 7 within 24h
#  7 success   +3d2h10m ref hotfix/login, created +3d2h
#  8 in_progress        never finished
#  9 cancelled +5d
# 10 timed_out +6d      nothing good after it: an open incident
WEEK = [
    d(1, "success", T0 + H + 600),
    d(2, "failure", T0 + DAY + H),
    d(3, "success", T0 + DAY + 3 * H),
    d(4, "success", T0 + 2 * DAY),
    d(5, "success", T0 + 2 * DAY + 1800, rollback_of=4, sha="sha1"),
    d(6, "success", T0 + 3 * DAY),
    d(7, "success", T0 + 3 * DAY + 2 * H + 600, created=T0 + 3 * DAY + 2 * H, ref="hotfix/login"),
    d(8, "in_progress", None, created=T0 + 5 * DAY),
    d(9, "cancelled", T0 + 5 * DAY),
    d(10, "timed_out", T0 + 6 * DAY),
]
WEEK_CHANGES = [
    ChangeRecord(1, "c1", T0 - 2 * H),
    ChangeRecord(1, "c2", T0 + 1800),
    ChangeRecord(3, "c3", T0 + DAY),
    ChangeRecord(3, "c1", T0 - 2 * H),
]


def week(**kwargs):
    return compute_metrics("github:o/r", "production", WEEK, WEEK_CHANGES, now=NOW, window_days=7, **kwargs)


class TestHandComputedWeek:
    def test_deployment_frequency(self):
        """Six successful deploys (rollback and hotfix included) in 7 days: 6 per week."""
        m = week()
        assert (m.deploys, m.failed_deploys, m.in_progress) == (6, 2, 1)
        assert m.deployment_frequency_per_week == pytest.approx(6.0)

    def test_lead_time(self):
        """Lead times 40m, 3h, 3h10m (c1 counted once, at its first deploy): median 3h; p90 needs 10 commits."""
        m = week()
        assert m.lead_times_s == (2400.0, 10800.0, 11400.0)
        assert m.lead_time_median_s == 10800.0
        assert m.lead_time_p90_s is None
        assert m.lead_time_p90_reason == f"fewer than {MIN_CHANGES_FOR_P90} commits with known times shipped in the last 7 days"

    def test_change_failure_rate(self):
        """Seven changes (the rollback is not one); failed: 2, rolled-back 4, hotfixed 6, timed-out 10."""
        m = week()
        assert (m.changes, m.failed_changes) == (7, 4)
        assert m.change_failure_rate == pytest.approx(4 / 7)

    def test_time_to_restore(self):
        """Incidents 2→3 (2h), 4→5 (30m), 6→7 (2h10m); 10 is still open: median 2h."""
        m = week()
        assert m.restore_times_s == (1800.0, 7200.0, 7800.0)
        assert (m.restores, m.unrestored) == (3, 1)
        assert m.time_to_restore_median_s == 7200.0

    def test_daily_series(self):
        """One entry per day; cancelled and unfinished deploys appear nowhere."""
        m = week()
        assert [(x.day, x.succeeded, x.failed) for x in m.daily] == [
            ("2026-11-21", 1, 0), ("2026-11-22", 1, 1), ("2026-11-23", 2, 0), ("2026-11-24", 2, 0),
            ("2026-11-25", 0, 0), ("2026-11-26", 0, 0), ("2026-11-27", 0, 1)]

    def test_hotfix_window_is_configurable(self):
        """With a 1-hour hotfix window, 7 (2h after 6) is no hotfix of 6: 3 of 7 failed, and 6→7 is no incident."""
        m = week(hotfix_window=H)
        assert m.failed_changes == 3
        assert m.restore_times_s == (1800.0, 7200.0)

    def test_hotfix_refs_are_configurable(self):
        """Other hotfix branch names: hotfix/login no longer marks 6."""
        assert week(hotfix_refs=("fix-*",)).failed_changes == 3

    def test_as_dict_is_json(self):
        """as_dict() survives json.dumps and names each missing figure's reason."""
        data = json.loads(json.dumps(week().as_dict()))
        assert data["change_failure_rate"] == pytest.approx(4 / 7)
        assert data["daily"][1] == {"day": "2026-11-22", "succeeded": 1, "failed": 1}
        assert set(data["too_little_data"]) == {"lead_time_p90"}


class TestTooLittleData:
    def test_empty_window(self):
        """No deploys at all: zero counts, a full series of empty days, and a reason for every metric."""
        m = compute_metrics("github:o/r", "production", [], [], now=NOW, window_days=30)
        assert (m.deploys, m.changes, m.lead_time_changes, m.restores) == (0, 0, 0, 0)
        assert len(m.daily) == 30 and all(x.succeeded == x.failed == 0 for x in m.daily)
        assert m.deployment_frequency_per_week is None
        assert m.too_little_data == {
            "deployment_frequency": "fewer than 2 successful deploys in the last 30 days",
            "lead_time_median": "fewer than 3 commits with known times shipped in the last 30 days",
            "lead_time_p90": "fewer than 10 commits with known times shipped in the last 30 days",
            "change_failure_rate": "fewer than 5 finished deploys in the last 30 days",
            "time_to_restore_median": "no failed deploys in the last 30 days",
        }

    def test_deploys_before_the_window_do_not_count(self):
        """A deploy and an incident from before the window are outside it; their commits are not re-counted."""
        deploys = [d(1, "failure", T0 - 2 * H), d(2, "success", T0 - H), d(3, "success", T0 + H)]
        changes = [ChangeRecord(2, "old", T0 - 3 * H), ChangeRecord(3, "old", T0 - 3 * H)]
        m = compute_metrics("r", "production", deploys, changes, now=NOW, window_days=7)
        assert (m.deploys, m.changes, m.lead_times_s, m.restores) == (1, 1, (), 0)

    def test_incident_begun_before_the_window_is_not_counted(self):
        """A failure before the window restored inside it is not this window's incident."""
        deploys = [d(1, "failure", T0 - H), d(2, "failure", T0 + H), d(3, "success", T0 + 2 * H)]
        m = compute_metrics("r", "production", deploys, [], now=NOW, window_days=7)
        assert m.restores == 0 and m.failed_changes == 1

    def test_only_a_deploy_that_never_finished(self):
        """A deploy still running counts as in progress and nowhere else."""
        m = compute_metrics("r", "production", [d(1, "queued", None, created=NOW - H)], [], now=NOW, window_days=7)
        assert (m.in_progress, m.deploys, m.changes, m.failed_deploys) == (1, 0, 0, 0)

    def test_failure_with_nothing_after_it(self):
        """An open incident has no restore time yet, and says so."""
        deploys = [d(i, "success", T0 + i * H) for i in range(1, 5)] + [d(9, "error", T0 + 9 * H)]
        m = compute_metrics("r", "production", deploys, [], now=NOW, window_days=7)
        assert m.unrestored == 1 and m.time_to_restore_median_s is None
        assert m.time_to_restore_reason == "no failed deploy was followed by a good one in the last 7 days"
        assert m.change_failure_rate == pytest.approx(1 / 5)

    def test_consecutive_failures_are_one_incident(self):
        """Failures at +1h and +2h, success at +4h: one incident of 3h."""
        deploys = [d(1, "failure", T0 + H), d(2, "error", T0 + 2 * H), d(3, "success", T0 + 4 * H)]
        m = compute_metrics("r", "production", deploys, [], now=NOW, window_days=7)
        assert m.restore_times_s == (3 * H,)

    def test_staging_gets_frequency_only(self):
        """Lead time, failure rate and restore time are production measures."""
        m = compute_metrics("r", "staging", WEEK, WEEK_CHANGES, now=NOW, window_days=7)
        assert m.deployment_frequency_per_week == pytest.approx(6.0) and not m.production
        assert m.change_failure_rate is None and m.changes == 0
        assert m.change_failure_rate_reason == "measured for production environments only"

    def test_production_names_come_from_the_caller(self):
        """An environment flagged production in .shipbot.yml (here 'live') is measured as production."""
        m = compute_metrics("r", "live", WEEK, WEEK_CHANGES, now=NOW, window_days=7,
                            production_environments={"live"})
        assert m.production and m.failed_changes == 4


class TestPercentile:
    @pytest.mark.parametrize("values, expected", [
        ([5.0], 5.0), ([3.0, 1.0, 2.0], 3.0), (list(range(1, 11)), 9), (list(range(1, 12)), 10),
        (list(range(1, 21)), 18)])
    def test_nearest_rank(self, values, expected):
        """p90 is the ceil(0.9·n)-th smallest: the largest of fewer than 10 values, the 9th of 10."""
        assert percentile(values, 0.9) == expected

    def test_p90_shown_from_ten_commits(self):
        """Ten commits shipped by one deploy, 1h..10h old: median 5h30m, p90 9h."""
        deploys = [d(1, "success", T0 + DAY)]
        changes = [ChangeRecord(1, f"c{i}", T0 + DAY - i * H) for i in range(1, 11)]
        m = compute_metrics("r", "production", deploys, changes, now=NOW, window_days=7)
        assert (m.lead_time_median_s, m.lead_time_p90_s) == (5.5 * H, 9 * H)

    def test_commit_dated_after_its_deploy(self):
        """A commit whose date is after the deploy (skewed clock) counts as zero, never negative."""
        deploys = [d(1, "success", T0 + DAY)]
        changes = [ChangeRecord(1, "a", T0 + DAY + H), ChangeRecord(1, "b", T0), ChangeRecord(1, "c", None)]
        m = compute_metrics("r", "production", deploys, changes, now=NOW, window_days=7)
        assert m.lead_times_s == (0.0, DAY)


class TestTimeZones:
    BERLIN = ZoneInfo("Europe/Berlin")

    def test_commit_and_deploy_across_the_dst_change(self):
        """01:30 CEST to 02:30 CET on 25 Oct 2026 looks like 1h on the wall clock and is 2h."""
        deploys = [DeployRecord(1, "success", created_at="2026-10-25T02:00:00+01:00",
                                finished_at=datetime(2026, 10, 25, 2, 30, tzinfo=self.BERLIN).replace(fold=1))]
        changes = [ChangeRecord(1, "a", "2026-10-25T01:30:00+02:00")]
        m = compute_metrics("r", "production", deploys, changes, now="2026-10-27T12:00:00Z", window_days=7)
        assert m.lead_times_s == (2 * H,)

    def test_epoch_and_aware_datetimes_agree(self):
        """The same week given as datetimes in Tokyo time gives the same figures as Unix seconds."""
        tokyo = ZoneInfo("Asia/Tokyo")

        def aware(t):
            return None if t is None else datetime.fromtimestamp(t, tokyo)

        deploys = [DeployRecord(x.id, x.status, aware(x.created_at), aware(x.finished_at), x.sha, x.ref,
                                x.rollback_of) for x in WEEK]
        changes = [ChangeRecord(c.deployment_id, c.sha, aware(c.committed_at)) for c in WEEK_CHANGES]
        other = compute_metrics("github:o/r", "production", deploys, changes, now=aware(NOW), window_days=7)
        assert other == week()

    def test_days_follow_the_given_zone_across_dst(self):
        """In Berlin the window starts at local midnight (22:00 UTC in summer time); 00:30 CET is the next day."""
        now = datetime(2026, 10, 27, 12, 0, tzinfo=self.BERLIN).timestamp()
        late = datetime(2026, 10, 20, 22, 30, tzinfo=UTC).timestamp()       # 21 Oct 00:30 CEST
        after = datetime(2026, 10, 25, 23, 30, tzinfo=UTC).timestamp()      # 26 Oct 00:30 CET
        deploys = [d(1, "success", late), d(2, "success", after)]
        berlin = compute_metrics("r", "staging", deploys, [], now=now, window_days=7, tz=self.BERLIN)
        utc = compute_metrics("r", "staging", deploys, [], now=now, window_days=7)
        assert berlin.deploys == 2 and utc.deploys == 1
        assert berlin.window_start == datetime(2026, 10, 21, tzinfo=self.BERLIN).timestamp()
        assert {x.day: x.succeeded for x in berlin.daily}["2026-10-26"] == 1
        assert {x.day: x.succeeded for x in utc.daily}["2026-10-25"] == 1
        assert berlin.window_end - berlin.window_start == 6 * DAY + 13 * H  # one 25-hour day in the window

    def test_naive_datetimes_are_refused(self):
        """A naive datetime names no instant: a clear error, never a guess."""
        with pytest.raises(ValueError, match="has no time zone"):
            to_epoch(datetime(2026, 10, 25, 1, 30))
        assert to_epoch("2026-10-25T00:30:00Z") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp()


class TestCombineAndWindow:
    def test_combine_pools_values(self):
        """Two environments pooled: counts add up and the median is over all values, not of medians."""
        a = week()
        deploys = [d(1, "success", T0 + DAY), d(2, "success", T0 + 2 * DAY)]
        changes = [ChangeRecord(1, f"x{i}", T0 + DAY - i * H) for i in range(1, 4)]
        b = compute_metrics("gitlab:g/p", "production", deploys, changes, now=NOW, window_days=7)
        both = combine([a, b])
        assert both.deploys == 8 and both.changes == 9 and both.failed_changes == 4
        assert both.lead_times_s == tuple(sorted(a.lead_times_s + b.lead_times_s))
        assert both.lead_time_median_s == (2 * H + 3 * H) / 2  # 40m 1h [2h 3h] 3h 3h10m
        assert both.change_failure_rate == pytest.approx(4 / 9)
        assert combine([]) is None

    @pytest.mark.parametrize("text, days", [("7d", 7), ("30d", 30), ("90D", 90)])
    def test_windows(self, text, days):
        assert parse_window(text) == days

    @pytest.mark.parametrize("text", ["45d", "30", "d", "1w", "-7d"])
    def test_bad_windows(self, text):
        with pytest.raises(ValueError, match="use one of 7d, 30d, 90d"):
            parse_window(text)

    def test_window_of_one_day_at_least(self):
        with pytest.raises(ValueError):
            compute_metrics("r", "production", [], [], now=NOW, window_days=0)

    def test_future_deploys_are_ignored(self):
        """A record finishing after `now` (another replica's clock) is not counted yet."""
        m = compute_metrics("r", "production", [d(1, "success", NOW + 60)], [], now=NOW, window_days=7)
        assert m.deploys == 0 and sum(x.succeeded for x in m.daily) == 0
        assert timedelta(seconds=m.window_end - m.window_start) == timedelta(days=6, hours=12)
