"""The conformance matrix through a real router: every recorded Claude Code request shape x
every strict backend emulator (x who produced the history's thinking), and mid-conversation
switch sequences. No cell may be refused. docs/compatibility.md must be current.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

import emulators as emu
import gen_compat
from conftest import MakeRouter, Router
from hotswap.config.backends import PRESETS
from hotswap.rules.rewrite import request_changes
from hotswap.rules.thinking import ThinkingOrigins

SHAPES = emu.load_shapes()
KEYS = {PRESETS[b].api_key_env: f"key-{b}" for b in emu.BACKENDS if PRESETS[b].api_key_env}
Start = Callable[[], Awaitable[tuple[Router, dict[str, emu.Emulator]]]]


@pytest.fixture
async def start(make_router: MakeRouter) -> AsyncIterator[Start]:
    """A router whose presets all point at strict emulators."""
    started: list[emu.Emulator] = []

    async def make() -> tuple[Router, dict[str, emu.Emulator]]:
        emus = {b: await emu.Emulator(b).start() for b in emu.BACKENDS}
        started.extend(emus.values())
        urls = {b: e.url for b, e in emus.items()}
        router = await make_router(urls, mode="anthropic", env={k: v for k, v in KEYS.items() if k})
        return router, emus

    yield make
    for e in started:
        await e.stop()


async def post(router: Router, shape: dict[str, Any], body: dict[str, Any]) -> tuple[int, bytes]:
    headers = {**shape["headers"], "x-api-key": "sk-ant-client", "content-type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{router.url}/v1/messages?beta=true", data=json.dumps(body), headers=headers
        ) as resp,
    ):
        return resp.status, await resp.read()


CELLS = [
    (name, backend, origin)
    for name, shape in SHAPES.items()
    for backend in emu.BACKENDS
    for origin in emu.origins_for(shape, backend)
]


@pytest.mark.parametrize(
    ("shape_name", "backend", "origin"),
    CELLS,
    ids=[f"{s}-{b}-{o or 'unknown'}" for s, b, o in CELLS],
)
async def test_cell(start: Start, shape_name: str, backend: str, origin: str | None) -> None:
    router, emus = await start()
    shape = SHAPES[shape_name]
    router.mode_file.write_text(backend + "\n")
    body = emu.with_origin(shape["body"], origin)
    if origin:
        router.state.thinking.record(origin, emu.thinking_keys(body))
    status, answer = await post(router, shape, body)
    target = emus[backend]
    assert [r.message for r in target.rejections] == []
    assert status == 200, answer[:500]
    assert len(target.received) == 1
    assert all(not e.received for name, e in emus.items() if name != backend)
    expected = copy.deepcopy(body)
    registry = ThinkingOrigins()
    registry.record(origin or "nobody", emu.thinking_keys(body) if origin else [])
    request_changes(expected, PRESETS[backend], registry.origin)
    assert target.received[0].body == expected  # the router sends what the docs describe
    if body.get("stream"):
        assert emu.collect_stream(answer)["role"] == "assistant"


def test_the_emulators_refuse_claude_codes_raw_requests() -> None:
    """Without the rewrite the matrix would not be all green: the emulators bite."""
    refused = {
        backend
        for shape in SHAPES.values()
        for backend in emu.BACKENDS
        for origin in emu.origins_for(shape, backend)
        if emu.check(backend, emu.with_origin(shape["body"], origin)) is not None
    }
    assert refused == set(emu.BACKENDS) - set(emu.ACCEPT_RAW)


@pytest.mark.parametrize("sequence", emu.SEQUENCES, ids=["-".join(s) for s in emu.SEQUENCES])
async def test_switch_sequence(start: Start, sequence: tuple[str, ...]) -> None:
    router, emus = await start()
    template = emu.sequence_template(SHAPES)
    expected_own = [s.kept_own for s in emu.run_sequence(template, sequence)]
    history = list(template["messages"])
    for n, backend in enumerate(sequence):
        last = n == len(sequence) - 1
        router.mode_file.write_text(backend + "\n")
        emus[backend].turns.append(
            [{"type": "text", "text": "Done."}] if last else emu.tool_turn(n)
        )
        status, answer = await post(router, SHAPES["tool_loop"], {**template, "messages": history})
        assert status == 200, f"step {n + 1} ({backend}): {answer[:400]!r}"
        assert emus[backend].rejections == []
        sent = emus[backend].received[-1].body
        assert emu.own_blocks(backend, sent) == expected_own[n], f"step {n + 1} ({backend})"
        message = emu.collect_stream(answer)
        history = emu.append_turn(history, message, n, last)
    assert sum(len(e.received) for e in emus.values()) == len(sequence)


def test_returning_to_anthropic_keeps_its_own_thinking_verbatim() -> None:
    """Anthropic's blocks survive a DeepSeek detour byte for byte (its prompt cache too)."""
    template = emu.sequence_template(SHAPES)
    steps = emu.run_sequence(template, ("anthropic", "deepseek", "anthropic"))
    assert [s.rejection for s in steps] == [None, None, None]
    assert steps[2].kept_own == 2  # its thinking and redacted_thinking from step 1


def test_compatibility_doc_is_current() -> None:
    assert gen_compat.DOC.read_text() == gen_compat.render(), (
        "docs/compatibility.md is stale: run `python tests/gen_compat.py`"
    )
