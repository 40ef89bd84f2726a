"""`hub up --scenario surge` in headless Chromium: the ambulance tiles go red while the queue builds.

The surge starts three hours before the simulator catches up with the real
clock (hub/simulation/scenarios.py), and `hub up` replays from an hour before
it (as fast as the hub takes records), so once caught up the national page is
three hours into it, with hours of it still to come. Until the feeds have caught up, waits look
longer than they are (a response not yet replayed is still "waiting"), so the
test first waits for every ambulance service's latest incident to be recent,
then for the Category 2 tile to turn red, and checks the figure behind it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser

from tests.e2e.test_hub_up import read_until
from tests.harness import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

TILE = ".hub-tile[data-metric='ambulance.c2.over_target_now']"
CAUGHT_UP_S = 15 * 60  # every service's latest incident at most this old


def caught_up(url: str) -> bool:
    """Say whether the simulator's incidents have reached the real clock.

    All but one ambulance service must have an incident from the last 15 minutes: the
    Isle of Wight's few an hour can leave a longer gap at night. And no feed's figures may be
    delayed: what was accepted must have been applied too.
    """
    body = httpx.get(f"{url}/v1/freshness", timeout=10).json()
    if any(feed["application"]["delayed"] for feed in body["feeds"].values()):
        return False  # workers behind (a busy machine): tiles say "figures delayed", no RAG
    rows = body["feeds"]["ambulance-incident"]["organisations"]
    now = time.time()
    recent = [
        r for r in rows
        if r["last_event_at"] and now - datetime.fromisoformat(r["last_event_at"]).timestamp() < CAUGHT_UP_S
    ]  # fmt: skip
    return len(rows) > 1 and len(recent) >= len(rows) - 1


def wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(2)
    raise AssertionError(f"{what} within {timeout:.0f} s")


async def test_in_a_surge_the_ambulance_tiles_go_red_while_the_queue_builds(
    browser: Browser, built_assets: None, tmp_path: Path, artifacts: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    log = tmp_path / "hub-up.log"
    argv = [sys.executable, "-m", "hub", "up", "--port", str(port), "--workers", "2",
            "--ephemeral", "--scenario", "surge"]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   cwd=tmp_path, start_new_session=True)  # fmt: skip
    try:
        _, found = read_until(log, process, r"Dashboard\s+(http://\S+)", timeout=180)
        url = found.group(1).rstrip("/")
        wait(lambda: caught_up(url), 720, "the simulated feeds did not catch up")
        context = await browser.new_context(viewport={"width": 1440, "height": 1000})
        page = await context.new_page()
        await page.goto(url + "/")
        try:
            await page.wait_for_selector(f"{TILE}.hub-tile--red", timeout=120_000)
        except Exception:
            shown = await page.text_content(TILE)
            figure = httpx.get(f"{url}/v1/metrics/national", timeout=10).json()["metrics"]
            raise AssertionError(
                f"C2 never red: the tile said {shown!r}; the API "
                f"{figure['ambulance.c2.over_target_now']}\n{log.read_text(errors='replace')[-3000:]}"
            ) from None
        national = httpx.get(f"{url}/v1/metrics/national", timeout=10).json()["metrics"]
        c2 = national["ambulance.c2.over_target_now"]
        assert c2["rag"] == "red" and c2["judged"]["value"] > c2["judged"]["red"]
        waiting = national["ambulance.c2.waiting_now"]["value"]
        assert c2["value"] > 0 and waiting >= c2["value"]
        label = await page.text_content(f"{TILE} .hub-tile__label")
        assert label == "Category 2 patients waiting past 40 min"
        (artifacts / "surge-national.txt").write_text(
            "\n".join(
                f"{m}: {national[m]}" for m in sorted(national) if m.startswith("ambulance.")
            ),
            encoding="utf-8",
        )
        await page.screenshot(path=artifacts / "surge-national.png", full_page=True)
        await context.close()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
