"""Issue 15 in headless Chromium: acknowledging an alert and writing a note round-trip through
the API to every screen; the wall fits one 1920×1080 screen; tables and charts download."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import SeededHub

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

READY = "body[data-ready=true]"
WALL = (1920, 1080)
# Every visible element's box, so a test can say which one leaves the screen.
BOXES = """() => [...document.querySelectorAll("body *")].filter((e) => {
  const s = getComputedStyle(e);
  return s.display !== "none" && s.visibility !== "hidden" && e.getClientRects().length
    && !e.closest(".nhsuk-u-visually-hidden, .nhsuk-skip-link");
}).map((e) => { const r = e.getBoundingClientRect();
  return { what: `${e.tagName}.${e.className}`.slice(0, 60), bottom: r.bottom, right: r.right }; })"""


async def named_viewer(hub: SeededHub, name: str) -> str:
    async with hub.api.client(hub.api.settings.admin_token) as c:
        r = await c.post("/v1/admin/tokens", json={"org": "RX9", "role": "viewer", "name": name,
                                                   "job_role": "Regional on-call"})  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


async def show_all(page: Page) -> None:
    more = page.locator(".hub-alerts__more")
    if await more.count() and (await more.inner_text()).startswith("Show all"):
        await more.click()


async def desk(browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-GB",
                                        accept_downloads=True)  # fmt: skip
    return await context.new_page()


async def test_an_acknowledgement_made_on_one_screen_shows_on_another_without_reload(
    page: Page, browser: Browser, hub: SeededHub, artifacts: Path
) -> None:
    token = await named_viewer(hub, "Jo Bloggs")
    other = await desk(browser)
    try:
        for p in (page, other):
            await p.goto(hub.api.url + "/")
            await p.wait_for_selector(".hub-alert", timeout=20_000)
        first = page.locator(".hub-alert").first
        alert_id = await first.get_attribute("data-alert")
        assert alert_id
        await first.locator(".hub-alert__ack-button").click()
        form = page.locator(f'[data-alert="{alert_id}"] form')
        await form.locator("input[type=password]").fill(token)
        await form.locator("textarea").fill("HALO on site; divert agreed")
        await form.locator("button[type=submit]").click()
        # Acknowledged alerts go to the end of the list, which may be folded: unfold it.
        for p in (page, other):
            await p.wait_for_function(
                "() => !document.querySelector('.hub-alerts__more') || "
                "document.querySelector('.hub-alerts__more').textContent.startsWith('Show all')"
            )
        await show_all(page)
        mine = page.locator(f'[data-alert="{alert_id}"] .hub-alert__ack')
        await mine.wait_for(timeout=10_000)
        assert "Jo Bloggs (Regional on-call)" in await mine.inner_text()
        await other.evaluate("window.__notReloaded = true")
        await show_all(other)
        theirs = other.locator(f'[data-alert="{alert_id}"] .hub-alert__ack')
        await theirs.wait_for(timeout=15_000)  # pushed by the alerts stream
        assert "HALO on site; divert agreed" in await theirs.inner_text()
        assert await other.evaluate("window.__notReloaded === true")
        async with hub.api.client() as c:
            status = (await c.get(f"/v1/alerts/{alert_id}/ack")).json()
        assert status["ack"]["by"] == "Jo Bloggs"
        assert status["ack"]["note"] == "HALO on site; divert agreed"
        await page.screenshot(path=artifacts / "alert-acknowledged.png", full_page=True)
    finally:
        await other.context.close()


async def test_a_note_written_on_a_chart_marks_the_chart_and_shows_on_the_tile(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    token = await named_viewer(hub, "Sam Patel")
    await page.goto(hub.api.url + "/trend/ed.four_hour_pct/region/Y60")
    await page.wait_for_selector(".hub-trend__chart canvas", timeout=20_000)
    notes = page.locator(".hub-trend__notes")
    await notes.locator("input[type=password]").fill(token)
    await notes.locator("textarea").fill("ED IT outage 14:00–15:30")
    await notes.locator("button[type=submit]").click()
    await notes.locator(".hub-note").first.wait_for(timeout=10_000)
    assert "ED IT outage 14:00–15:30 — Sam Patel" in await notes.inner_text()
    await page.wait_for_function(
        "() => document.querySelector('.hub-trend__chart').dataset.notes === '1'", timeout=10_000
    )
    await page.screenshot(path=artifacts / "trend-with-note.png", full_page=True)
    async with hub.api.client() as c:
        found = (await c.get("/v1/annotations", params={"scope": "region/Y60"})).json()
    assert [n["text"] for n in found["annotations"]] == ["ED IT outage 14:00–15:30"]
    await page.goto(hub.api.url + "/region/Y60")
    tile = page.locator('.hub-tile[data-metric="ed.four_hour_pct"] .hub-tile__notes')
    await tile.wait_for(timeout=20_000)
    assert "ED IT outage" in await tile.inner_text() and "Sam Patel" in await tile.inner_text()


@pytest.mark.parametrize("path", ["/?wall=1&cycle=0", "/region/Y60?wall=1&cycle=0"])
async def test_the_wall_fits_one_1920_by_1080_screen_without_scrolling(
    page: Page, hub: SeededHub, artifacts: Path, path: str
) -> None:
    await page.set_viewport_size({"width": WALL[0], "height": WALL[1]})
    await page.goto(hub.api.url + path)
    await page.wait_for_selector(READY, timeout=20_000)
    await page.wait_for_selector(".hub-tile__spc .hub-spc", timeout=20_000)
    await page.wait_for_selector(".hub-alerts__summary", timeout=20_000)
    await page.wait_for_function(
        "() => document.querySelector('.hub-wall__feeds').textContent.startsWith('Feeds live')",
        timeout=20_000,
    )
    name = "wall-screen-" + ("national" if path.startswith("/?") else "region")
    await page.screenshot(path=artifacts / f"{name}.png")
    boxes: list[dict[str, Any]] = await page.evaluate(BOXES)
    below = [b for b in boxes if b["bottom"] > WALL[1] + 0.5 or b["right"] > WALL[0] + 0.5]
    assert below == [], below[:5]
    assert await page.evaluate("document.documentElement.scrollHeight") <= WALL[1]
    assert len(await page.locator(".hub-tile").all()) == 8  # fewer, larger figures
    assert re.fullmatch(r"\d\d:\d\d:\d\d", await page.locator(".hub-wall__clock").inner_text())
    await page.wait_for_function(
        "() => document.querySelector('.hub-wall__age').textContent.startsWith('Figures as of')",
        timeout=10_000,
    )


def parse(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_a_table_downloads_as_csv_with_the_apis_figures_and_a_chart_as_png(
    browser: Browser, hub: SeededHub
) -> None:
    page = await desk(browser)
    try:
        await page.goto(hub.api.url + "/")
        await page.wait_for_selector('tr[data-scope="region/Y60"] td[data-value]', timeout=20_000)
        async with page.expect_download() as info:
            await page.locator('button[data-table="region"]').click()
        rows = parse(Path(await (await info.value).path()).read_bytes())
        assert len(rows) == 7
        async with hub.api.client() as c:
            for row in rows:
                metrics = (await c.get(f"/v1/metrics/{row['scope']}")).json()["metrics"]
                for column, text in row.items():
                    if ":" not in column or column.endswith(":rag"):
                        continue
                    metric, window = column.split(":")
                    entry = metrics[metric]
                    want = entry["value"] if window == "value" else entry["windows"][window]
                    assert (text == "" and want is None) or float(text) == pytest.approx(want)
                    assert row[f"{metric}:rag"] == entry["rag"]
        await page.goto(hub.api.url + "/trend/handover.mean_minutes/national")
        await page.wait_for_selector(".hub-trend__chart canvas", timeout=20_000)
        async with page.expect_download() as info:
            await page.get_by_role("button", name="Download chart (PNG)").click()
        png = Path(await (await info.value).path()).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    finally:
        await page.context.close()
