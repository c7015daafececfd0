"""The checks of `hotswap doctor`: each returns Check values, reads what it needs, never
writes (except where `fix` is asked for and said so)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from hotswap.config.backends import PRESETS
from hotswap.config.credentials import credential
from hotswap.config.loading import Config, KeyRing, default_state_dir, load_config
from hotswap.errors import HotswapError
from hotswap.redact import mask

OK, WARN, FAIL = "ok", "warn", "fail"
SCRIPTS = ("hotswap", "ds", "ant", "backend", "sessions")


class Check(NamedTuple):
    name: str
    status: str  # OK | WARN | FAIL
    detail: str
    fix: str = ""


def check_claude(environ: Mapping[str, str], timeout_s: float) -> list[Check]:
    from hotswap.cli.claude_code import probe

    found = probe(environ, timeout_s)
    if found.path is None:
        fix = (
            "npm install -g @anthropic-ai/claude-code, or export HOTSWAP_CLAUDE_BIN=/path/to/claude"
        )
        return [Check("claude", FAIL, found.problem_line or "not found", fix)]
    if found.version is None:
        fix = f"run `{found.path} --version` yourself to see what is wrong"
        return [Check("claude", WARN, f"{found.path}: {found.problem}", fix)]
    return [Check("claude", OK, f"{found.path} ({found.version})")]


def check_config(
    config_path: Path | None, environ: Mapping[str, str]
) -> tuple[Config, list[Check]]:
    """The config as a router would load it; on an error, the presets (so that the other
    checks still run) and a failed check with the router's message."""
    try:
        config = load_config(config_path, environ)
    except HotswapError as exc:
        names = {b.api_key_env for b in PRESETS.values() if b.api_key_env}
        presets = Config(
            state_dir=default_state_dir(environ),
            backends=dict(PRESETS),
            keys=KeyRing(environ, names),
        )
        fix = exc.fix or "edit the file; `hotswap config init --force` starts over"
        return presets, [Check("config", FAIL, str(exc), fix)]
    if config.source is None:
        detail = "no config file (presets only, which is fine)"
        return config, [Check("config", OK, detail)]
    return config, [Check("config", OK, f"{config.source} is valid")]


def check_keys(
    config: Config, environ: Mapping[str, str], used: frozenset[str] = frozenset()
) -> list[Check]:
    """Each backend's key; a missing key matters (FAIL) only for the default backend, and
    then only when no backend of its fallback chain has one. A missing key is mentioned
    only for a backend the user set up (the config file names it) or uses (`used`: a mode
    points at it): the other presets are offers, not problems."""
    from hotswap.sessions.launcher import has_claude_login

    login = has_claude_login(environ)
    usable = {
        n
        for n, b in config.backends.items()
        if credential(b, environ)[1] or (b.is_passthrough and login)
    }
    checks = []
    missing = []
    for b in config.backends.values():
        if b.auth == "none":  # a local server: no key to check
            continue
        var, value = credential(b, environ)
        if value is not None:
            if not (value.isascii() and value.isprintable()):
                fix = f"re-export {var} without quotes, spaces or line breaks"
                checks.append(Check(f"key {b.name}", FAIL, f"{var} holds an invalid key", fix))
            else:
                checks.append(Check(f"key {b.name}", OK, f"{var} {mask(value)}"))
        elif b.is_passthrough and login:
            checks.append(Check(f"key {b.name}", OK, "your Claude login (passed through)"))
        elif b.name == config.default_backend:
            checks.append(_missing_key(config, b.name, usable))
        elif b.name in config.configured or b.name in used:
            missing.append(b)
    if missing:
        names = ", ".join(f"{b.api_key_env or 'ANTHROPIC_API_KEY'} ({b.name})" for b in missing)
        fix = "export them where you start hotswap: keys are read only from the environment"
        checks.append(Check("keys missing", WARN, names, fix))
    return checks


def _missing_key(config: Config, name: str, usable: set[str]) -> Check:
    """The default backend has no key: FAIL, unless its fallback chain has one."""
    b = config.backends[name]
    if b.is_passthrough:
        what = "no ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or Claude login"
        fix = "export ANTHROPIC_API_KEY=..., or log in once with `claude`"
    else:
        what = f"{b.api_key_env} missing"
        fix = f"export {b.api_key_env}=... (keys are read only from the environment)"
    names = config.names()
    rescue = [names[f.lower()] for f in b.fallback if names.get(f.lower()) in usable]
    if rescue:
        detail = f"{what}; the default backend, so requests fall back to {rescue[0]}"
        return Check(f"key {name}", WARN, detail, fix)
    fix += f"; or set default_backend in {_config_hint(config)} to a backend that has a key"
    return Check(f"key {name}", FAIL, f"{what} (the default backend)", fix)


def _config_hint(config: Config) -> str:
    return str(config.source or config.state_dir / "config.toml")


def check_statusline(config: Config, environ: Mapping[str, str], cwd: Path) -> list[Check]:
    """What `hotswap run` decides (launcher.our_settings): its own status line, unless the
    config turns it off or one of the user's settings files has one."""
    from hotswap.sessions.launcher import user_has_statusline

    if not config.statusline:
        fix = f"remove `statusline = false` from {_config_hint(config)} to see the backend"
        return [Check("status line", WARN, "off (statusline = false in the config)", fix)]
    if user_has_statusline(environ, cwd):
        detail = "your Claude Code settings have a statusLine; `hotswap run` keeps yours"
        hint = "to see the backend in it, call `hotswap statusline` from it"
        return [Check("status line", OK, detail, hint)]
    return [Check("status line", OK, "`hotswap run` adds one (`hotswap statusline`)")]


def check_respond_to_bash(config: Config, environ: Mapping[str, str]) -> list[Check]:
    from hotswap.sessions.launcher import claude_dir

    path = claude_dir(environ) / "settings.json"
    name = "respondToBashCommands"
    try:
        settings = json.loads(path.read_text()) if path.exists() else {}
        value = settings.get(name, True) if isinstance(settings, dict) else True
    except (OSError, ValueError) as exc:
        fix = f"fix the JSON in {path} (Claude Code cannot read it either)"
        return [Check(name, WARN, f"cannot read {path}: {exc}", fix)]
    if not path.exists():
        shown = f"true (Claude Code's default: there is no {path})"
    elif name not in settings:
        shown = f"true (Claude Code's default: {path} does not set it)"
    else:
        shown = f"{json.dumps(value)} in {path}"
    if config.respond_to_bash_commands:
        detail = f"{shown}; the config keeps it on: each `!ds` line is sent to the model"
        return [Check(name, OK, detail)]
    detail = f"{shown}; `hotswap run` turns it off per launch, so `!ds` costs no model call"
    hint = (
        ""
        if value is False
        else f'with `hotswap serve` + plain `claude`, set "{name}": false there'
    )
    return [Check(name, OK, detail, hint)]


def _script_path(bin_dir: Path, name: str) -> Path:
    return bin_dir / (name + ".exe" if sys.platform == "win32" else name)


def _is_hotswap_script(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return b"hotswap" in fh.read(4096)
    except OSError:
        return False


def check_scripts(environ: Mapping[str, str], bin_dir: Path | None = None) -> list[Check]:
    """The console scripts on PATH, each the one of this install (sys.executable's folder),
    not another program of the same name (`ds` is a common name)."""
    bin_dir = bin_dir or Path(sys.executable).parent
    path_fix = f'export PATH="{bin_dir}:$PATH"'
    checks = []
    missing = []
    for name in SCRIPTS:
        ours = _script_path(bin_dir, name)
        found = shutil.which(name, path=environ.get("PATH", ""))
        if found is None:
            missing.append(name)
        elif ours.exists() and Path(found).resolve() == ours.resolve():
            continue
        elif _is_hotswap_script(found):
            detail = f"`{name}` runs another hotswap install first: {found}"
            checks.append(Check(f"script {name}", WARN, detail, f"{path_fix}, or uninstall it"))
        else:
            detail = f"`{name}` is shadowed by {found}, which is not hotswap"
            fix = (
                f"{path_fix} (this install's folder first), or use `hotswap use`/`hotswap backend`"
            )
            checks.append(Check(f"script {name}", FAIL, detail, fix))
    if missing:
        detail = f"not on PATH: {' '.join(missing)} (installed in {bin_dir})"
        checks.append(Check("console scripts", WARN, detail, path_fix))
    if not checks:
        scripts = " ".join(SCRIPTS)
        checks.append(Check("console scripts", OK, f"{scripts}: on PATH, from {bin_dir}"))
    return checks
