"""Context windows: the preset table, the config's overrides, the cheap screen and the
careful count, the 400's wording, and the warning `ds` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotswap.body import RequestBody
from hotswap.body.caches import BodyCaches
from hotswap.config.backends import PRESETS
from hotswap.config.loading import load_config
from hotswap.config.windows import (
    context_window,
    screen_tokens,
    switch_warning,
    too_long_message,
    wire_model,
)
from hotswap.errors import ConfigError
from hotswap.reading.jsoncodec import dump_json
from hotswap.router.attempt import Request
from hotswap.router.window import Fit
from hotswap.rules.rewrite import map_model


@pytest.mark.parametrize(
    ("backend", "client_model", "tokens"),
    [
        ("anthropic", "claude-opus-5-5", 1_000_000),
        ("anthropic", "claude-haiku-5-5", 200_000),
        ("anthropic", "claude-sonnet-5-5[1m]", 1_000_000),
        ("deepseek", "claude-opus-5-5", 1_000_000),  # -> deepseek-v4-pro
        ("fireworks", "claude-haiku-5-5", 262_144),  # -> kimi-k2p5
        ("openai", "claude-opus-5-5", 400_000),
        ("gemini", "claude-opus-5-5", 1_048_576),
        ("groq", "claude-opus-5-5", 131_072),
        ("openrouter", "claude-opus-5-5", None),  # model-dependent: unknown unless set
        ("ollama", "claude-opus-5-5", None),  # local: unknown unless configured
        ("kimi", "claude-opus-5-5", None),
    ],
)
def test_preset_windows(backend: str, client_model: str, tokens: int | None) -> None:
    b = PRESETS[backend]
    assert context_window(b, wire_model(client_model, b)) == tokens


def _config(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, {"HOTSWAP_HOME": str(tmp_path)})


def test_config_overrides_per_backend_then_per_model(tmp_path: Path) -> None:
    cfg = _config(
        tmp_path,
        "[backends.deepseek]\ncontext_tokens = 128000\n"
        '[backends.deepseek.context_tokens_by_model]\n"deepseek-v4-flash" = 64000\n'
        '[backends.ollama]\ndefault_model = "qwen3"\ncontext_tokens = 32768\n',
    )
    ds, ollama = cfg.backends["deepseek"], cfg.backends["ollama"]
    assert context_window(ds, "deepseek-v4-flash") == 64000
    assert context_window(ds, "deepseek-v4-pro") == 128000  # context_tokens beats the table
    assert context_window(ollama, wire_model("claude-opus-5-5", ollama)) == 32768
    assert context_window(ds.with_model("other"), "other") == 128000  # kept by --model


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("context_tokens = -1", "backends.deepseek.context_tokens"),
        ("context_tokens = 0", "backends.deepseek.context_tokens"),
        ("context_tokens = 1.5", "backends.deepseek.context_tokens"),
        ('context_tokens = "128k"', "backends.deepseek.context_tokens"),
        ("context_tokens_by_model = 5", "backends.deepseek.context_tokens_by_model"),
        ('context_tokens_by_model = {"x" = nan}', "backends.deepseek.context_tokens_by_model.x"),
    ],
)
def test_bad_windows_are_one_line_errors_naming_the_key(tmp_path: Path, toml: str, key: str):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, f"[backends.deepseek]\n{toml}\n")
    text = str(caught.value)
    assert f"'{key}'" in text and "\n" not in text


def test_screen_is_bytes_over_four() -> None:
    assert screen_tokens(0) == 0
    assert screen_tokens(4) == 1
    assert screen_tokens(5) == 2  # rounded up: the screen errs high


def _request(body: dict) -> Request:
    raw = dump_json(body)
    parsed = RequestBody.parse(raw, BodyCaches(1 << 20))
    return Request("/v1/messages", parsed, {}, True, body.get("model"))


def test_a_long_text_request_is_over_a_small_window() -> None:
    backend = PRESETS["deepseek"]._replace(context_tokens=1000)
    req = _request({"model": "m", "messages": [{"role": "user", "content": "word " * 2000}]})
    error = Fit(req).over(backend)
    assert error is not None and error.status == 400
    assert str(error).startswith("prompt is too long: 25")  # 10,000 chars / 4
    assert "1000 maximum" in str(error) and "'deepseek'" in str(error)
    assert Fit(req).over(backend._replace(context_tokens=10_000)) is None


def test_an_image_passes_the_careful_count() -> None:
    """Its base64 bytes trip the screen; the careful count weighs it as one image."""
    image = {"type": "base64", "media_type": "image/png", "data": "A" * 40_000}
    content = [{"type": "image", "source": image}, {"type": "text", "text": "what is it?"}]
    req = _request({"model": "m", "messages": [{"role": "user", "content": content}]})
    backend = PRESETS["deepseek"]._replace(context_tokens=5000)
    assert screen_tokens(req.body.size) > 5000
    assert Fit(req).over(backend) is None


def test_unknown_window_holds_everything() -> None:
    req = _request({"model": "m", "messages": [{"role": "user", "content": "x" * 50_000}]})
    assert Fit(req).holds(PRESETS["ollama"])


def test_message_is_anthropics_wording_first() -> None:
    assert too_long_message(212345, 200000, "ds").startswith(
        "prompt is too long: 212345 tokens > 200000 maximum"
    )


def test_switch_warning() -> None:
    ds = PRESETS["deepseek"]._replace(context_tokens=64000)
    status = {"last_input_tokens": 90000, "last_client_model": "claude-opus-5-5"}
    (line,) = switch_warning(ds, status)
    assert line.startswith("warning: this conversation is about 90000 tokens")
    assert "deepseek's context window of 64000" in line and "/compact" in line
    assert switch_warning(ds, {"last_input_tokens": 1000}) == []
    assert switch_warning(ds, None) == []
    assert switch_warning(PRESETS["ollama"], status) == []  # unknown window: no warning


@pytest.mark.parametrize(
    ("model", "backend", "window"),
    [
        ("claude-hotswap-anthropic--claude-opus-5", "anthropic", 1_000_000),
        ("claude-hotswap-deepseek--deepseek-chat", "deepseek", 128_000),
    ],
)
def test_a_model_picked_by_gateway_id_is_sized_as_the_model_it_names(
    model: str, backend: str, window: int
) -> None:
    """The window is the one of the model the rewrite sends (one rule: model_ids.mapped_model)."""
    b = PRESETS[backend]
    assert wire_model(model, b) == map_model(model, b)
    assert context_window(b, wire_model(model, b)) == window
