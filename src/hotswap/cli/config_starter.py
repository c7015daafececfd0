"""The commented starter config `hotswap config init` writes: every preset as an example.

Lines starting with `# ` are settings to uncomment (the file stays valid with any of
them uncommented); lines starting with `##` are explanations. Nothing secret: keys are
named by their environment variable, never written.
"""

from __future__ import annotations

import json

from hotswap.config.backends import AUTH_KINDS, PRESETS, Backend
from hotswap.config.loading import DEFAULT_BACKEND, MB, RouterSettings
from hotswap.config.tables import ROUTER_KEYS

_HEADER = """\
## hotswap configuration. Every line below is optional: without this file hotswap uses
## its built-in presets. Uncomment a line (remove "# ") to change a value.
## API keys never go here: each backend names the environment variable holding its key.
## Check your edits with `hotswap config validate`; see them in effect with `hotswap config show`.

## The backend a session starts on when its mode file does not name one.
default_backend = "{default}"
## hotswap run: should a `!cmd` line (like `!ds`) also be sent to the model?
# respond_to_bash_commands = false
## hotswap run: add a status line showing the backend (unless your settings have one)?
# statusline = true
"""

_NEW_BACKEND = """\
## Add any Anthropic-compatible endpoint:
# [backends.mine]
# base_url = "https://llm.example.com/anthropic"
# auth = "bearer"                    # {auth_kinds}
# api_key_env = "MINE_API_KEY"       # the variable holding the key (export it yourself)
# aliases = ["m"]
# [backends.mine.models]
# "*" = "example-model"
"""


def _value(v: object) -> str:
    """A TOML value (JSON strings, lists of strings, numbers and booleans are TOML too)."""
    return json.dumps(v, ensure_ascii=False)


def router_defaults() -> dict[str, object]:
    """Every [router] key (config.tables.ROUTER_KEYS) and its default, as the file spells it."""
    r = RouterSettings()
    values: dict[str, object] = {}
    for key, (attr, _, _) in ROUTER_KEYS.items():
        value = getattr(r, attr)
        values[key] = value // MB if key.endswith("_mb") else value
    return values


def _router() -> list[str]:
    values = router_defaults()
    lines = ["## Router limits and timeouts (the defaults):", "# [router]"]
    return lines + [f"# {key} = {_value(value)}" for key, value in values.items()]


def _backend(b: Backend) -> list[str]:
    lines = [
        f"## {b.name}: built in" + (f" (aliases: {', '.join(b.aliases)})" if b.aliases else "")
    ]
    lines.append(f"# [backends.{b.name}]")
    lines.append(f"# base_url = {_value(b.base_url)}")
    lines.append(f"# auth = {_value(b.auth)}")
    if b.api_key_env:
        lines.append(f"# api_key_env = {_value(b.api_key_env)}")
    if b.auth == "none":  # a local server: no model map, so the model must be named
        lines.append('# default_model = "qwen3-coder"  # a model the server has (`ollama list`)')
    lines.append(f"# aliases = {_value(list(b.aliases))}")
    lines.append(f"# fallback = {_value(list(b.fallback))}        # tried in order when it fails")
    if b.models:
        lines.append(f"# [backends.{b.name}.models]       # glob -> model; first match wins")
        lines += [f"# {_value(pattern)} = {_value(target)}" for pattern, target in b.models]
    return lines


def starter_config() -> str:
    parts = [_HEADER.format(default=DEFAULT_BACKEND), "\n".join(_router()), ""]
    parts.append("## The built-in backends, as they are. Override any field here.")
    for backend in PRESETS.values():
        parts.append("\n".join(_backend(backend)) + "\n")
    parts.append(_NEW_BACKEND.format(auth_kinds=" | ".join(AUTH_KINDS)))
    return "\n".join(parts)
