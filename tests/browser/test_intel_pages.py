"""The OPEL, league and forecast screens in headless Chromium, on a hub seeded with every feed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page
from prometheus_client import CollectorRegistry

from hub.bootstrap import build
from tests.browser import seed
from tests.browser.conftest import REQUESTS, SeededHub
from tests.harness import caught_up

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

READY = "body[data-ready=true]"
HOUR = 3_600_000


async def load(page: Page, hub: SeededHub, path: str) -> None:
    await page.goto(hub.api.url + path)
    await page.wait_for_selector(READY, timeout=20_000)


async def api(hub: SeededHub, path: str, **params: str) -> Any:
    async with hub.api.client() as c:
        r = await c.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_acute_trust_shows_computed_beside_declared_opel_and_its_parameter_page(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    trust = next(r["trust"] for r in hub.records["acute-sitrep"])
    body = await api(hub, f"/v1/opel/org/{trust}")
    await load(page, hub, f"/org/{trust}")
    tile = page.locator(".hub-opel-tile .hub-tile__value")
    await tile.filter(has_text="computed").wait_for(timeout=20_000)
    text = await tile.text_content()
    computed = f"OPEL {body['level']}" if body["level"] else "no level"
    assert text is not None and text.startswith(
        f"computed {computed} · declared OPEL {body['declared']['level']}"
    )
    await page.click(".hub-opel-tile a")
    await page.wait_for_selector("table.hub-opel-params tbody tr", timeout=20_000)
    rows = await page.eval_on_selector_all(
        "table.hub-opel-params tbody tr[data-parameter]", "rows => rows.map(r => [r.dataset.parameter, r.cells[1].textContent, r.cells[3].textContent, r.cells[4].textContent, r.cells[6].textContent])"
    )  # fmt: skip
    assert [r[0] for r in rows] == [p["name"] for p in body["parameters"]]
    for (name, value, points, share, counted), p in zip(rows, body["parameters"], strict=True):
        assert (value == "not reported") == (p["value"] is None), name
        assert points == (f"{p['points']} × {p['weight']:g}" if p["points"] else "–"), name
        assert share == ("–" if p["contribution"] is None else f"{p['contribution']:.3f}"), name
        assert counted == ("Yes" if p["status"] == "counted" else f"No: {p['reason']}"), name
    total = page.locator("table.hub-opel-params .hub-opel-params__total td").nth(3)
    if body["score"] is not None:
        assert await total.text_content() == f"{body['score']:.3f}"
        contributions = [p["contribution"] for p in body["parameters"] if p["contribution"]]
        assert round(sum(contributions), 3) == body["score"]
    await page.screenshot(path=artifacts / "opel-page.png", full_page=True)


async def test_the_funnel_plot_labels_every_organisation_and_names_outliers_without_ranks(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    body = await api(hub, "/v1/league", metric="nhs111.answered_within_60s_pct", window="24h")
    await load(page, hub, "/league/nhs111.answered_within_60s_pct?window=24h")
    await page.wait_for_selector(".hub-league__chart canvas", timeout=20_000)
    assert await page.get_attribute(".hub-league__chart", "data-units") == str(len(body["units"]))
    codes = await page.eval_on_selector_all(
        "table.hub-league-units tbody tr", "rows => rows.map(r => r.dataset.code)"
    )
    assert codes == [u["code"] for u in body["units"]]  # by name, as the API lists them
    outliers = await page.eval_on_selector_all(
        ".hub-league__outlier", "items => items.map(i => i.dataset.code)"
    )
    assert outliers == [u["code"] for u in body["units"] if u["flag"] != "within"]
    for code in outliers:
        href = await page.get_attribute(f'.hub-league__outlier[data-code="{code}"] a', "href")
        assert href == f"/trend/nhs111.answered_within_60s_pct/org/{code}"
    headers = await page.eval_on_selector_all(
        "table.hub-league-units th", "hs => hs.map(h => h.textContent)"
    )
    assert headers == [
        "Organisation",
        "Value",
        "Numerator / denominator",
        "99.8% limits",
        "Against the limits",
        "Unadjusted 99.8% limits",
        "Against the unadjusted",
    ]
    marked = await page.eval_on_selector_all(
        ".hub-league__marked", "items => items.map(i => i.dataset.code)"
    )
    assert marked == [u["code"] for u in body["units"] if u["marked"]]
    dispersion = await page.text_content(".hub-league__dispersion")
    phi, tau2 = body["overdispersion"]["phi"], body["overdispersion"]["tau2"]
    assert dispersion is not None and f"φ = {phi:.2f}" in dispersion and "τ² = " in dispersion
    shown_tau2 = await page.get_attribute(".hub-league__dispersion", "data-tau2")
    assert shown_tau2 is not None and float(shown_tau2) == pytest.approx(tau2)
    await page.screenshot(path=artifacts / "league-page.png", full_page=True)
    assert all(url.startswith(hub.api.url) for url in REQUESTS[page]), "a request left the hub"


async def test_the_trend_chart_shows_the_forecast_band_and_the_tile_the_next_four_hours(
    page: Page, hub: SeededHub, artifacts: Path
) -> None:
    # Two more days of A&E arrivals at one trust, so its forecast has history to stand on.
    trust = next(r["trust"] for r in hub.records["acute-sitrep"])
    site = next(r["site"] for r in hub.records["ed-attendance"] if r["trust"] == trust)
    current, rng = hub.now_ms // HOUR, random.Random(8)
    extra = [
        {"attendance_id": f"X{h}-{k}", "trust": trust, "site": site, "department_type": 1,
         "arrival_mode": "walk_in", "arrived_at": seed.iso(h * HOUR + rng.randrange(HOUR))}
        for h in range(current - 72, current - 24) for k in range(2 + (h % 24) // 6)
    ]  # fmt: skip
    await seed.push(hub.api, "ed-attendance", extra)
    await caught_up(hub.api.settings)
    services = build(hub.api.settings, CollectorRegistry(), clock_ms=lambda: hub.now_ms)
    try:
        assert await services.forecasts.refresh() > 0
    finally:
        await services.close()
    forecast = await api(hub, "/v1/forecast", metric="ed.arrivals", scope=f"org/{trust}")
    await load(page, hub, f"/trend/ed.arrivals/org/{trust}")
    await page.wait_for_selector(".hub-trend__forecast canvas", timeout=20_000)
    assert await page.get_attribute(".hub-trend__forecast", "data-method") == forecast["method"]
    accuracy = await page.inner_text(".hub-trend__accuracy")
    assert f"{forecast['accuracy']['mase']:.2f}" in accuracy
    await page.screenshot(path=artifacts / "trend-forecast.png", full_page=True)

    await load(page, hub, f"/org/{trust}")
    line = page.locator('.hub-tile[data-metric="ed.arrivals"] .hub-tile__forecast')
    await line.filter(has_text="next 4 h").wait_for(timeout=20_000)
    four = next(t for t in forecast["totals"] if t["hours"] == 4)
    n = lambda v: f"{round(v):,}"  # noqa: E731
    assert await line.text_content() == (
        f"next 4 h: expected {n(four['mean'])} (range {n(four['lower80'])}–{n(four['upper80'])})"
    )
