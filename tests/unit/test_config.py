"""load_config: presets, TOML on top, and errors that name the file, the key and the value."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from hotswap.config.backends import PRESETS, Quirks
from hotswap.config.loading import KeyRing, default_state_dir, load_config
from hotswap.errors import ConfigError


def _load(tmp_path: Path, text: str, **env: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, {"HOTSWAP_HOME": str(tmp_path), **env})


# --- presets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base_url", "auth", "key_env"),
    [
        ("anthropic", "https://api.anthropic.com", "passthrough", None),
        ("deepseek", "https://api.deepseek.com/anthropic", "x-api-key", "DEEPSEEK_API_KEY"),
        ("openrouter", "https://openrouter.ai/api", "bearer", "OPENROUTER_API_KEY"),
        ("fireworks", "https://api.fireworks.ai/inference", "bearer", "FIREWORKS_API_KEY"),
    ],
)
def test_presets_without_a_config_file(
    tmp_path: Path, name: str, base_url: str, auth: str, key_env: str | None
) -> None:
    cfg = load_config(None, {"HOTSWAP_HOME": str(tmp_path)})
    backend = cfg.backends[name]
    assert (backend.base_url, backend.auth, backend.api_key_env) == (base_url, auth, key_env)
    assert cfg.source is None
    assert cfg.default_backend == "anthropic"


def test_preset_aliases_resolve(tmp_path: Path) -> None:
    cfg = load_config(None, {"HOTSWAP_HOME": str(tmp_path)})
    assert cfg.resolve("ds").name == "deepseek"  # type: ignore[union-attr]
    assert cfg.resolve(" ANT ").name == "anthropic"  # type: ignore[union-attr]
    assert cfg.resolve("nope") is None


def test_hotswap_home_config_toml_is_read_when_present(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('default_backend = "ds"\n')
    cfg = load_config(None, {"HOTSWAP_HOME": str(tmp_path)})
    assert cfg.default_backend == "deepseek"
    assert cfg.source == tmp_path / "config.toml"


# --- TOML on top of the presets -----------------------------------------------------------


def test_toml_overrides_only_the_fields_it_names(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        """
[backends.deepseek]
base_url = "http://127.0.0.1:1/anthropic"
models = { "claude-*" = "deepseek-v4-pro" }
""",
    )
    ds = cfg.backends["deepseek"]
    assert ds.base_url == "http://127.0.0.1:1/anthropic"
    assert ds.models == (("claude-*", "deepseek-v4-pro"),)
    assert ds.api_key_env == "DEEPSEEK_API_KEY"  # kept from the preset
    assert ds.aliases == ("ds",)
    assert ds.quirks.drop_fields == ("context_management",)
    assert cfg.source == tmp_path / "config.toml"


def test_toml_adds_a_new_backend_with_aliases_and_a_model_map(tmp_path: Path) -> None:
    assert "acme-kimi" not in PRESETS
    cfg = _load(
        tmp_path,
        """
default_backend = "k"

[backends.acme-kimi]
base_url = "https://api.moonshot.ai/anthropic"
auth = "bearer"
api_key_env = "MOONSHOT_API_KEY"
aliases = ["k", "acme"]
fallback = ["deepseek"]
models = { "claude-opus-*" = "kimi-k3", "*" = "kimi-k2.7-code" }
quirks = { drop_fields = ["context_management"], max_tokens_cap = 32000 }

[router]
first_byte_timeout_s = 5
max_body_mb = 0.5
fallback = false
""",
        MOONSHOT_API_KEY="sk-moon",
    )
    kimi = cfg.backends["acme-kimi"]
    assert cfg.resolve("acme") is kimi and cfg.resolve("K") is kimi
    assert cfg.default_backend == "acme-kimi"
    assert kimi.models == (("claude-opus-*", "kimi-k3"), ("*", "kimi-k2.7-code"))
    assert kimi.fallback == ("deepseek",)
    assert kimi.quirks == Quirks(drop_fields=("context_management",), max_tokens_cap=32000)
    assert cfg.keys.get("MOONSHOT_API_KEY") == "sk-moon"
    assert cfg.router.first_byte_timeout_s == 5.0
    assert cfg.router.max_body_bytes == 512 * 1024
    assert cfg.router.fallback is False
    assert set(cfg.backends) >= {"anthropic", "deepseek", "openrouter", "fireworks", "acme-kimi"}


# --- invalid configs: the message names the file, the key and the value -------------------

INVALID = [
    ("bad toml", "[backends\nbase_url = 1", None, None),
    ("unknown top key", 'colour = "red"\n', "colour", "'red'"),
    ("unknown backend key", '[backends.deepseek]\nbase_ur = "http://x"\n', "base_ur", "http://x"),
    ("unknown router key", "[router]\nfirst_byte_s = 3\n", "router.first_byte_s", "3"),
    ("wrong type str", "[backends.deepseek]\nbase_url = 42\n", "backends.deepseek.base_url", "42"),
    (
        "wrong type list",
        '[backends.deepseek]\naliases = "ds2"\n',
        "backends.deepseek.aliases",
        "ds2",
    ),
    (
        "wrong type in list",
        "[backends.deepseek]\naliases = [7]\n",
        "backends.deepseek.aliases",
        "7",
    ),
    ("wrong type model", '[backends.deepseek]\nmodels = { "a" = 1 }\n', "models.a", "1"),
    ("router str", '[router]\nfirst_byte_timeout_s = "fast"\n', "first_byte_timeout_s", "fast"),
    ("router bool as number", "[router]\nmax_body_mb = true\n", "router.max_body_mb", "True"),
    ("router negative", "[router]\nidle_timeout_s = -1\n", "router.idle_timeout_s", "-1"),
    ("router fallback type", '[router]\nfallback = "no"\n', "router.fallback", "no"),
    ("bad auth kind", '[backends.deepseek]\nauth = "basic"\n', "backends.deepseek.auth", "basic"),
    ("bad url", '[backends.deepseek]\nbase_url = "ftp://x"\n', "deepseek.base_url", "ftp://x"),
    (
        "new without base_url",
        '[backends.acme]\nauth = "bearer"\n',
        "backends.acme.base_url",
        "None",
    ),
    (
        "new without key env",
        '[backends.acme]\nbase_url = "https://k"\nauth = "bearer"\n',
        "backends.acme.api_key_env",
        "bearer",
    ),
    ("unknown quirk", "[backends.deepseek.quirks]\nshout = true\n", "quirks", "shout"),
    (
        "quirk wrong type",
        '[backends.deepseek.quirks]\ndrop_fields = "context_management"\n',
        "backends.deepseek.quirks.drop_fields",
        "context_management",
    ),
    (
        "quirk cap type",
        '[backends.deepseek.quirks]\nmax_tokens_cap = "big"\n',
        "backends.deepseek.quirks.max_tokens_cap",
        "big",
    ),
    ("unknown fallback", '[backends.deepseek]\nfallback = ["nope"]\n', "deepseek.fallback", "nope"),
    ("unknown default", 'default_backend = "nope"\n', "default_backend", "nope"),
    (
        "alias clash",
        '[backends.acme]\nbase_url = "https://a"\nauth = "passthrough"\naliases = ["DS"]\n',
        "backends.acme.aliases",
        "'DS' (already names backend 'deepseek')",
    ),
    (
        "name clash",
        '[backends.ds]\nbase_url = "https://a"\nauth = "passthrough"\n',
        "backends.ds",
        "'ds' (already names backend 'deepseek')",
    ),
    ("backends not a table", 'backends = "all"\n', "backends", "all"),
]


@pytest.mark.parametrize(("case", "text", "key", "value"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_config_names_file_key_and_value(
    tmp_path: Path, case: str, text: str, key: str | None, value: str | None
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    message = str(info.value)
    assert str(tmp_path / "config.toml") in message
    if key is None:  # bad TOML: the parser's own position is the pointer
        assert "not valid TOML" in message and "line" in message
        return
    assert key in message
    assert value in message


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_config(tmp_path / "missing.toml", {"HOTSWAP_HOME": str(tmp_path)})


def test_hotswap_config_variable_names_the_file(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('default_backend = "fw"\n')
    cfg = load_config(None, {"HOTSWAP_HOME": str(tmp_path), "HOTSWAP_CONFIG": str(other)})
    assert cfg.default_backend == "fireworks"


# --- keys ---------------------------------------------------------------------------------


def test_keyring_repr_never_shows_a_key(tmp_path: Path) -> None:
    secret = "sk-very-secret-value"
    ring = KeyRing({"DEEPSEEK_API_KEY": secret, "OTHER": "x"}, {"DEEPSEEK_API_KEY"})
    assert ring.get("DEEPSEEK_API_KEY") == secret
    assert ring.get("OTHER") is None
    assert secret not in repr(ring) and secret not in str(ring)
    assert "DEEPSEEK_API_KEY" in repr(ring)
    cfg = load_config(None, {"HOTSWAP_HOME": str(tmp_path), "DEEPSEEK_API_KEY": secret})
    assert cfg.keys.get("DEEPSEEK_API_KEY") == secret
    assert secret not in repr(cfg)


def test_empty_key_variable_counts_as_unset() -> None:
    assert KeyRing({"DEEPSEEK_API_KEY": ""}, {"DEEPSEEK_API_KEY"}).get("DEEPSEEK_API_KEY") is None


# --- state dir ----------------------------------------------------------------------------


def _without_home() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "HOTSWAP_HOME"}


@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-state-abs", "relative/state", ""])
def test_default_state_dir_matches_platformdirs(
    monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    monkeypatch.delenv("HOTSWAP_HOME", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    expected = platformdirs.user_state_dir("hotswap", appauthor=False)
    assert default_state_dir(_without_home()) == Path(expected)


def test_hotswap_home_wins(tmp_path: Path) -> None:
    assert default_state_dir({"HOTSWAP_HOME": str(tmp_path)}) == tmp_path


def test_overriding_one_quirk_keeps_the_presets_other_quirks(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[backends.deepseek.quirks]\nmax_tokens_cap = 1000\n")
    preset = PRESETS["deepseek"].quirks
    quirks = load_config(path, {}).backends["deepseek"].quirks
    assert quirks.max_tokens_cap == 1000
    assert quirks.drop_fields == preset.drop_fields and quirks.drop_fields
    assert quirks.text_only == preset.text_only


# --- api_key_env: a name, never a key ---------------------------------------------------------

PASTED_KEYS = [
    "gsk_Q7rT9vX2bN4mK8pL3wZ6yH1jF5dS0aGcE2uI9oP7",  # Groq's: a valid variable name
    "sk-ant-" + "api03-Xy7Qw2Er5Ty8Ui1Op4AsDfGh",  # split: no key-shaped literal in the tree
    "sk-or-v1-3f9a8b7c6d5e4f3a2b1c0d9e8f",
    "AIzaSyD3f9aB7c2e4g6h8j0kLmNoPqR",
    "xai-Zq8Wv3Nr6Mt1Ks4Jd7Hf0Gb2Lc5Pa9",
    "fw_3ZgQhTnR4vLmW8xKpB2sYdC6",
    "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",  # a hex token, no prefix
    "KEY_Ab3dE5fG7hJ9kL",  # a part mixing cases and digits
    "A" * 41,  # longer than any variable name
]


@pytest.mark.parametrize("pasted", PASTED_KEYS)
def test_a_key_pasted_as_api_key_env_is_an_error_that_does_not_show_it(
    tmp_path: Path, pasted: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, f'[backends.groq]\napi_key_env = "{pasted}"\n')
    message = str(info.value)
    assert "backends.groq.api_key_env looks like a key, not a variable name" in message
    assert "put the key in the environment and name the variable here" in message
    assert pasted not in message and pasted[-6:] not in message


@pytest.mark.parametrize(
    "name",
    ["DEEPSEEK_API_KEY", "MY_KEY_2", "AZURE_OPENAI_API_KEY", "openai_key", "MyApiKey2", "_K8S"],
)
def test_ordinary_variable_names_are_accepted(tmp_path: Path, name: str) -> None:
    cfg = _load(tmp_path, f'[backends.groq]\napi_key_env = "{name}"\n')
    assert cfg.backends["groq"].api_key_env == name


@pytest.mark.parametrize(
    ("text", "words", "fix"),
    [
        ("[router]\nfirst_byte_timeout = 5\n", "did you mean 'first_byte_timeout_s'?", "rename"),
        ('[backends.ds]\nbase_urll = "http://x"\n', "did you mean 'base_url'?", "rename"),
        ('[gateway]\ndefault_backendd = "ds"\n', "did you mean 'default_backend'?", "rename"),
        ('[[routes]]\nwhen = "background"\nto = "deepseak"\n', "did you mean 'deepseek'?", "edit"),
        ('default_backend = "deepseak"\n', "did you mean 'deepseek'?", "edit"),
        ("statusline_x = true\n", "did you mean 'statusline'?", "rename"),
    ],
)
def test_config_errors_name_the_nearest_spelling_never_a_python_list(
    tmp_path: Path, text: str, words: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert words in str(caught.value) and "['" not in str(caught.value)
    assert caught.value.fix.startswith(fix)


def test_gateway_budgets_fail_open_or_closed(tmp_path: Path) -> None:
    assert _load(tmp_path, "").gateway.budgets_when_redis_down == "open"
    cfg = _load(tmp_path, '[gateway]\nbudgets_when_redis_down = "closed"\n')
    assert cfg.gateway.budgets_when_redis_down == "closed"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[gateway]\nbudgets_when_redis_down = "shut"\n')
    assert "gateway.budgets_when_redis_down" in str(caught.value)
    assert 'expected "open" or "closed"' in str(caught.value)
