"""The mode file: lenient to read (`echo ds > FILE` works), atomic and private to write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hotswap.modefile import MAX_MODE_BYTES, parse_mode, read_mode, write_mode


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


def test_parse_mode_with_two_words_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'deep seek'"):
        parse_mode("deep seek\n")


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
