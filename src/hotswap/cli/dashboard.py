"""`hotswap dashboard`: the live page (hotswap/dashboard/, imported only when it runs)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hotswap.cli.output import CONFIG_FIX, CONFIG_OPTION, fail
from hotswap.errors import HotswapError

if TYPE_CHECKING:
    from hotswap.config.loading import Config

DASHBOARD_EXAMPLES = """\b
Examples:
  hotswap dashboard                     a free port; opens the page in your browser
  hotswap dashboard --port 8765 --no-open    print the URL only
"""
PORT_FIX = "choose another --port, or leave it out to take a free one"


@click.command("dashboard", epilog=DASHBOARD_EXAMPLES)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1 (0: a free one)."
)
@click.option("--no-open", is_flag=True, help="Only print the URL; open no browser.")
@CONFIG_OPTION
def dashboard_command(port: int, no_open: bool, config_path: Path | None) -> None:
    """Every session, its backend and its spend on one live page, served on 127.0.0.1.

    Prints the page's URL (with its token) and opens it in the default browser; Ctrl-C
    stops it. Sessions can be switched from the page, as `hotswap use` does.
    """
    from hotswap.config.loading import load_config

    try:
        config = load_config(config_path)
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)
    try:
        asyncio.run(_serve(config, port, not no_open))
    except KeyboardInterrupt:
        return
    except OSError as exc:
        fail(f"cannot serve the dashboard on 127.0.0.1:{port}: {exc.strerror or exc}", PORT_FIX)


async def _serve(config: Config, port: int, open_browser: bool) -> None:
    from hotswap.dashboard.app import start_dashboard

    running = await start_dashboard(config, port, os.environ)
    click.echo(f"hotswap dashboard: {running.url}")
    click.echo("  (the token in the URL is the key to the page; Ctrl-C stops it)")
    try:
        if open_browser and not await asyncio.to_thread(open_page, running.url):
            click.echo("  (no browser could be started here: open the URL above)")
        await asyncio.Event().wait()
    finally:
        await running.stop()


def open_page(url: str) -> bool:
    """Python's webbrowser, where a graphical one can run: on Linux without a display,
    webbrowser would start a text browser (lynx, w3m) in this very terminal."""
    import os
    import sys
    import webbrowser

    graphical = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    if sys.platform.startswith("linux") and not any(os.environ.get(v) for v in graphical):
        return False
    return webbrowser.open(url)
