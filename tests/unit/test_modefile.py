"""The mode file: lenient to read (`echo ds > FILE` works), atomic and private to write."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from hotswap.sessions import modefile
from hotswap.sessions.modefile import (
    MAX_MODE_BYTES,
    ModeReader,
    mount_type,
    parse_mode,
    read_mode,
    split_mode,
    write_mode,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deepseek", "deepseek"),
        ("deepseek\n", "deepseek"),
        ("  ds  \r\n", "ds"),
        ("# chosen by hand\n\n   \nanthropic # was deepseek\n", "anthropic"),
        ("\n\nopenrouter\nignored-second-line\n", "openrouter"),
        ("\tkimi\t# tabbed\n", "kimi"),
    ],
)
def test_parse_mode(text: str, expected: str) -> None:
    assert parse_mode(text) == expected


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "   # x\n"])
def test_parse_mode_without_a_name_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_mode(text)


def test_parse_mode_with_three_words_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'deep seek now'"):
        parse_mode("deep seek now\n")


@pytest.mark.parametrize(
    ("text", "mode", "parts"),
    [
        ("ollama qwen3-coder\n", "ollama qwen3-coder", ("ollama", "qwen3-coder")),
        ("  ollama\t qwen3-coder:30b  # local\n", "ollama qwen3-coder:30b",
         ("ollama", "qwen3-coder:30b")),
        ("deepseek\n", "deepseek", ("deepseek", None)),
    ],
)  # fmt: skip
def test_a_model_may_follow_the_backend_name(text: str, mode: str, parts: tuple) -> None:
    assert parse_mode(text) == mode
    assert split_mode(mode) == parts


def test_write_mode_with_a_model_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "mode"
    write_mode(path, "ollama", "qwen3-coder")
    assert path.read_text() == "ollama qwen3-coder\n"
    assert read_mode(path) == "ollama qwen3-coder"
    write_mode(path, "deepseek")
    assert read_mode(path) == "deepseek"


def test_read_mode_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert read_mode(tmp_path / "no-such-mode") is None


def test_read_mode_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "mode"
    path.write_bytes(b"\xef\xbb\xbfdeepseek\r\n")  # Notepad's UTF-8
    assert read_mode(path) == "deepseek"


def test_read_mode_of_an_oversized_file_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "mode"
    path.write_bytes(b"ds\n" + b"#" * MAX_MODE_BYTES)
    with pytest.raises(ValueError, match="larger than"):
        read_mode(path)


def test_read_mode_at_the_size_limit_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "mode"
    path.write_bytes(b"ds\n" + b"#" * (MAX_MODE_BYTES - 3))
    assert read_mode(path) == "ds"


def test_read_mode_of_non_utf8_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "mode"
    path.write_bytes(b"deeps\xffek\n")
    with pytest.raises(ValueError, match="UTF-8"):
        read_mode(path)


def test_write_mode_is_private_and_readable_back(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "mode"
    write_mode(path, "deepseek")
    assert path.read_text() == "deepseek\n"
    assert read_mode(path) == "deepseek"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0


def test_write_mode_replaces_a_public_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "mode"
    path.write_text("anthropic\n")
    path.chmod(0o644)
    before = path.stat().st_ino
    write_mode(path, "ds")
    assert path.read_text() == "ds\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != before  # a new file renamed over the old one
    assert os.listdir(tmp_path) == ["mode"]  # no temp file left behind


def test_write_mode_failing_midway_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mode"
    write_mode(path, "anthropic")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_mode(path, "deepseek")
    assert path.read_text() == "anthropic\n"
    assert os.listdir(tmp_path) == ["mode"]


def test_a_utf16_file_from_windows_powershell_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mode"
    path.write_bytes("deepseek\r\n".encode("utf-16"))  # what `echo deepseek > mode` writes
    assert read_mode(path) == "deepseek"


class CountingReads:
    """A mode file `path`, and the full reads (open+read) of it; `later` moves the clock on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
        self.path = path
        self.reads = 0
        self.skew_ns = 0
        real_read, real_time = modefile.read_mode, modefile.time.time_ns

        def counting(path: Path) -> str | None:
            self.reads += 1
            return real_read(path)

        monkeypatch.setattr(modefile, "read_mode", counting)
        monkeypatch.setattr(modefile.time, "time_ns", lambda: real_time() + self.skew_ns)

    def later(self) -> None:
        self.skew_ns += 10 * modefile.SETTLED_NS

    def reader(self, keep: bool = True) -> ModeReader:
        return ModeReader(self.path, keep=keep)


@pytest.fixture
def count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CountingReads:
    return CountingReads(monkeypatch, tmp_path / "mode")


def test_a_settled_mode_file_is_read_once_then_only_stat(count: CountingReads) -> None:
    path = count.path
    write_mode(path, "deepseek")
    reader = count.reader()
    count.later()
    assert [reader.read() for _ in range(5)] == ["deepseek"] * 5
    assert count.reads == 1


def test_a_just_written_mode_file_is_read_in_full_every_time(count: CountingReads) -> None:
    """Two in-place writes of the same size within one timestamp tick look alike to stat."""
    path = count.path
    path.write_text("ds\n")
    reader = count.reader()
    assert reader.read() == "ds"
    path.write_text("an\n")  # same inode, same size, maybe the same mtime
    assert reader.read() == "an"
    assert count.reads == 2


@pytest.mark.parametrize("in_place", [False, True])
def test_a_change_after_the_name_was_kept_is_seen_at_once(
    count: CountingReads, in_place: bool
) -> None:
    path = count.path
    write_mode(path, "ds")
    reader = count.reader()
    count.later()
    assert reader.read() == "ds"
    assert reader.read() == "ds"
    if in_place:  # `echo an > FILE`: same inode and size, new mtime and ctime
        st = path.stat()
        path.write_text("an\n")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    else:  # what hotswap's switch commands do: a new file put in its place
        write_mode(path, "an")
    assert reader.read() == "an"
    assert count.reads == 2


def test_a_removed_or_broken_mode_file_is_never_kept(count: CountingReads) -> None:
    path = count.path
    reader = count.reader()
    assert reader.read() is None
    path.write_text("x" * (MAX_MODE_BYTES + 1))
    count.later()
    for _ in range(2):
        with pytest.raises(ValueError, match="larger"):
            reader.read()
    write_mode(path, "kimi")
    assert reader.read() == "kimi"
    path.unlink()
    assert reader.read() is None
    write_mode(path, "glm")
    assert reader.read() == "glm"


def test_two_same_size_writes_within_a_coarse_timestamp_tick_are_both_seen(
    count: CountingReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system with 2 s timestamps (FAT; ext3 and HFS+ have 1 s), a name read
    0.5 s after a write must not be kept: a second write in the same tick looks the same
    to stat."""
    real_stat = os.stat

    def coarse_stat(path: Any, **kwargs: Any) -> os.stat_result:
        st = real_stat(path, **kwargs)
        tick = 2_000_000_000
        times = {
            "st_mtime_ns": st.st_mtime_ns // tick * tick,
            "st_ctime_ns": st.st_ctime_ns // tick * tick,
        }
        return os.stat_result(tuple(st)[:10], times)

    monkeypatch.setattr(modefile.os, "stat", coarse_stat)
    path = count.path
    path.write_text("kimi\n")
    reader = count.reader()
    written = coarse_stat(path).st_mtime_ns
    count.skew_ns = written + 500_000_000 - time.time_ns()  # read 0.5 s into the tick
    assert reader.read() == "kimi"
    path.write_text("qwen\n")  # in place, same size, same (coarse) times
    assert reader.read() == "qwen"


def test_the_name_is_only_kept_on_a_local_file_system(count: CountingReads) -> None:
    path = count.path
    write_mode(path, "deepseek")
    reader = count.reader(keep=False)  # e.g. NFS: stat may answer from a cache
    count.later()
    assert [reader.read() for _ in range(3)] == ["deepseek"] * 3
    assert count.reads == 3


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 27 0:40 / /home rw,relatime shared:5 - nfs4 srv:/home rw,vers=4.2
32 27 0:41 / /tmp rw,nosuid - tmpfs tmpfs rw
33 27 0:50 /@data /srv/my\\040data rw master:1 - btrfs /dev/sdb rw,subvol=/@data
"""


@pytest.mark.parametrize(
    ("major", "minor", "kind"), [(254, 0, "ext4"), (0, 40, "nfs4"), (0, 41, "tmpfs"), (8, 1, None)]
)
def test_mount_type_reads_mountinfo(major: int, minor: int, kind: str | None) -> None:
    assert mount_type(MOUNTINFO, major, minor) == kind
    assert (kind in modefile.LOCAL_FILESYSTEMS) == (kind in ("ext4", "tmpfs"))


@pytest.mark.parametrize(
    ("where", "kind"),
    [
        ("/srv/my data/hotswap/mode", "btrfs"),  # a subvolume's own device number: by path
        ("/home/me/.local/state/hotswap/mode", "nfs4"),
        ("/var/lib/x", "ext4"),
        ("/srv/other", "ext4"),
    ],
)
def test_mount_type_falls_back_to_the_innermost_mount_point(where: str, kind: str) -> None:
    assert mount_type(MOUNTINFO, 0, 99, where) == kind


def test_a_folder_that_cannot_be_looked_into_is_not_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Path.exists raises PermissionError under a folder without x permission: the router
    must still start, and read the file in full (which reports the problem)."""

    def refused(self: Path, **kwargs: Any) -> bool:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(modefile.Path, "exists", refused)
    assert modefile.local_filesystem(tmp_path / "locked" / "mode") is False
    assert ModeReader(tmp_path / "locked" / "mode").keep is False
