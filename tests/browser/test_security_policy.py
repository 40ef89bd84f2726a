"""In a real browser the Content-Security-Policy is enforced: injected inline code does not run.

(Every other browser test also fails if its page trips the policy: see `page` in conftest.)
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.browser.conftest import SeededHub

pytestmark = pytest.mark.timeout(120)


async def test_an_injected_inline_script_is_blocked_and_reported(
    browser: Browser, hub: SeededHub
) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        await page.goto(f"{hub.api.url}/")
        ran = await page.evaluate(
            """() => {
                const s = document.createElement('script');
                s.textContent = 'window.injected = true';
                document.body.appendChild(s);
                return window.injected === true;
            }"""
        )
        await page.wait_for_timeout(200)  # let the console message arrive
    finally:
        await context.close()
    assert ran is False
    assert any("Content Security Policy" in line for line in console)
