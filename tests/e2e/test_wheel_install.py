"""The package installs whole: a wheel built from the repository, installed into a clean venv,
runs `hub up`, and the dashboard renders in a browser — assets and default config included."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.browser.conftest import ARGS, chromium_or_skip
from tests.conftest import ROOT
from tests.e2e.test_hub_up import read_until
from tests.harness import free_port

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow, pytest.mark.browser]

# What a copy of the checkout leaves out: local environments, caches and earlier builds.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "node_modules", "__pycache__",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "test-artifacts", ".hub-data",
)  # fmt: skip


def build_wheel(out: Path) -> Path:
    """Build the wheel from a clean copy of the tree, so no earlier build/ leaks into it."""
    source = out / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = out.glob("uec_hub-*.whl")
    return wheel


def test_the_wheel_carries_the_dashboard_assets_and_the_default_config(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    assert "hub/api/static/vendor/nhsuk/nhsuk-frontend.min.css" in names
    assert "hub/api/static/vendor/uplot/uPlot.esm.js" in names
    assert {"hub/defaults/organisations.toml", "hub/defaults/thresholds.toml"} <= names
    assert "streams/host.py" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


async def test_a_wheel_in_a_clean_venv_runs_hub_up_and_the_dashboard_renders(
    tmp_path: Path,
) -> None:
    chromium = chromium_or_skip()
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    lock = str(ROOT / "requirements" / "run.txt")
    subprocess.run([*pip, "--require-hashes", "-r", lock], check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, timeout=120)

    run_dir = tmp_path / "elsewhere"  # no config/ here: the wheel's defaults must be used
    run_dir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    log = tmp_path / "hub-up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(venv / "bin" / "hub"), "up", "--port", str(port), "--workers", "1",
             "--no-simulator"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=run_dir, start_new_session=True,
        )  # fmt: skip
    try:
        _, found = read_until(log, process, r"Dashboard\s+(http://\S+)", timeout=180)
        url = found.group(1).rstrip("/")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=ARGS)
            page = await browser.new_page(viewport={"width": 1440, "height": 1000})
            await page.goto(url + "/")
            await page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            tiles = await page.locator(".hub-tile").count()
            stylesheet = await page.evaluate(
                "[...document.styleSheets].some(s => (s.href || '').includes('nhsuk-frontend'))"
            )
            await browser.close()
        assert tiles > 0 and stylesheet
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert not re.search(r"assets missing", log.read_text(errors="replace"))
