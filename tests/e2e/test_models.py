"""Model discovery: `GET /v1/models` on the router, `hotswap models`,
list_models_with_source(), and what the real Claude Code does with the list."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from claude_env import BIN, hotswap_run_claude, needs_claude
from conftest import MakeRouter
from fakes import FakeUpstream, ThreadedFake, json_reply, sse_message
from hotswap.config.backends import PRESETS
from hotswap.config.loading import KeyRing
from hotswap.router.models import (
    EPOCH,
    from_list,
    from_model_map,
    from_ollama_tags,
    list_models_with_source,
    model_page,
)

QWEN = {"name": "qwen3-coder:30b", "model": "qwen3-coder:30b"}
TAGS = {
    "models": [
        {**QWEN, "modified_at": "2026-10-01T10:00:00Z"},
        {"name": "claude-sonnet-local", "model": "claude-sonnet-local", "modified_at": ""},
    ]
}


def test_an_openai_list_in_anthropic_terms() -> None:
    data = {"object": "list", "data": [{"id": "gpt-5", "object": "model", "created": 0}]}
    data["data"].append({"id": "gpt-5-mini", "object": "model", "created": 1_700_000_000})
    assert from_list(data) == [
        {"type": "model", "id": "gpt-5", "display_name": "gpt-5", "created_at": EPOCH},
        {
            "type": "model",
            "id": "gpt-5-mini",
            "display_name": "gpt-5-mini",
            "created_at": "2023-11-14T22:13:20Z",
        },
    ]


def test_an_anthropic_list_stays_as_it_is() -> None:
    item = {
        "type": "model",
        "id": "claude-opus-5-5",
        "display_name": "Claude Opus 5.5",
        "created_at": "2026-09-01T00:00:00Z",
    }
    assert from_list({"data": [item], "has_more": False}) == [item]


def test_ollama_tags_and_the_page_envelope() -> None:
    models = from_ollama_tags(TAGS)
    assert [m["id"] for m in models] == ["qwen3-coder:30b", "claude-sonnet-local"]
    assert models[0]["created_at"] == "2026-10-01T10:00:00Z" and models[1]["created_at"] == EPOCH
    page = model_page(models)
    assert page["has_more"] is False
    assert (page["first_id"], page["last_id"]) == ("qwen3-coder:30b", "claude-sonnet-local")
    assert model_page([]) == {"data": [], "has_more": False, "first_id": None, "last_id": None}


@pytest.mark.parametrize("bad", [{}, {"data": "x"}, [], None])
def test_what_is_not_a_list_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        from_list(bad)
    with pytest.raises(ValueError):
        from_ollama_tags(bad)


def test_the_model_map_when_there_is_no_list() -> None:
    assert [m["id"] for m in from_model_map(PRESETS["deepseek"])] == [
        "deepseek-v4-pro",
        "deepseek-v4-flash",
    ]
    ollama = PRESETS["ollama"].with_model("qwen3-coder")
    assert [m["id"] for m in from_model_map(ollama)] == ["qwen3-coder"]


async def test_the_router_lists_ollamas_tags(
    fakes: Callable[[str], Awaitable[FakeUpstream]], make_router: MakeRouter
) -> None:
    ollama = await fakes("ollama")
    ollama.script(json_reply(200, TAGS))
    router = await make_router({"ollama": ollama.url}, mode="ollama")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{router.url}/v1/models?limit=1000") as resp,
    ):
        page = await resp.json()
    assert resp.status == 200 and resp.headers["x-hotswap-source"] == "the backend"
    assert [m["id"] for m in page["data"]][:2] == [  # under gateway ids, the active first
        "claude-hotswap-ollama--qwen3-coder:30b",
        "claude-hotswap-ollama--claude-sonnet-local",
    ]
    assert ollama.received[0].path_qs == "/api/tags"


async def test_an_unreachable_backend_lists_its_model_map(
    fakes: Callable[[str], Awaitable[FakeUpstream]], make_router: MakeRouter
) -> None:
    ds = await fakes("deepseek")
    ds.script(json_reply(500, {"error": "down"}))
    router = await make_router({"deepseek": ds.url}, mode="ds", env={"DEEPSEEK_API_KEY": "k"})
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{router.url}/v1/models") as resp,
    ):
        page = await resp.json()
    assert resp.headers["x-hotswap-source"] == "the model map"
    assert [m["id"] for m in page["data"]][:2] == [
        "claude-hotswap-deepseek--deepseek-v4-pro",
        "claude-hotswap-deepseek--deepseek-v4-flash",
    ]
    assert ds.received[0].path_qs == "/v1/models"
    assert ds.received[0].headers["x-api-key"] == "k"


def test_list_models_and_the_models_command(home: Path) -> None:
    with ThreadedFake("ollama") as ollama:
        ollama.script(json_reply(200, TAGS), json_reply(200, TAGS))
        backend = PRESETS["ollama"]._replace(base_url=ollama.url)
        found, _ = list_models_with_source(backend, KeyRing({}, set()))
        assert [m["id"] for m in found] == ["qwen3-coder:30b", "claude-sonnet-local"]
        (home / "config.toml").write_text(f'[backends.ollama]\nbase_url = "{ollama.url}"\n')
        env = {"PATH": os.environ["PATH"], "HOTSWAP_HOME": str(home), "HOME": str(home)}
        done = subprocess.run(
            [str(BIN / "hotswap"), "models", "ollama", "--json"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert [m["id"] for m in json.loads(done.stdout)] == [
            "qwen3-coder:30b",
            "claude-sonnet-local",
        ]
        done = subprocess.run(
            [str(BIN / "hotswap"), "models", "nope"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 2 and "unknown backend" in done.stderr


@needs_claude
def test_hotswap_run_turns_discovery_on_and_a_picked_model_reaches_its_backend(
    tmp_path: Path,
) -> None:
    """`hotswap run` sets CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1: Claude Code asks the
    router for /v1/models at start and keeps every backend's models under their gateway ids
    (its own filter keeps only ids containing "claude"). A model picked from that list
    reaches the backend it names, whatever the mode; the user's own 0 turns discovery off."""
    home = tmp_path / "hotswap-home"
    home.mkdir()
    with ThreadedFake("ollama") as ollama, ThreadedFake("deepseek") as ds:
        ollama.script(json_reply(200, TAGS))
        ds.script(json_reply(200, {"data": [{"id": "deepseek-v4-pro"}]}), sse_message("from ds"))
        (home / "config.toml").write_text(
            f'[backends.ollama]\nbase_url = "{ollama.url}"\n'
            f'[backends.deepseek]\nbase_url = "{ds.url}"\n'
        )
        picked = "claude-hotswap-deepseek--deepseek-v4-pro"
        result = hotswap_run_claude(
            tmp_path, home, "hi", backend="ollama", ANTHROPIC_MODEL=picked,
            DEEPSEEK_API_KEY="sk-ds-e2e", CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY="",
        )  # fmt: skip
        assert result["result"] == "from ds"
        assert [r.path_qs for r in ollama.received] == ["/api/tags"]  # listed, not asked
        assert [r.path_qs for r in ds.received] == ["/v1/models", "/v1/messages?beta=true"]
        assert ds.received[1].body["model"] == "deepseek-v4-pro"
        cache = tmp_path / "claude-home" / ".claude" / "cache" / "gateway-models.json"
        cached = [m["id"] for m in json.loads(cache.read_text())["models"]]
        assert cached[:3] == [  # the mode's backend first
            "claude-hotswap-ollama--qwen3-coder:30b",
            "claude-hotswap-ollama--claude-sonnet-local",
            "claude-hotswap-deepseek--deepseek-v4-pro",
        ]
        ollama.received.clear()
        ollama.script(sse_message("again"))
        hotswap_run_claude(
            tmp_path, home, "hi", backend="ollama", CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY="0"
        )
        assert [r.path_qs for r in ollama.received] == ["/v1/messages?beta=true"]
