"""The dashboard in a real browser: two sessions' routers against fake backends, the page
in headless Chromium. Both rows show; switching one session from the page sends its next
request to the other fake; the live log grows; the spend plot is drawn; a stale session
is removed; "switch all" works from the keyboard; a backend's Check runs the live probe;
the page fits a narrow window and turns dark with the system.

Skipped (the reason is in pytest's summary) where Chromium or chromedriver is missing; CI
installs them and sets HOTSWAP_BROWSER_TESTS=required. The screenshot this test takes is
README's picture: `HOTSWAP_DASHBOARD_SCREENSHOT=docs/dashboard.png pytest
tests/e2e/test_dashboard_browser.py` writes it there (else it goes to a temporary folder).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from browser import Browser, need_browser
from dashboard_scene import (
    LiveSession,
    ask,
    register_stale,
    rows_in_ledger,
    scene_config,
    start_session,
    write_history,
)
from fakes import FakeUpstream
from hotswap.dashboard.app import RunningDashboard, start_dashboard
from hotswap.dashboard.spend import backend_color

SCREENSHOT_ENV = "HOTSWAP_DASHBOARD_SCREENSHOT"


def rgb(name: str) -> tuple[int, int, int]:
    """The colour of `name`'s bars: its own (dashboard/data.py's backend_color)."""
    color = backend_color(name)
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


VISIBLE_LOG_SESSIONS_JS = """
return [...document.querySelectorAll('#log-table tbody tr')]
  .filter(r => !r.hidden).map(r => r.cells[1].textContent);
"""
COLORED_PIXELS_JS = """
const canvas = document.querySelector('#cost-plot canvas');
if (!canvas) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let n = 0;
for (let i = 0; i < data.length; i += 4) {
  if (Math.abs(data[i] - arguments[0]) < 4 && Math.abs(data[i + 1] - arguments[1]) < 4
      && Math.abs(data[i + 2] - arguments[2]) < 4) n++;
}
return n;
"""


async def call(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def session_cells(b: Browser, sid: str) -> dict[str, str]:
    row = f'#sessions-table tr[data-id="{sid}"]'
    names = ("cwd", "backend", "requests", "cost", "note", "age")
    return {n: (b.texts(f"{row} td.{n}") or [""])[0] for n in names}


@dataclass
class Scene:
    b: Browser
    dash: RunningDashboard
    one: LiveSession  # a1b2
    two: LiveSession  # c3d4
    ant: FakeUpstream
    ds: FakeUpstream
    home: Path
    written: int  # exchanges in the ledger


async def test_the_dashboard_in_a_real_browser(
    home: Path, fakes: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    need_browser()
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-deepseek-test-key-0123456789")
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    config = scene_config(home, {"anthropic": ant.url, "deepseek": ds.url})
    history = write_history(home)
    one = await start_session(config, "a1b2", "/home/dev/api-server")
    two = await start_session(config, "c3d4", "/home/dev/web-app")
    register_stale(config, "9f0e", "/home/dev/old-spike")
    dash: RunningDashboard | None = None
    browser: Browser | None = None
    try:
        await ask(one)
        await ask(two)
        await rows_in_ledger(home, history + 2)
        dash = await start_dashboard(config, 0, dict(os.environ), poll_s=0.2)
        browser = await call(Browser)
        scene = Scene(browser, dash, one, two, ant, ds, home, history + 2)
        await _sessions_shown(scene)
        await _spend_drawn(scene)
        await _switch_one_from_the_page(scene)
        await _log_and_backends(scene)
        shot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "dashboard.png")
        await call(browser.screenshot, shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        await _remove_stale_and_switch_all(scene)
        await _check_a_backend(scene)
        await _narrow_and_dark(browser)
        assert await call(browser.console_errors) == []
    finally:
        if browser is not None:
            await call(browser.quit)
        if dash is not None:
            await dash.stop()
        await one.stop()
        await two.stop()


async def _sessions_shown(s: Scene) -> None:
    """Both live rows, on Anthropic, each with its request; the stale one marked."""
    b = s.b
    await call(b.open, s.dash.url)
    assert "token=" not in b.driver.current_url  # exchanged for the cookie
    await call(b.wait, lambda: len(b.find_all("#sessions-table tbody tr")) == 3, "3 rows")
    await call(b.wait, lambda: b.texts("#conn") == ["live"], "the event stream connects")
    first = await call(session_cells, b, "a1b2")
    assert first["cwd"] == "/home/dev/api-server" and first["backend"] == "anthropic"
    assert first["requests"] == "1" and "$" in first["cost"]
    assert (await call(session_cells, b, "c3d4"))["backend"] == "anthropic"
    stale = await call(b.find, '#sessions-table tr[data-id="9f0e"]')
    assert "stale" in stale.get_attribute("class") and "stale" in stale.text


async def _spend_drawn(s: Scene) -> None:
    """The plot drawn (each backend's bars in its own colour, the same after a reload),
    the tables filled; a day's cost in the table as `hotswap cost` writes it."""
    b = s.b
    for _ in range(2):
        await call(b.wait, lambda: b.js(COLORED_PIXELS_JS, *rgb("deepseek")) > 200, "deepseek")
        await call(b.wait, lambda: b.js(COLORED_PIXELS_JS, *rgb("anthropic")) > 50, "anthropic")
        await call(b.open, s.dash.url)
    await call(b.wait, lambda: b.texts("#conn") == ["live"], "the event stream connects again")
    assert len(await call(b.find_all, "#cost-table tbody tr")) >= 10
    assert "deepseek" in (await call(b.texts, "#cost-table thead th"))
    assert len(await call(b.find_all, "#cache-plot canvas")) == 1
    assert len(await call(b.find_all, "#cache-table tbody tr")) >= 10


async def _switch_one_from_the_page(s: Scene) -> None:
    """a1b2 to DeepSeek from its row: its mode file only; its next request goes there, and
    the log and the row show it."""
    b, log = s.b, "#log-table tbody tr"
    await call(b.wait, lambda: len(b.find_all(log)) >= 10, "the log's first rows")
    before = len(await call(b.find_all, log))
    await call(b.select, '#sessions-table tr[data-id="a1b2"] select', "deepseek")
    await call(lambda: b.find('#sessions-table tr[data-id="a1b2"] button').click())
    await call(b.wait, lambda: "-> deepseek" in b.texts("#action-message")[0], "switched")
    assert s.one.mode_file.read_text() == "deepseek\n"
    assert not s.two.mode_file.exists()
    sent = len(s.ant.received)
    await ask(s.one)
    assert len(s.ds.received) == 1 and len(s.ant.received) == sent
    await rows_in_ledger(s.home, s.written + 1)
    await call(b.wait, lambda: len(b.find_all(log)) == min(before + 1, 200), "the log grows")
    newest = await call(b.texts, "#log-table tbody tr:first-child td")
    assert newest[1:3] == ["a1b2", "deepseek"] and newest[4] == "200"
    await call(b.wait, lambda: session_cells(b, "a1b2")["backend"] == "deepseek", "the row")


async def _log_and_backends(s: Scene) -> None:
    """The log filtered by session; the backends' key state and last error."""
    b = s.b
    await call(b.select, "#filter-session", "c3d4")
    shown = await call(b.js, VISIBLE_LOG_SESSIONS_JS)
    assert shown == ["c3d4"]
    await call(b.select, "#filter-session", "")
    kimi_error = "#backends-table tr[data-backend=kimi] .last-error"
    await call(b.wait, lambda: "529" in b.texts(kimi_error)[0], "kimi's last error")
    keys = await call(b.texts, "#backends-table td")
    assert "DEEPSEEK_API_KEY set" in keys and not any("0123456789" in k for k in keys)


async def _remove_stale_and_switch_all(s: Scene) -> None:
    """The stale row removed from the page; "switch all" from the keyboard."""
    from selenium.webdriver.common.keys import Keys

    b, one, two, home = s.b, s.one, s.two, s.home
    await call(lambda: b.find('#sessions-table tr[data-id="9f0e"] button').click())
    await call(
        b.wait, lambda: not b.find_all('#sessions-table tr[data-id="9f0e"]'), "stale row gone"
    )
    assert not (home / "sessions" / "9f0e").exists()

    # Choose in the picker, Tab to the button, Enter.
    await call(b.select, "#all-backend", "anthropic")
    await call(lambda: b.find("#all-backend").send_keys(Keys.TAB))
    focused = await call(b.js, "return document.activeElement.textContent")
    assert focused == "Switch all"
    await call(lambda: b.driver.switch_to.active_element.send_keys(Keys.ENTER))
    await call(b.wait, lambda: "c3d4" in b.texts("#action-message")[0], "switch all's message")
    assert one.mode_file.read_text() == two.mode_file.read_text() == "anthropic\n"


async def _check_a_backend(s: Scene) -> None:
    """Check on DeepSeek's row: `doctor --live`'s probe reaches the fake, its line shows."""
    b, probes = s.b, len(s.ds.received)
    await call(lambda: b.find("#backends-table button.check[data-backend=deepseek]").click())
    result = "#backends-table tr[data-backend=deepseek] .check-result"
    await call(b.wait, lambda: b.texts(result)[0].startswith("ok 200"), "the check's result")
    assert len(s.ds.received) == probes + 1
    assert s.ds.received[-1].body["max_tokens"] == 1


async def _narrow_and_dark(b: Browser) -> None:
    await call(b.viewport, 400, 800)
    overflow = await call(
        b.js, "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0  # wide tables scroll in their own boxes, not the page
    await call(b.viewport, 1280, 900)
    await call(b.media, "dark")
    background = await call(b.js, "return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    await call(b.media, "light")
