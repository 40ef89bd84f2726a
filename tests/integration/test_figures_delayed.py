"""Records accepted but not yet applied make the figures *delayed*, not "live" (issue 27).

Two API processes share one Redis: what either accepts counts, whichever is asked. With
no worker running, the handover figures wait; past HUB_FIGURES_DELAYED_AFTER_S the
tiles, the freshness board, `/readyz` and `/metrics` say so. A worker then applies
everything, and each of them clears.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from hub.settings import Settings
from tests.harness import RunningApi, caught_up, running_api, running_worker, wait_until
from tests.logs import handover

pytestmark = pytest.mark.timeout(120)
FEED = "ambulance-handover"


async def handover_metrics(api: RunningApi) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.get("/v1/metrics/org/RX9")
        assert r.status_code == 200
        return r.json()["metrics"]  # type: ignore[no-any-return]


async def get(api: RunningApi, path: str) -> Any:
    async with api.client() as c:
        r = await c.get(path)
        return r.json() if path != "/metrics" else r.text


async def test_accepted_records_not_applied_make_the_figures_delayed_until_a_worker_applies_them(
    settings: Settings,
) -> None:
    settings = settings.with_(figures_delayed_after_s=1.0, ops_refresh_s=0.3)
    now = int(time.time() * 1000)
    async with running_api(settings) as first, running_api(settings) as second:
        token = await first.token("RX9")
        async with first.client(token) as c:
            r = await c.post(f"/v1/feeds/{FEED}", json=[handover(n, now) for n in range(30)])
            assert r.json()["accepted"] == 30
        async with second.client(token) as c:  # another API process: its notes count too
            r = await c.post(f"/v1/feeds/{FEED}", json=[handover(n, now) for n in range(30, 40)])
            assert r.json()["accepted"] == 10

        async def delayed() -> dict[str, Any] | None:
            entry: dict[str, Any] = (await handover_metrics(first))["handover.over_60"]
            quality = entry.get("quality") or {}
            return entry if quality.get("status") == "delayed" else None

        entry = await wait_until(delayed, timeout=30)
        assert entry["rag"] == "unknown"  # the figure has a RAG line; it cannot be trusted now
        assert entry["quality"]["pending_records"] == 40
        assert entry["quality"]["text"].startswith(
            "figures delayed: 40 records not yet applied (oldest "
        )
        ed = (await handover_metrics(first)).get("ed.arrivals")
        assert ed is None or "quality" not in ed or ed["quality"]["status"] != "delayed"

        board = await get(second, "/v1/freshness")
        assert board["feeds"][FEED]["application"]["delayed"] is True
        assert board["feeds"][FEED]["application"]["pending_records"] == 40
        assert board["feeds"]["ed-attendance"]["application"]["pending_records"] == 0
        ready = await get(second, "/readyz")
        assert ready["status"] == "degraded"
        assert [d["feed"] for d in ready["figures_delayed"]] == [FEED]

        async def exported() -> bool:
            text = await get(first, "/metrics")
            return f'hub_feed_figures_delayed{{feed="{FEED}"}} 1.0' in text

        await wait_until(exported, timeout=30)
        text = await get(first, "/metrics")
        assert f'hub_feed_unapplied_records{{feed="{FEED}"}} 40.0' in text

        async with running_worker(settings):
            await caught_up(settings)

            async def cleared() -> bool:
                quality = (await handover_metrics(first))["handover.over_60"].get("quality")
                ready = await get(second, "/readyz")
                return (quality is None or quality["status"] != "delayed") and (
                    ready["figures_delayed"] == []
                )

            await wait_until(cleared, timeout=30)
            board = await get(first, "/v1/freshness")
            assert board["feeds"][FEED]["application"] == {
                "pending_records": 0, "oldest_pending_s": None, "delayed": False, "text": None
            }  # fmt: skip
