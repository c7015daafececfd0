"""Shared fixtures: a private HOTSWAP_HOME per test, fake backends, routers on 127.0.0.1:0.

Tests live in three tiers, each marked by its folder (`pytest -m unit`, `-m "not e2e"`):
tests/unit (pure functions), tests/integration (the router through real sockets, fake
backends), tests/e2e (the installed commands and the real Claude Code CLI). What they
share is in tests/support (fakes, clients, generated bodies, Claude Code's environment).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakes import FakeUpstream
from hotswap.body import BodyCaches
from hotswap.config.backends import PRESETS
from hotswap.config.loading import Config, load_config
from hotswap.router.app import Guard, RunningRouter, start_router
from hotswap.router.state import RouterState

_SCRUB = (
    "HOTSWAP_HOME",
    "HOTSWAP_CONFIG",
    "HOTSWAP_SESSION",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "FIREWORKS_API_KEY",
    *sorted({b.api_key_env for b in PRESETS.values() if b.api_key_env}),
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state directory; no real keys or proxies leak into a test."""
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "hotswap-home"
    state.mkdir()
    monkeypatch.setenv("HOTSWAP_HOME", str(state))
    return state


def backends_toml(urls: dict[str, str], extra: str = "") -> str:
    """config.toml text pointing presets (by name) at fake servers."""
    lines = []
    for name, url in urls.items():
        lines += [f"[backends.{name}]", f'base_url = "{url}"', ""]
    return "\n".join(lines) + "\n" + extra


@dataclass
class Router:
    running: RunningRouter
    state: RouterState
    config: Config

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.port}"

    @property
    def mode_file(self) -> Path:
        return self.state.mode_file


MakeRouter = Callable[..., Awaitable[Router]]


@pytest.fixture
async def fakes() -> AsyncIterator[Callable[[str], Awaitable[FakeUpstream]]]:
    started: list[FakeUpstream] = []

    async def make(name: str = "fake") -> FakeUpstream:
        fake = await FakeUpstream(name).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        await fake.stop()


@pytest.fixture
async def make_router(home: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MakeRouter]:
    """Start a router whose presets point at the given fakes:
    `await make_router({"anthropic": fake.url}, mode="deepseek", env={...})`."""
    started: list[RunningRouter] = []

    async def make(
        urls: dict[str, str],
        *,
        mode: str | None = None,
        env: dict[str, str] | None = None,
        extra_toml: str = "",
        secret: str | None = None,
        initial: str = "anthropic",
        transient: bool = False,
    ) -> Router:
        if transient:  # transient faults may cross to the next backend ([router])
            line = "transient_fallback = true\n"
            if "[router]\n" in extra_toml:
                extra_toml = extra_toml.replace("[router]\n", "[router]\n" + line, 1)
            else:
                extra_toml += "\n[router]\n" + line
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        (home / "config.toml").write_text(backends_toml(urls, extra_toml))
        config = load_config()
        mode_file = home / "mode"
        if mode is not None:
            mode_file.write_text(mode + "\n")
        state = RouterState(config=config, mode_file=mode_file, initial_backend=initial)
        running = await start_router(state, "127.0.0.1", 0, Guard(secret=secret))
        started.append(running)
        return Router(running, state, config)

    yield make
    for running in started:
        await running.stop()


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Berlin's (DST ends 2026-10-25 03:00 -> 02:00, starts 2026-03-29): the
    budgets' periods and the dashboard's days are local."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def caches() -> BodyCaches:
    """A router's body caches, fresh for each test (RouterState owns one per router)."""
    return BodyCaches()


TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from the folder it lives in."""
    for item in items:
        tier = item.path.parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_report_header() -> str:
    """Whether the dashboard's browser tests run here (a skip says why in the summary)."""
    from browser import CHROMIUM, availability

    reason = availability()
    if reason is None:
        return f"dashboard browser tests: headless {CHROMIUM}"
    return f"dashboard browser tests: SKIPPED, {reason}"
