"""`hotswap dashboard`: the live page (hotswap/dashboard/, imported only when it runs)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hotswap.cli.output import CONFIG_FIX, CONFIG_OPTION, fail
from hotswap.errors import HotswapError

if TYPE_CHECKING:
    from hotswap.config.loading import Config
    from hotswap.dashboard.app import RunningDashboard

DASHBOARD_EXAMPLES = """\b
Examples:
  hotswap dashboard                     a free port; opens the page in your browser
  hotswap dashboard --port 8765 --no-open    print the URL only
  hotswap dashboard --database postgresql:///hotswap    a team gateway's users
"""
PORT_FIX = "choose another --port, or leave it out to take a free one"
DATABASE_FIX = "check the URL (postgresql://USER@HOST/DB) and that PostgreSQL is running"


@click.command("dashboard", epilog=DASHBOARD_EXAMPLES)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1 (0: a free one)."
)
@click.option("--no-open", is_flag=True, help="Only print the URL; open no browser.")
@click.option(
    "--database",
    metavar="URL",
    help="A team gateway's PostgreSQL ledger: one row per user (docs/gateway.md).",
)
@CONFIG_OPTION
def dashboard_command(
    port: int, no_open: bool, database: str | None, config_path: Path | None
) -> None:
    """Every session, its backend and its spend on one live page, served on 127.0.0.1.

    Prints the page's URL (with its token) and opens it in the default browser; Ctrl-C
    stops it. Sessions can be switched from the page, as `hotswap use` does. With
    --database, the team gateway's users instead: each one's requests, cost and savings.
    """
    from hotswap.config.loading import load_config

    if database:
        _serve_or_fail(_serve_team(database, port, not no_open), port)
        return

    try:
        config = load_config(config_path)
    except HotswapError as exc:
        fail(str(exc), CONFIG_FIX)
    _serve_or_fail(_serve(config, port, not no_open), port)


def _serve_or_fail(serving: Coroutine[Any, Any, None], port: int) -> None:
    try:
        asyncio.run(serving)
    except KeyboardInterrupt:
        return
    except OSError as exc:
        fail(f"cannot serve the dashboard on 127.0.0.1:{port}: {exc.strerror or exc}", PORT_FIX)
    except HotswapError as exc:  # the team view's database (DatabaseError)
        fail(str(exc), DATABASE_FIX)


async def _serve(config: Config, port: int, open_browser: bool) -> None:
    from hotswap.dashboard.app import start_dashboard

    await _show(await start_dashboard(config, port, os.environ), open_browser)


async def _serve_team(database: str, port: int, open_browser: bool) -> None:
    try:
        from hotswap.dashboard.team import start_team_view
    except ImportError:
        fail("the team view needs the gateway extra", "pip install 'hotswap[gateway]'")
    await _show(await start_team_view(database, port), open_browser)


async def _show(running: RunningDashboard, open_browser: bool) -> None:
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
