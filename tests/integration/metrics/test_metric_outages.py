"""Hours a feed was down are missing, not zero: the heard-hours record, on both hubs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.domain.metrics import CATALOGUE
from hub.domain.outages import MAX_OUTAGE_HOURS
from hub.domain.scopes import ScopeRef
from hub.domain.windows import HOUR_MS
from hub.services.forecasts import ForecastService
from tests.integration.metrics.conftest import HubMaker
from tests.metric_hubs import NOW, z

FEED = "ed-attendance"
START = NOW.replace(minute=0) - timedelta(hours=30)  # 30 hours of history before 10:00
OUTAGE = range(12, 17)  # hours 12 to 16 of it: RWE sent nothing, about nothing
QUIET = 20  # hour 20: no one arrived, but a departure was sent
SCOPES = [
    ScopeRef("org", "RWE", "Leicester"),
    ScopeRef("region", "Y60", "Midlands"),
    ScopeRef("national", None, "England"),
]


def attendance(n: int, arrived: datetime, departed: datetime | None = None) -> dict[str, object]:
    return {"attendance_id": f"O{n}", "trust": "RWE", "site": "RWEAA", "department_type": "1",
            "arrival_mode": "walk_in", "arrived_at": z(arrived), "decision_to_admit_at": None,
            "departed_at": None if departed is None else z(departed)}  # fmt: skip


async def test_outage_hours_are_missing_and_a_quiet_hour_is_zero(make_hub: HubMaker) -> None:
    hub = await make_hub()
    n = 0
    for hour in range(30):
        at = START + timedelta(hours=hour)
        if hour in OUTAGE:
            continue
        if hour == QUIET:
            departed = at + timedelta(minutes=30)
            record = attendance(0, START + timedelta(minutes=5), departed)
            await hub.send(FEED, record, received_at=departed)
            continue
        for _ in range(3):
            n += 1
            arrived = at + timedelta(minutes=5 + n % 40)
            await hub.send(FEED, attendance(n, arrived), received_at=arrived)
    first = int(START.timestamp() * 1000) // HOUR_MS
    end = first + 30
    heard = await hub.store.read_heard(FEED, first - MAX_OUTAGE_HOURS, end - 1)
    service = ForecastService(hub.ref, hub.store, None, lambda: int(NOW.timestamp() * 1000))  # type: ignore[arg-type]  # history() only
    org, region, england = await service.history(
        CATALOGUE["ed.arrivals"], SCOPES, first, end, heard
    )
    for hour, value in enumerate(org):
        if hour in OUTAGE:
            assert value is None, hour
        elif hour == QUIET:
            assert value == 0.0  # the feed was live: nobody came
        else:
            assert value == (4.0 if hour == 0 else 3.0), hour  # hour 0 also holds attendance O0
    # A region and England are missing an hour when any of their inputs is; trusts that
    # never sent (RX1, RRK) are not in an outage.
    assert [h for h, v in enumerate(region) if v is None] == list(OUTAGE)
    assert [h for h, v in enumerate(england) if v is None] == list(OUTAGE)
    assert datetime.fromtimestamp(first * 3600, tz=UTC) == START
