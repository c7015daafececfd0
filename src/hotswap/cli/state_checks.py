"""The doctor's checks of hotswap's own state: the state directory's permissions, the
session records, the global mode file. The only checks that `--fix` may act on."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hotswap.cli.checks import FAIL, OK, WARN, Check
from hotswap.config.loading import Config
from hotswap.osdeps import checks_file_modes
from hotswap.sessions.modefile import read_mode, split_mode
from hotswap.sessions.registry import list_sessions

_NOT_STATE = frozenset({"config.toml"})  # written by the user, holds no secret
_SHOWN = 3  # paths named in one line


def _problems(root: Path) -> tuple[list[tuple[Path, int]], list[Path]]:
    """(path, wanted mode) of everything readable by others, and what someone else owns."""
    loose: list[tuple[Path, int]] = []
    foreign: list[Path] = []
    uid = os.getuid()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        entries = [(here, 0o700)]
        entries += [(here / f, 0o600) for f in files if not (here == root and f in _NOT_STATE)]
        for path, wanted in entries:
            try:
                st = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                continue
            if st.st_uid != uid:
                foreign.append(path)
            elif st.st_mode & 0o077:
                loose.append((path, wanted))
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return loose, foreign


def _named(paths: list[Path]) -> str:
    shown = ", ".join(str(p) for p in paths[:_SHOWN])
    return shown + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")


def check_state_dir(config: Config, fix: bool) -> list[Check]:
    root = config.state_dir
    if not root.exists():
        return [Check("state directory", OK, f"{root} (created, private, on first use)")]
    if not os.access(root, os.W_OK | os.X_OK):
        why = f"{root} is not writable by you"
        return [Check("state directory", FAIL, why, f"chown -R $USER {root} && chmod 700 {root}")]
    if not checks_file_modes():  # Windows: private by the profile folder's ACL
        return [Check("state directory", OK, f"{root} (writable)")]
    loose, foreign = _problems(root)
    checks = []
    if foreign:
        why = f"owned by another user: {_named(foreign)}"
        checks.append(Check("state directory", FAIL, why, f"chown -R $USER {root}"))
    if loose and fix:
        for path, wanted in loose:
            os.chmod(path, wanted)
        checks.append(Check("state directory", OK, f"made {len(loose)} paths private (--fix)"))
    elif loose == [(root, 0o700)]:
        # Made by hand with the usual umask (755): others can list the names in it, but
        # every file hotswap writes there is private. Worth tightening, not a failure.
        why = f"{root} can be listed by others (its files are private)"
        checks.append(Check("state directory", WARN, why, f"chmod 700 {root}  (or --fix)"))
    elif loose:
        shown = _named([p for p, _ in loose])
        fix_line = f"chmod -R go-rwx {root}  (or `hotswap doctor --fix`)"
        checks.append(Check("state directory", FAIL, f"readable by others: {shown}", fix_line))
    return checks or [Check("state directory", OK, f"{root} (writable, private)")]


def check_sessions(config: Config, fix: bool) -> list[Check]:
    pairs = list_sessions(config.sessions_dir, clean=False)
    live = [s for s, alive in pairs if alive]
    stale = [s for s, alive in pairs if not alive]
    if live:
        names = ", ".join(f"{s.id} (port {s.port})" for s in live)
        checks = [Check("sessions", OK, f"{len(live)} live: {names}")]
    else:
        checks = [Check("sessions", OK, "none running (start one with `hotswap run`)")]
    if stale and fix:
        list_sessions(config.sessions_dir, clean=True)
        checks.append(Check("stale sessions", OK, f"removed {len(stale)} stale records (--fix)"))
    elif stale:
        names = ", ".join(f"{s.id} (pid {s.pid} gone)" for s in stale)
        fix_line = "hotswap doctor --fix (or `sessions`, which cleans them too)"
        checks.append(
            Check("stale sessions", WARN, f"{len(stale)} stale records: {names}", fix_line)
        )
    return checks


def check_serve_mode_file(config: Config) -> list[Check]:
    path = config.global_mode_file
    name = "serve mode file"
    try:
        word = read_mode(path)
    except (OSError, ValueError) as exc:
        fix = f"echo {config.default_backend} > {path}"
        return [Check(name, FAIL, f"{path}: {exc}", fix)]
    if word is None:
        detail = f"{path} absent: `hotswap serve` starts on {config.default_backend}"
        return [Check(name, OK, detail)]
    backend = config.resolve(split_mode(word)[0])  # `ollama qwen3-coder`: a backend, a model
    if backend is None:
        fix = f"echo {config.default_backend} > {path}  (valid: see `hotswap backends`)"
        return [Check(name, FAIL, f"{path} names an unknown backend {word!r}", fix)]
    return [Check(name, OK, f"{path}: {backend.name}")]


def relied_on(config: Config) -> set[str]:
    """The backends a mode or a route points at: the default one, the `hotswap serve` mode
    file's, each live session's, each `[[routes]]` target. A mode file that cannot be read
    names none."""
    files = [config.global_mode_file]
    files += [
        s.mode_file(config.sessions_dir)
        for s, alive in list_sessions(config.sessions_dir, clean=False)
        if alive
    ]
    names = {config.default_backend}
    names |= {route.backend.name for route in config.routes}  # [[routes]] send requests there
    for path in files:
        try:
            word = read_mode(path)
        except (OSError, ValueError):
            continue
        backend = config.resolve(split_mode(word)[0]) if word else None
        if backend is not None:
            names.add(backend.name)
    return names
