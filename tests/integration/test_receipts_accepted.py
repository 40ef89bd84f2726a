"""Receipts count `unchanged` against the latest version the hub accepted, in any API process.

No worker runs here: what the workers have applied does not matter, only what
was accepted. A BI scheduler re-sending a file to another API replica a moment
later is told that nothing changed.
"""

from __future__ import annotations

import time
from typing import Any

from hub.settings import Settings
from tests.harness import running_api
from tests.logs import handover


async def submit(api: Any, token: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    async with api.client(token) as c:
        r = await c.post("/v1/feeds/ambulance-handover", json=records)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_file_sent_again_to_another_api_process_is_all_unchanged_before_any_worker_applies(
    settings: Settings,
) -> None:
    now = int(time.time() * 1000)
    records = [handover(n, now) for n in range(50)]
    async with running_api(settings) as first, running_api(settings) as second:
        token = await first.token("RX9")
        sent = await submit(first, token, records)
        again = await submit(second, token, records)
        corrected = [*records[:40], *(handover(n, now - 60_000) for n in range(40, 50))]
        partly = await submit(first, token, corrected)

    assert (sent["accepted"], sent["unchanged"]) == (50, 0)
    assert (again["accepted"], again["unchanged"]) == (50, 50)
    assert (partly["accepted"], partly["unchanged"]) == (50, 40)  # 10 corrected: new versions


async def test_a_version_sent_back_after_a_correction_is_a_change_again(settings: Settings) -> None:
    now = int(time.time() * 1000)
    original = handover(1, now)
    corrected = {**original, "clear_at": original["handover_at"]}
    async with running_api(settings) as api:
        token = await api.token("RX9")
        await submit(api, token, [original])
        await submit(api, token, [corrected])
        back = await submit(api, token, [original])
    assert back["unchanged"] == 0  # compared with the latest accepted version, the correction
