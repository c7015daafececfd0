"""The mode file: one backend name in a plain text file, so `echo deepseek > FILE` works.

Stdlib only. Writes are atomic (temp file + os.replace) and private to the user (0600).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from pathlib import Path

MAX_MODE_BYTES = 256
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def parse_mode(text: str) -> str:
    """The backend name a mode file's text holds: its first word, ignoring `#` comments."""
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            if len(word.split()) != 1:
                raise ValueError(f"expected one backend name, got {word!r}")
            return word
    raise ValueError("the mode file is empty")


def read_mode(path: Path) -> str | None:
    """The name in the mode file, or None when it does not exist.

    Raises ValueError (unparseable) or OSError (unreadable).
    """
    try:  # os.open/os.read: no file object, no buffer (read once per request by the router)
        fd = os.open(path, _READ_FLAGS)  # non-blocking: a FIFO must not hang the router
    except FileNotFoundError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("the mode file is not a regular file")
        raw = os.read(fd, MAX_MODE_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_MODE_BYTES:
        raise ValueError(f"the mode file is larger than {MAX_MODE_BYTES} bytes")
    return parse_mode(decode_mode(raw))


def decode_mode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 with a BOM: what Windows PowerShell 5's
    `echo deepseek > FILE` writes."""
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise ValueError("the mode file is not UTF-8 or UTF-16 text") from None


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, readable by the user alone."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _replace(tmp: Path, path: Path, tries: int = 20) -> None:
    """os.replace; on Windows a reader holding the file open makes it fail for a moment."""
    for attempt in range(tries):
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            if attempt == tries - 1:
                raise
            time.sleep(0.005)


def write_mode(path: Path, name: str) -> None:
    """Point the mode file at backend `name`, atomically."""
    write_private(path, (name + "\n").encode())
