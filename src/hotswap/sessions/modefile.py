"""The mode file: one backend name in a plain text file, so `echo deepseek > FILE` works;
optionally a model after it (`ollama qwen3-coder`) that every request then goes to.

Stdlib only. Writes are atomic (temp file + os.replace) and private to the user (0600).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from pathlib import Path

from hotswap.osdeps import is_linux

MAX_MODE_BYTES = 256
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def parse_mode(text: str) -> str:
    """The mode a mode file's text holds: its first line that is not blank or a `#` comment,
    a backend name and optionally a model after it (`ollama qwen3-coder`), spaces squeezed."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            if len(words) > 2:
                raise ValueError(f"expected a backend name and a model, got {' '.join(words)!r}")
            return " ".join(words)
    raise ValueError("the mode file is empty")


def split_mode(mode: str) -> tuple[str, str | None]:
    """(backend name, model or None) of a mode parse_mode returned."""
    name, _, model = mode.partition(" ")
    return name, model or None


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


# A file last changed this long before it was read has a timestamp no later write can share:
# the coarsest file timestamps in use are FAT's (2 s); ext3 and HFS+ have 1 s.
SETTLED_NS = 2_000_000_000
# File systems whose stat always shows the latest write, where the name may be kept. Not
# network ones: NFS and SMB clients answer stat from attribute caches (seconds to a
# minute old), where opening the file revalidates it.
LOCAL_FILESYSTEMS = frozenset(
    {
        "ext2",
        "ext3",
        "ext4",
        "xfs",
        "btrfs",
        "tmpfs",
        "ramfs",
        "zfs",
        "f2fs",
        "jfs",
        "reiserfs",
        "bcachefs",
        "overlay",
    }
)


class ModeReader:
    """read_mode of one path, for a router that reads it on every request: on a local file
    system, one stat per read while the file stays as it was, instead of open, fstat, read
    and close (~20 us a request in a router on a small VM).

    The name read is kept with the file's identity: device, inode, size, mode, and
    modification and change times in ns. Every write changes the times, but two writes
    within one timestamp tick (up to 2 s on old file systems) can leave them equal, so a
    name is only kept when the file had been left alone for SETTLED_NS when it was read;
    until then, every read is a full one. Atomic replaces (every hotswap write) change the
    inode as well. Elsewhere (not Linux, a network file system, anything not known to be
    local) every read is a full one."""

    def __init__(self, path: Path, keep: bool | None = None) -> None:
        self.path = path
        self.keep = local_filesystem(path) if keep is None else keep
        self._identity: tuple[int, ...] | None = None
        self._name: str | None = None

    def read(self) -> str | None:
        """read_mode(path), with its errors."""
        if not self.keep:
            return read_mode(self.path)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._identity = None
            return None
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)
        if identity == self._identity:
            return self._name
        self._identity = None
        name = read_mode(self.path)
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS:
            self._identity, self._name = identity, name
        return name


def local_filesystem(path: Path) -> bool:
    """Linux: the file system holding `path` (or its nearest existing folder) is one of
    LOCAL_FILESYSTEMS, by /proc/self/mountinfo. False elsewhere, and whenever unsure
    (including a folder on the way that cannot be looked into)."""
    if not is_linux():
        return False
    try:
        existing = next((p for p in (path, *path.parents) if p.exists()), path)
        st = os.stat(existing)
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            mountinfo = fh.read()
        where = os.path.realpath(existing)
    except OSError:
        return False
    kind = mount_type(mountinfo, os.major(st.st_dev), os.minor(st.st_dev), where)
    return kind in LOCAL_FILESYSTEMS


def mount_type(mountinfo: str, major: int, minor: int, where: str = "") -> str | None:
    """The file system type of the mount with this device number, from mountinfo's text
    (`ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE ...`); failing
    that (btrfs gives each subvolume a device number of its own, which mountinfo does not
    list), the type of the innermost mount point holding the path `where`."""
    device = f"{major}:{minor}"
    best, best_len = None, -1
    for line in mountinfo.splitlines():
        fields = line.split(" ", 5)
        if len(fields) < 5 or " - " not in line:
            continue
        kind = line.split(" - ", 1)[1].split(" ", 1)[0] or None
        if fields[2] == device:
            return kind
        point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if where and inside and len(point) >= best_len:  # the later of equal ones: on top
            best, best_len = kind, len(point)
    return best


def decode_mode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 with a BOM: what Windows PowerShell 5's
    `echo deepseek > FILE` writes."""
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise ValueError("the mode file is not UTF-8 or UTF-16 text") from None


def make_private_dir(path: Path) -> None:
    """mkdir -p, every folder it creates 0700 (Path.mkdir gives missing parents the
    default mode: a fresh state directory would be 0755)."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, readable by the user alone."""
    make_private_dir(path.parent)
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


def write_mode(path: Path, name: str, model: str | None = None) -> None:
    """Point the mode file at backend `name` (and `model`, for every request), atomically."""
    write_private(path, (f"{name} {model}" if model else name).encode() + b"\n")


ROUTES_OFF = "routes-off"  # beside a mode file: this session's routes are off (`routes off`)


def routes_off_path(mode_file: Path) -> Path:
    return mode_file.with_name(ROUTES_OFF)


def routes_off(mode_file: Path) -> bool:
    """Whether `routes off` was given for the mode file's session: one stat, read per
    request by a router with routes configured (a missing file: routes on)."""
    return os.path.exists(routes_off_path(mode_file))


def set_routes(mode_file: Path, on: bool) -> None:
    """`routes on` removes the marker, `routes off` writes it (atomically, 0600)."""
    path = routes_off_path(mode_file)
    if on:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    else:
        write_private(path, b"off\n")
