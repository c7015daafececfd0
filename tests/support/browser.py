"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium, for the
dashboard's tests. Synchronous: async tests call its methods through asyncio.to_thread, so
the routers and the dashboard on the test's event loop keep serving meanwhile.

The browser is kept off every network but loopback: no proxy, no background requests, and
a host resolver that finds no name at all (the page is opened by its 127.0.0.1 address).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
REQUIRED_ENV = "HOTSWAP_BROWSER_TESTS"  # `required` (CI): a missing browser fails, not skips
WAIT_S = 20.0
_ARGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--lang=en-US",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
    "--window-size=1280,900",
)


def availability() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM is None:
        return "Chromium not found (apt-get install chromium chromium-driver)"
    if DRIVER is None:
        return "chromedriver not found (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    return None


def need_browser() -> None:
    reason = availability()
    if reason is None:
        return
    reason = f"dashboard browser tests: {reason}"
    if os.environ.get(REQUIRED_ENV) == "required":
        pytest.fail(f"{reason}, and {REQUIRED_ENV}=required")
    pytest.skip(reason)


class Browser:
    """One headless Chromium window."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager: never phone home
        options = webdriver.ChromeOptions()
        assert CHROMIUM is not None and DRIVER is not None
        options.binary_location = CHROMIUM
        for arg in _ARGS:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(DRIVER), options=options)

    def quit(self) -> None:
        self.driver.quit()

    def open(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, what: Callable[[], Any], message: str, timeout_s: float = WAIT_S) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout_s, poll_frequency=0.05).until(
            lambda _: what(), message
        )

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def texts(self, css: str) -> list[str]:
        return [str(t) for t in self.js(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim())",
            css,
        )]  # fmt: skip

    def select(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def console_errors(self) -> list[str]:
        return [str(e["message"]) for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def media(self, scheme: str) -> None:
        """prefers-color-scheme: `light` or `dark`."""
        features = [{"name": "prefers-color-scheme", "value": scheme}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})

    def viewport(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(self, path: Path, width: int = 1280) -> None:
        """The whole page at `width` CSS pixels (nothing focused)."""
        self.js("document.activeElement && document.activeElement.blur()")
        self.viewport(width, 900)
        height = int(self.js("return document.documentElement.scrollHeight"))
        self.viewport(width, height)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.driver.get_screenshot_as_png())
        self.viewport(width, 900)
