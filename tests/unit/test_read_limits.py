"""Reads are limited per client and per minute, with a bounded table of clients."""

from __future__ import annotations

import pytest

from hub.domain.errors import CallerLimitReached
from hub.services import read_limits
from hub.services.read_limits import ReadLimits


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_past_its_limit_a_client_is_told_to_come_back_when_the_minute_turns() -> None:
    clock, refused = Clock(6_000_015.0), []
    limits = ReadLimits(2, clock, lambda: refused.append(1))
    limits.check("token:a")
    limits.check("token:a")
    with pytest.raises(CallerLimitReached) as over:
        limits.check("token:a")
    assert over.value.retry_after_seconds == 45 and refused == [1]
    limits.check("address:10.0.0.9")  # another client goes on
    clock.now += 45  # the minute turns
    limits.check("token:a")


def test_no_limit_when_set_to_zero() -> None:
    limits = ReadLimits(0, Clock(0.0), lambda: None)
    for _ in range(10_000):
        limits.check("address:10.0.0.9")


def test_a_flood_from_many_addresses_keeps_the_table_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(read_limits, "MAX_CLIENTS", 10)
    limits = ReadLimits(3, Clock(0.0), lambda: None)
    for n in range(10):
        limits.check(f"address:10.0.0.{n}")
    with pytest.raises(CallerLimitReached):  # newcomers past the bound share one count
        for n in range(10, 20):
            limits.check(f"address:10.0.1.{n}")
    assert len(limits._counts) == 11
    limits.check("address:10.0.0.1")  # a client already counted keeps its own
