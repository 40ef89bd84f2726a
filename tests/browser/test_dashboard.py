"""The control-room dashboard in headless Chromium, against a hub seeded with every feed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Page
from prometheus_client import CollectorRegistry

from hub.api.app import create_app
from hub.bootstrap import build
from hub.domain.orgs import ReferenceData
from tests.browser import seed
from tests.browser.conftest import REQUESTS, SeededHub
from tests.browser.formatting import formatted
from tests.harness import free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

READY = "body[data-ready=true]"
PAGES = [
    ("national", "/", "national"),
    ("region-midlands", "/region/Y60", "region/Y60"),
    ("acute-trust-leicester", "/org/RWE", "org/RWE"),
    ("ambulance-service-east-midlands", "/org/RX9", "org/RX9"),
    ("nhs111-provider-north-west", "/org/RX7", "org/RX7"),
    ("site-leicester-royal-infirmary", "/site/RWEAA", "site/RWEAA"),
]


async def api_metrics(hub: SeededHub, scope: str) -> dict[str, Any]:
    path = "/v1/metrics/national" if scope == "national" else f"/v1/metrics/{scope}"
    async with hub.api.client() as c:
        r = await c.get(path)
        assert r.status_code == 200
        return r.json()["metrics"]  # type: ignore[no-any-return]


async def tiles(page: Page) -> list[dict[str, Any]]:
    return await page.eval_on_selector_all(  # type: ignore[no-any-return]
        ".hub-tile",
        """tiles => tiles.map(t => ({
            metric: t.dataset.metric,
            text: t.querySelector('.hub-tile__value').textContent,
            value: JSON.parse(t.querySelector('.hub-tile__value').dataset.value),
            window: t.querySelector('.hub-tile__value').dataset.window,
            rag: t.querySelector('.hub-rag__word').textContent,
        }))""",
    )


def check_tiles_against(shown: list[dict[str, Any]], metrics: dict[str, Any]) -> None:
    assert shown, "no tiles on the page"
    for tile in shown:
        entry = metrics[tile["metric"]]
        want = entry["windows"][tile["window"]] if tile["window"] else entry["value"]
        if isinstance(want, float):
            assert tile["value"] == pytest.approx(want), tile
        else:
            assert tile["value"] == want, tile
        assert tile["text"] == formatted(want, entry["unit"]), tile
        words = {"red": "Red", "amber": "Amber", "green": "Green", "none": "No standard",
                 "unknown": "Unknown: data not live"}  # fmt: skip
        assert tile["rag"] == words[entry["rag"]], tile


async def load(page: Page, hub: SeededHub, path: str) -> None:
    await page.goto(hub.api.url + path)
    await page.wait_for_selector(READY, timeout=20_000)


@pytest.mark.parametrize(("name", "path", "scope"), PAGES)
async def test_each_page_shows_the_same_figures_as_the_api(
    page: Page, hub: SeededHub, artifacts: Path, name: str, path: str, scope: str
) -> None:
    await load(page, hub, path)
    await page.wait_for_selector(".hub-tile__spc .hub-spc", timeout=20_000)
    await page.wait_for_selector(".hub-feed", timeout=20_000)
    check_tiles_against(await tiles(page), await api_metrics(hub, scope))
    for row in await page.eval_on_selector_all(
        "tr[data-scope]", "rows => rows.map(r => r.dataset.scope)"
    ):
        member = await api_metrics(hub, row)
        cells = await page.eval_on_selector_all(
            f'tr[data-scope="{row}"] td[data-value]',
            "cells => cells.map(c => [c.dataset.metric, c.dataset.window, c.textContent])",
        )
        assert cells, f"no figures in the row of {row}"
        for metric, window, text in cells:
            entry = member[metric]
            want = entry["windows"][window] if window else entry["value"]
            assert text.startswith(formatted(want, entry["unit"])), (row, metric, text)
    await page.screenshot(path=artifacts / f"{name}.png", full_page=True)
    assert all(url.startswith(hub.api.url) for url in REQUESTS[page]), "a request left the hub"


async def test_the_freshness_board_counts_the_services_that_are_live(
    page: Page, hub: SeededHub
) -> None:
    await load(page, hub, "/")
    board = page.locator('.hub-feed[data-feed="ambulance-handover"]')
    await board.wait_for(timeout=20_000)
    assert "10 of 11 ambulance services live" in await board.inner_text()
    await board.locator("summary").click()
    row = board.locator('tr[data-org="R1F"]')
    assert "Never received" in await row.inner_text()


async def test_a_pushed_record_changes_the_screen_without_reload(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    await load(page, hub, "/")
    tile = page.locator('.hub-tile[data-metric="handover.waiting_now"] .hub-tile__value')
    before = json.loads(await tile.get_attribute("data-value") or "null")
    await page.evaluate("window.__notReloaded = true")
    delays = []
    for n in range(3):
        record = {
            "handover_id": f"LIVE{n}",
            "ambulance_trust": "RX9",
            "site": "RWEAA",
            "arrived_at": seed.iso(hub.now_ms - 2 * 60_000),
        }
        sent = time.time() * 1000
        await seed.push(hub.api, "ambulance-handover", [record])
        accepted = time.time() * 1000
        await page.wait_for_function(
            "want => JSON.parse(document.querySelector("
            "'.hub-tile[data-metric=\"handover.waiting_now\"] .hub-tile__value').dataset.value) === want",
            arg=before + n + 1,
            timeout=10_000,
        )
        shown = float(await tile.get_attribute("data-changed-at") or 0)
        delays.append({"push_ms": accepted - sent, "accepted_to_screen_ms": shown - accepted})
        await page.wait_for_timeout(1_200)
    assert await page.evaluate("window.__notReloaded === true")
    # The delays are a measurement (written down in the issue notes), not a pass/fail line:
    # timing on a shared CI machine is no test of the product.
    (artifacts / "sse-delivery.json").write_text(json.dumps(delays, indent=2))
    await page.screenshot(path=artifacts / "national-after-push.png")


async def test_the_pages_can_be_walked_by_keyboard_alone(
    page: Page, hub: SeededHub, ref: ReferenceData, artifacts: Path
) -> None:
    await load(page, hub, "/")
    for href, title in [
        ("/region/Y60", ref.regions["Y60"].name),
        ("/org/RWE", ref.organisations["RWE"].name),
        ("/site/RWEAA", ref.sites["RWEAA"].name),
        ("/trend/handover.mean_minutes/site/RWEAA", "Mean time from arrival to handover"),
    ]:
        for _ in range(200):
            await page.keyboard.press("Tab")
            focused = await page.evaluate("document.activeElement.getAttribute('href')")
            if focused == href:
                break
        else:
            pytest.fail(f"Tab never reached a link to {href}")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"**{href}")
        await page.wait_for_selector(READY, timeout=20_000)
        assert title in await page.locator("h1").inner_text()
        # The new page's heading takes the focus, so the next Tab starts at its top.
        assert await page.evaluate("document.activeElement.id") == "page-title"
    await page.wait_for_selector(".hub-trend__chart canvas", timeout=20_000)
    await page.screenshot(path=artifacts / "trend-site-mean-handover.png", full_page=True)


async def test_a_table_sorts_from_the_keyboard(page: Page, hub: SeededHub) -> None:
    await load(page, hub, "/region/Y60")
    header = page.locator('table[data-kind="acute"] th:nth-child(2) button')
    await header.focus()
    await page.keyboard.press("Enter")
    th = page.locator('table[data-kind="acute"] th:nth-child(2)')
    assert await th.get_attribute("aria-sort") == "descending"
    values = await page.eval_on_selector_all(
        'table[data-kind="acute"] tbody tr td:nth-of-type(1)',
        "cells => cells.map(c => c.dataset.value ? JSON.parse(c.dataset.value) : null)",
    )
    numbers = [v for v in values if v is not None]
    assert numbers == sorted(numbers, reverse=True)
    await page.keyboard.press("Enter")
    assert await th.get_attribute("aria-sort") == "ascending"


async def test_the_trend_page_draws_an_xmr_chart_with_its_icons(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    await load(page, hub, "/trend/ed.four_hour_pct/region/Y60")
    await page.wait_for_selector(".hub-trend__chart canvas", timeout=20_000)
    async with hub.api.client() as c:
        body = (
            await c.get(
                "/v1/series",
                params={"metric": "ed.four_hour_pct", "scope": "region/Y60", "spc": "true"},
            )
        ).json()
    variation = await page.get_attribute("[data-variation]", "data-variation")
    assurance = await page.get_attribute("[data-assurance]", "data-assurance")
    assert variation == body["spc"]["variation"]
    assert assurance == (body["spc"]["assurance"] or "")
    legend = await page.locator(".u-legend").inner_text()
    for label in ("Expected for the hour", "Upper limit for the hour", "Target"):
        assert label in legend
    await page.screenshot(path=artifacts / "trend-region-four-hour.png", full_page=True)
    await load(page, hub, "/trend/ed.four_hour_pct/region/Y60?resolution=day&days=30")
    await page.wait_for_selector(".hub-trend__chart canvas", timeout=20_000)
    legend = await page.locator(".u-legend").inner_text()
    for label in ("Mean", "Upper process limit", "Lower process limit", "Target"):
        assert label in legend  # daily points: one XmR chart's straight lines


async def test_an_hourly_chart_shades_each_hours_expected_band(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    await load(page, hub, "/trend/nhs111.calls_received/national")
    chart = page.locator(".hub-trend__chart[data-band]")
    await chart.locator("canvas").wait_for(timeout=20_000)
    async with hub.api.client() as c:
        params = {"metric": "nhs111.calls_received", "scope": "national", "spc": "true"}
        body = (await c.get("/v1/series", params=params)).json()
    banded = [p for p in body["points"] if p["upper"] is not None]
    assert banded and all(p["lower"] <= p["expected"] <= p["upper"] for p in banded)
    assert await chart.get_attribute("data-band") == str(len(banded))
    assert "Expected for the hour" in await page.locator(".u-legend").inner_text()
    lines = await page.locator(".hub-trend__lines").inner_text()
    assert "Expected from" in lines and "the same hour of the day" in lines
    table = page.locator(".hub-trend__table")
    await table.locator("summary").click()
    assert "Expected band" in await table.inner_text()
    await page.screenshot(path=artifacts / "trend-national-111-band.png", full_page=True)


async def test_wall_mode_is_large_and_cycles_through_the_regions(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    await page.set_viewport_size({"width": 1920, "height": 1080})
    await load(page, hub, "/?wall=1&cycle=5")
    await page.wait_for_selector(".hub-tile__spc .hub-spc", timeout=20_000)
    await page.screenshot(path=artifacts / "wall-national.png")
    await page.wait_for_url(re.compile(r"/region/\w+\?wall=1"), timeout=15_000)
    await page.wait_for_selector(READY, timeout=20_000)
    await page.screenshot(path=artifacts / "wall-first-region.png")
    await page.keyboard.press("p")
    assert "Rotation paused" in await page.locator(".hub-wall__next").inner_text()


async def test_first_paint_is_measured(page: Page, hub: SeededHub, artifacts: Path) -> None:
    timings = []
    for _ in range(3):
        await load(page, hub, "/")
        timings.append(
            await page.evaluate(
                """() => ({
                    first_paint_ms: performance.getEntriesByName('first-paint')[0]?.startTime,
                    first_contentful_paint_ms:
                        performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
                    dom_content_loaded_ms:
                        performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
                    figures_shown_ms: window.hubStats.readyAt,
                })"""
            )
        )
    (artifacts / "first-paint.json").write_text(json.dumps(timings, indent=2))
    assert all(t["first_contentful_paint_ms"] is not None for t in timings)
    assert min(t["figures_shown_ms"] for t in timings) < 3_000


CONTRAST = """() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join("");
    if (!text || el.closest(".nhsuk-u-visually-hidden, svg, [hidden]")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none" || el.getClientRects().length === 0) continue;
    const [fg, bg] = [lum(parse(style.color).slice(0, 3)), lum(background(el))];
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) failures.push(`${text.slice(0, 40)}: ${ratio.toFixed(2)}`);
  }
  return failures;
}"""


@pytest.mark.parametrize(
    "path", ["/", "/region/Y60", "/trend/ed.four_hour_pct/national", "/?wall=1"]
)
async def test_text_meets_wcag_aa_contrast(page: Page, hub: SeededHub, path: str) -> None:
    await load(page, hub, path)
    await page.wait_for_selector(
        ".hub-feed, .hub-trend__chart canvas, .hub-wall__feeds[data-ready]", timeout=20_000
    )
    assert await page.evaluate(CONTRAST) == []


WAITING = ".hub-tile[data-metric='handover.waiting_now'] .hub-tile__value"


@contextlib.asynccontextmanager
async def serving(hub: SeededHub, port: int) -> AsyncIterator[str]:
    """Serve the seeded hub's state from a second API process-part on a fixed port."""
    app = create_app(build(hub.api.settings, CollectorRegistry(), clock_ms=lambda: hub.now_ms))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def test_after_a_lost_connection_the_screen_catches_up_with_what_changed_meanwhile(
    page: Page, hub: SeededHub
) -> None:
    port = free_port()
    tile = page.locator(WAITING)
    async with serving(hub, port) as url:
        await page.goto(url + "/region/Y60")
        await page.wait_for_selector(READY, timeout=20_000)
        before = json.loads(await tile.get_attribute("data-value") or "null")
    await page.wait_for_function(
        "() => document.getElementById('live-status').dataset.status === 'reconnecting'",
        timeout=15_000,
    )
    record = {
        "handover_id": "WHILE-AWAY",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": seed.iso(hub.now_ms - 60_000),
    }
    await seed.push(hub.api, "ambulance-handover", [record])
    await page.wait_for_timeout(1_500)
    assert json.loads(await tile.get_attribute("data-value") or "null") == before
    async with serving(hub, port):
        await page.wait_for_function(
            f'() => JSON.parse(document.querySelector("{WAITING}").dataset.value) === {before + 1}',
            timeout=20_000,
        )
        await page.wait_for_function(
            "() => document.getElementById('live-status').dataset.status === 'live'",
            timeout=10_000,
        )
