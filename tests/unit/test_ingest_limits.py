"""Per-token ingest limits: concurrency and a rate per minute, each with when to come back."""

from __future__ import annotations

import pytest

from hub.domain.errors import CallerLimitReached
from hub.services.limits import IngestLimits
from hub.settings import Settings


class Counter:
    """The RequestCounter port, counting in memory (the Redis one is tested in integration)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def count(self, key: str, window_s: int) -> int:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


async def test_a_token_may_run_only_so_many_submissions_at_once() -> None:
    limits = IngestLimits(Counter(), per_minute=0, at_once=1, clock=lambda: 0.0)
    async with limits.hold("t1"):
        with pytest.raises(CallerLimitReached) as refused:
            async with limits.hold("t1"):
                pass
        async with limits.hold("t2"):  # another token is not held back
            pass
    async with limits.hold("t1"):  # the first finished: room again
        pass
    assert refused.value.retry_after_seconds == 1


async def test_past_its_rate_a_token_is_told_to_come_back_when_the_minute_turns() -> None:
    limits = IngestLimits(Counter(), per_minute=2, at_once=5, clock=lambda: 125.0)
    for _ in range(2):
        async with limits.hold("t1"):
            pass
    with pytest.raises(CallerLimitReached) as refused:
        async with limits.hold("t1"):
            pass
    assert refused.value.retry_after_seconds == 55  # 125 s is 5 s into a minute


@pytest.mark.parametrize(
    ("host", "changes", "refused"),
    [
        ("127.0.0.1", {}, False),
        ("0.0.0.0", {}, True),
        ("0.0.0.0", {"require_viewer_token": True}, False),
        ("10.1.2.3", {"allow_anonymous_viewers": True}, False),
    ],
)
def test_serving_anonymous_reads_beyond_this_machine_needs_saying_so(
    host: str, changes: dict[str, bool], refused: bool
) -> None:
    problem = Settings(http_host=host).with_(**changes).exposure_problem()
    assert (problem is not None) is refused
    if problem:
        assert "HUB_REQUIRE_VIEWER_TOKEN" in problem and "HUB_ALLOW_ANONYMOUS_VIEWERS" in problem
