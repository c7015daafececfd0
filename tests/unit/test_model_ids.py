"""Gateway model ids (config/model_ids.py): reversible, read by the model map and the
route choice."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from hotswap.body import RequestBody
from hotswap.body.caches import BodyCaches
from hotswap.config.backends import PRESETS
from hotswap.config.loading import Config
from hotswap.config.model_ids import gateway_id, parse_gateway_id
from hotswap.routes import MODEL_ROUTE, choose
from hotswap.rules.rewrite import map_model
from hotswap.sessions.launcher import DISCOVERY, child_environment
from hotswap.sessions.registry import Session


@pytest.mark.parametrize(
    ("backend", "model"),
    [
        ("deepseek", "deepseek-v4-pro"),
        ("ollama", "qwen3-coder:30b"),
        ("openrouter", "deepseek/deepseek-v4"),
        ("my-box", "odd--name"),  # the backend ends at the first `--`
        ("anthropic", "claude-opus-5-5"),
    ],
)
def test_a_gateway_id_names_its_backend_and_model_and_passes_the_filter(
    backend: str, model: str
) -> None:
    model_id = gateway_id(backend, model)
    assert "claude" in model_id  # what Claude Code's picker keeps
    assert parse_gateway_id(model_id) == (backend, model)


@pytest.mark.parametrize(
    "other", ["claude-opus-5-5", "claude-hotswap-", "claude-hotswap-deepseek", "claude-hotswap---x"]
)
def test_any_other_name_is_no_gateway_id(other: str) -> None:
    assert parse_gateway_id(other) is None


def test_the_model_map_sends_the_named_model_to_its_own_backend_only() -> None:
    ds, glm = PRESETS["deepseek"], PRESETS["glm"]
    assert map_model("claude-hotswap-deepseek--deepseek-v4-flash", ds) == "deepseek-v4-flash"
    # another backend (a fallback) maps the id as any other name: its `*` glob here
    assert map_model("claude-hotswap-deepseek--deepseek-v4-flash", glm) == "glm-5.3"


def test_choose_follows_a_gateway_id_to_a_configured_backend() -> None:
    mode, ds = PRESETS["anthropic"], PRESETS["deepseek"]
    backends = {"anthropic": mode, "deepseek": ds}

    def body(model: str) -> RequestBody:
        return RequestBody.parse(f'{{"model": "{model}", "messages": []}}'.encode(), BodyCaches())

    picked = choose(body("claude-hotswap-deepseek--deepseek-v4-pro"), {}, mode, (), backends)
    assert picked == (ds, MODEL_ROUTE)
    assert choose(body("claude-opus-5-5"), {}, mode, (), backends) == (mode, None)
    assert choose(body("claude-hotswap-nowhere--m"), {}, mode, (), backends) == (mode, None)


@pytest.mark.parametrize(("given", "sent"), [(None, "1"), ("", "1"), ("0", "0"), ("1", "1")])
def test_hotswap_run_turns_model_discovery_on_unless_the_user_said_0(
    tmp_path: Path, given: str | None, sent: str
) -> None:
    session = Session("3f2a", 41001, os.getpid(), "/", time.time(), "x", "anthropic", None)
    environ = {"PATH": "/bin"} if given is None else {"PATH": "/bin", DISCOVERY: given}
    env = child_environment(environ, session, Config(state_dir=tmp_path, backends={}))
    assert env[DISCOVERY] == sent
