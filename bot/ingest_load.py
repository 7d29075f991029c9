"""How busy the event loop is with incoming deliveries, so the worker knows when to step aside.

Acknowledging comes first: GitHub waits 10 s for an answer and Slack 3 s
(https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds).
But the mere arrival of deliveries is no reason to hold jobs back: a busy installation sends
dozens per second, and a worker that yields whenever something arrived recently would fall further
behind every minute. What counts is how much of the loop's time ingress takes: the summed time
requests spent in their handlers over a short window, divided by the window, is the mean number
of requests in flight (Little's law). From 0.15 upward the worker yields: a handler is about
half of a request's time in the loop (aiohttp parses and writes outside it), so that is when
requests take about a third of the loop. Deliveries sent one after another, as fast as the
answers come, measure 0.25-0.4; a steady 50 a second, 0.01-0.02.
"""
from __future__ import annotations

import time

WINDOW = 0.1  # seconds
BUSY_IN_FLIGHT = 0.15


class IngestLoad:
    """Request handling time, summed per WINDOW; the current and the previous window are kept."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._current = 0.0
        self._previous = 0.0

    def _roll(self, now: float) -> None:
        elapsed = now - self._started
        if elapsed >= WINDOW:
            self._previous = self._current if elapsed < 2 * WINDOW else 0.0
            self._current = 0.0
            self._started = now

    def add(self, seconds: float) -> None:
        """One request spent `seconds` in its handler (reading, verifying, storing)."""
        self._roll(self._clock())
        self._current += seconds

    def in_flight(self) -> float:
        """Mean number of requests in handlers over the last one to two windows."""
        now = self._clock()
        self._roll(now)
        return (self._previous + self._current) / (WINDOW + now - self._started)

    def busy(self) -> bool:
        return self.in_flight() >= BUSY_IN_FLIGHT
