"""Chart geometry: bars scaled to the peak, failures stacked on successes, nothing drawn for zero."""
from __future__ import annotations

from bot.board.charts import BAR, HEIGHT, bars, stacked_bars


class TestStackedBars:
    def test_scaled_to_the_tallest_day_with_failures_on_top(self):
        chart = stacked_bars([(2, 0), (0, 0), (3, 1)])
        assert chart.width == 3 * BAR and chart.peak == 4
        [first, good, bad] = chart.rects
        assert first.x == 0 and first.kind == "bar" and first.y + first.height == HEIGHT
        assert good.x == 2 * BAR and bad.kind == "bar-bad" and bad.y + bad.height == good.y
        assert good.height + bad.height == HEIGHT - 1 and first.height < good.height

    def test_quiet_window_is_an_empty_chart_of_full_width(self):
        chart = stacked_bars([(0, 0)] * 30)
        assert chart.rects == () and chart.width == 30 * BAR and chart.peak == 0

    def test_tiny_values_stay_visible(self):
        [small, big] = bars([1, 1000]).rects
        assert small.height >= 1 and big.height == HEIGHT - 1
