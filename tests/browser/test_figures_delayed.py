"""A stalled worker is never shown as "Live": the dashboard says the figures are delayed.

A real worker process is frozen (SIGSTOP) while records keep arriving through the API;
within a minute the page's header, the tiles of the feed and its freshness card say
"figures delayed: N records not yet applied (oldest …)" and the tiles' RAG is unknown.
Thawed (SIGCONT), the worker catches up and the page is "Live" again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings
from tests.browser.conftest import ARTIFACTS
from tests.conftest import CONFIG
from tests.e2e.processes import Child, start
from tests.harness import RunningApi, caught_up, running_api
from tests.logs import handover

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

DELAYED_AFTER_S = 15.0  # HUB_FIGURES_DELAYED_AFTER_S for this hub: "within a minute" with room
HEADER = "#live-status .hub-status__text"
TILE = '.hub-tile[data-metric="handover.over_60"]'


@contextlib.asynccontextmanager
async def desk_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-GB")
    errors: list[str] = []
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def keep_pushing(api: RunningApi, token: str, stop: asyncio.Event) -> int:
    """Push a handover every second until stopped (records keep arriving); return how many."""
    n, now = 0, int(time.time() * 1000)
    async with api.client(token) as c:
        while not stop.is_set():
            r = await c.post("/v1/feeds/ambulance-handover", json=[handover(1_000 + n, now)])
            assert r.status_code == 200, r.text
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    return n


def freeze(worker: Child, frozen: bool) -> None:
    os.kill(worker.process.pid, signal.SIGSTOP if frozen else signal.SIGCONT)


async def test_a_frozen_worker_shows_figures_delayed_within_a_minute_and_live_once_thawed(
    browser: Browser,
    broker: ManagedProcess,
    valkey: ManagedProcess,
    built_assets: None,
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        kafka_bootstrap=broker.address,
        redis_url=valkey.address,
        topic_prefix=f"d{tag}.",
        consumer_group=f"g{tag}",
        key_prefix=f"k{tag}",
        partitions=2,
        session_timeout_ms=6_000,
        admin_token="admin-" + uuid.uuid4().hex,
        envelope_key="test:" + uuid.uuid4().hex,
        config_dir=CONFIG,
        figures_delayed_after_s=DELAYED_AFTER_S,
    )
    await ensure_topics(settings)
    worker = start("worker", ["streams"], settings, tmp_path)
    stop = asyncio.Event()
    try:
        async with running_api(settings) as api, desk_page(browser) as page:
            token = await api.token("RX9")
            now = int(time.time() * 1000)
            async with api.client(token) as c:
                r = await c.post("/v1/feeds/ambulance-handover",
                                 json=[handover(n, now) for n in range(40)])  # fmt: skip
                assert r.json()["accepted"] == 40
            await caught_up(settings)
            await page.goto(f"{api.url}/org/RX9")
            await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            await page.wait_for_function(
                f"() => document.querySelector('{HEADER}').textContent.startsWith('Live')",
                timeout=20_000,
            )

            freeze(worker, True)
            frozen_at = time.monotonic()
            pushing = asyncio.create_task(keep_pushing(api, token, stop))
            await page.wait_for_function(
                f"() => document.querySelector('{HEADER}').textContent"
                ".startsWith('Figures delayed: ')",
                timeout=60_000,  # the bar: within a minute of the worker stopping
            )
            shown_after = time.monotonic() - frozen_at
            header = await page.inner_text(HEADER)
            assert "not yet applied (oldest " in header
            tile = page.locator(TILE)
            await tile.locator(".hub-tile__quality", has_text="figures delayed:").wait_for(
                timeout=20_000
            )
            assert await tile.get_attribute("data-delayed") == "true"
            assert await tile.locator(".hub-rag__word").inner_text() == "Unknown: figures delayed"
            card = page.locator('.hub-feed[data-feed="ambulance-handover"]')
            await card.locator(".hub-rag__word", has_text="Figures delayed").wait_for(
                timeout=30_000  # the board refreshes every 15 s
            )
            assert "Figures delayed: " in await card.inner_text()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=ARTIFACTS / "figures-delayed.png", full_page=True)
            print(f"figures delayed shown {shown_after:.1f} s after the worker froze")

            stop.set()
            pushed = await pushing
            assert pushed > 0
            freeze(worker, False)
            await caught_up(settings)
            await page.wait_for_function(
                f"() => document.querySelector('{HEADER}').textContent.startsWith('Live')",
                timeout=30_000,
            )
            assert await tile.get_attribute("data-delayed") == "false"
    finally:
        stop.set()
        if worker.alive():
            freeze(worker, False)
        worker.stop()
