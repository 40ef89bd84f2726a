"""Acknowledgements and notes on a real broker and Valkey: who, what, shown at once, kept apart
from serving state, ended when the alert clears or gets worse, audited."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from hub.adapters.redis.keys import Keys
from hub.bootstrap import build
from hub.domain.orgs import ReferenceData
from hub.services.tokens import Principal
from hub.settings import Settings
from tests.harness import RunningApi, caught_up, running_api, running_worker, wait_until
from tests.integration.test_alerts_api import handover, push, showing, wake_every_service

pytestmark = pytest.mark.timeout(180)
MINUTE = 60_000
GROUP = "metric:handover.over_60:org/RX9"


async def viewer(api: RunningApi, name: str | None = "Jo Bloggs") -> str:
    async with api.client(api.settings.admin_token) as c:
        body: dict[str, Any] = {"org": "RX9", "role": "viewer"}
        if name:
            body |= {"name": name, "job_role": "Regional on-call"}
        r = await c.post("/v1/admin/tokens", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["name"] == name
        return str(r.json()["token"])


async def next_alerts_event(lines: Any) -> dict[str, Any]:
    """Return the data of the next `alerts` event on an SSE line iterator."""
    event = None
    async for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "alerts":
            return json.loads(line.split(":", 1)[1])  # type: ignore[no-any-return]
    raise AssertionError("the stream ended")


async def test_a_named_viewer_acknowledges_an_alert_and_every_screen_sees_it_at_once(
    settings: Settings, ref: ReferenceData
) -> None:
    now = int(time.time() * 1000)
    async with running_api(settings) as api, running_worker(settings):
        await push(api, [handover(i, now - 90 * MINUTE + i * MINUTE, 70) for i in range(3)])
        await wake_every_service(api, ref, now)
        await caught_up(settings)
        await wait_until(lambda: showing(api, GROUP, "org/RX9"))
        path = f"/v1/alerts/{GROUP}/ack"
        async with api.client() as anyone:
            assert (await anyone.post(path, json={"note": "x"})).status_code == 401
        async with api.client(await api.token("RX9")) as submitter:
            assert (await submitter.post(path, json={"note": "x"})).status_code == 403
        async with api.client(await viewer(api, name=None)) as nameless:
            r = await nameless.post(path, json={"note": "x"})
            assert r.status_code == 403 and "display name" in r.json()["detail"]
        async with (
            api.client(await viewer(api)) as jo,
            api.client() as screen,
            screen.stream("GET", "/v1/alerts/stream", params={"scope": "org/RX9"}) as events,
        ):
            lines = events.aiter_lines()
            first = await asyncio.wait_for(next_alerts_event(lines), 20)
            assert {g["id"]: g for g in first["alerts"]}[GROUP]["ack"] is None
            assert (await jo.post(path, json={"note": "x" * 501})).status_code == 400
            r = await jo.post(path, json={"note": "HALO on site; divert agreed"})
            assert r.status_code == 201, r.text
            ack = r.json()
            assert ack["by"] == "Jo Bloggs" and ack["job_role"] == "Regional on-call"
            pushed = await asyncio.wait_for(next_alerts_event(lines), 20)
            seen = {g["id"]: g for g in pushed["alerts"]}[GROUP]["ack"]
            assert seen["note"] == "HALO on site; divert agreed" and seen["by"] == "Jo Bloggs"
            assert pushed["summary"]["acknowledged"] == 1
            status = (await jo.get(path)).json()
            assert status["ack"]["at"] == ack["at"]
            assert [e["action"] for e in status["history"]] == ["acknowledged"]
            missing = await jo.post("/v1/alerts/metric:nope:national/ack", json={})
            assert missing.status_code == 404
            note = await jo.post(
                "/v1/annotations",
                json={
                    "scope": "org/RX9",
                    "metric": "handover.over_60",
                    "text": "Crews held at RWE",
                },
            )
            assert note.status_code == 201 and note.json()["by"] == "Jo Bloggs"
        await _kept_outside_serving_generations(settings)


async def _kept_outside_serving_generations(settings: Settings) -> None:
    """`hub rebuild` drops whole generations: acknowledgements and notes are not in one."""
    keys = Keys(settings.key_prefix)
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        names = [k async for k in client.scan_iter(match=f"{settings.key_prefix}:*", count=1000)]
    finally:
        await client.aclose()
    ours = [n for n in names if ":alert:" in n or ":note" in n]
    assert {keys.alert_acks, keys.alert_audit, keys.alert_memory, keys.notes_by_time} <= set(ours)
    generations = [keys.at(g).generation_pattern for g in range(4)]
    assert not [n for n in ours if any(fnmatch.fnmatch(n, p) for p in generations)]


async def test_an_acknowledgement_ends_when_its_alert_worsens_and_when_it_clears(
    settings: Settings, ref: ReferenceData
) -> None:
    now = int(time.time() * 1000)
    async with running_api(settings) as api, running_worker(settings):
        await push(api, [handover(i, now - 90 * MINUTE + i * MINUTE, 70) for i in range(3)])
        await wake_every_service(api, ref, now)
        await caught_up(settings)
        jo = Principal("t1", "RX9", None, "viewer", "Jo Bloggs", "Regional on-call")

        async def judged(at_ms: int) -> Any:
            # A new process per look: each computes afresh, and shares Redis with the others.
            svc = build(
                settings,
                CollectorRegistry(),
                clock=lambda: datetime.fromtimestamp(at_ms / 1000, tz=UTC),
                clock_ms=lambda: at_ms,
            )
            return svc

        first = await judged(now)
        try:
            group = await first.alerts.group("metric:handover.over_60:national")
            await first.acks.acknowledge(group, jo, "Jo Bloggs", "watching")
        finally:
            await first.close()
        # Another trust and service breach too: more scopes in breach is worse.
        more = [
            handover(50 + i, now - 80 * MINUTE + i * MINUTE, 75, "RX6", "RTD02") for i in range(3)
        ]
        await push(api, more, "RX6")
        await caught_up(settings)
        worse = await judged(now + MINUTE)
        try:
            body = await worse.alerts.active()
            national = {g["id"]: g for g in body["alerts"]}["metric:handover.over_60:national"]
            assert national["status"] == "worsening" and national["ack"] is None
            trail = await worse.acks.history("metric:handover.over_60:national")
            assert [e["action"] for e in trail] == ["expired", "acknowledged"]
            assert trail[0]["reason"] == "the alert got worse" and trail[0]["by"] == "Jo Bloggs"
            rx9 = await worse.alerts.group(GROUP)
            await worse.acks.acknowledge(rx9, jo, "Jo Bloggs", None)
        finally:
            await worse.close()
    # Five hours on, the handovers have left the 4-hour window: RX9's alert has cleared.
    cleared = await judged(now + 5 * 60 * MINUTE)
    try:
        body = await cleared.alerts.active("org/RX9")
        assert GROUP not in {g["id"] for g in body["alerts"]}
        trail = await cleared.acks.history(GROUP)
        assert trail[0]["action"] == "expired" and trail[0]["reason"] == "the alert cleared"
        assert GROUP not in await cleared.acks.in_force()
    finally:
        await cleared.close()
