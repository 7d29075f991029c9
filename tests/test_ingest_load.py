"""The ingress load measure: mean requests in flight over the last one to two windows."""
from bot.ingest_load import WINDOW, IngestLoad


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_is_not_busy():
    assert IngestLoad(Clock()).in_flight() == 0 and not IngestLoad(Clock()).busy()


def test_handlers_busy_most_of_the_window_are_busy():
    clock = Clock()
    load = IngestLoad(clock)
    for _ in range(250):  # a request every millisecond, each 0.8 ms in its handler
        clock.now += 0.001
        load.add(0.0008)
    assert 0.7 < load.in_flight() < 0.9 and load.busy()


def test_one_delivery_after_another_is_busy():
    clock = Clock()
    load = IngestLoad(clock)
    for _ in range(250):  # the next as soon as the last is answered: ~0.2 ms of each 1 ms in the handler
        clock.now += 0.001
        load.add(0.0002)
    assert 0.15 <= load.in_flight() < 0.25 and load.busy()


def test_dozens_a_second_are_not_busy():
    clock = Clock()
    load = IngestLoad(clock)
    for _ in range(50):  # 50 a second, 2 ms each: 10 % of the loop
        clock.now += 0.02
        load.add(0.002)
    assert 0.05 < load.in_flight() < 0.15 and not load.busy()


def test_a_burst_is_forgotten_after_two_windows():
    clock = Clock()
    load = IngestLoad(clock)
    load.add(0.5)
    assert load.busy()
    clock.now += 2.5 * WINDOW
    assert load.in_flight() == 0 and not load.busy()
