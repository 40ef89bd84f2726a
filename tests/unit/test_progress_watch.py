"""A worker's progress verdict (`streams.health`): what makes it stalled, and `/healthz`."""

from __future__ import annotations

from streams.health import ProgressWatch

A, B = ("uec.ambulance.handover", 0), ("uec.ambulance.handover", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_with_records_waiting_and_no_progress_is_stalled_after_the_limit() -> None:
    clock = Clock()
    watch = ProgressWatch(60, clock)
    assert watch.observe({A, B}, set(), {A: 10, B: 5}, {A: 3, B: 0}).stalled == ()
    clock.now += 59
    assert watch.observe({A, B}, set(), {A: 10, B: 5}, {A: 3, B: 0}).stalled == ()
    clock.now += 1
    (stalled,) = watch.observe({A, B}, set(), {A: 10, B: 5}, {A: 3, B: 0}).stalled
    assert (stalled.partition, stalled.lag, stalled.seconds) == (0, 3, 60)  # B has no lag
    assert watch.health(30)[0] == 503


def test_progress_or_an_empty_backlog_is_never_stalled() -> None:
    clock = Clock()
    watch = ProgressWatch(60, clock)
    for applied in range(10):  # behind, but moving
        watch.observe({A}, set(), {A: applied}, {A: 1_000})
        clock.now += 30
    assert watch.latest is not None and watch.latest.stalled == ()
    clock.now += 600
    assert watch.observe({A}, set(), {A: 9}, {A: 0}).stalled == ()  # idle: nothing waits
    assert watch.health(30) == (200, {"status": "ok", "partitions": 1})


def test_a_partition_assigned_but_never_placed_is_stalled_with_its_lag_unknown() -> None:
    clock = Clock()
    watch = ProgressWatch(60, clock)
    watch.observe({A}, {A}, {}, {})
    clock.now += 61
    (stalled,) = watch.observe({A}, {A}, {}, {}).stalled
    assert stalled.lag is None
    status, body = watch.health(30)
    assert status == 503 and body["partitions"][0]["lag"] is None


def test_a_partition_taken_again_after_a_rebalance_starts_its_clock_again() -> None:
    clock = Clock()
    watch = ProgressWatch(60, clock)
    watch.observe({A}, set(), {A: 10}, {A: 5})
    clock.now += 50
    watch.observe(set(), set(), {A: 10}, {})  # moved to another worker
    clock.now += 50
    assert watch.observe({A}, set(), {A: 10}, {A: 5}).stalled == ()  # held again: 0 s, not 100


def test_a_loop_that_stopped_checking_is_unhealthy() -> None:
    clock = Clock()
    watch = ProgressWatch(60, clock)
    assert watch.health(30) == (200, {"status": "starting"})
    clock.now += 61
    assert watch.health(30)[0] == 503  # never checked at all
    watch.observe({A}, set(), {A: 1}, {A: 0})
    assert watch.health(30)[0] == 200
    clock.now += 31
    status, body = watch.health(30)
    assert status == 503 and "has not checked its progress for 31s" in body["reason"]
