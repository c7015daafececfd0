"""The deepclaude aliases' pure parts: the mode body as curl, PowerShell and JSON clients send
it, and the status in deepclaude's field names."""

from __future__ import annotations

import pytest

from hotswap.router.deepclaude import deepclaude_status, parse_mode_body

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        (b"backend=deepseek", FORM, ("deepseek", None)),  # curl -d backend=deepseek
        (b"backend=ds", "application/octet-stream", ("ds", None)),  # no content type
        (b"backend=ollama&model=qwen3-coder", FORM, ("ollama", "qwen3-coder")),
        (b'{"backend": "or"}', "application/json", ("or", None)),
        (b'{"backend": " fw ", "model": "m"}', "text/plain", ("fw", "m")),  # JSON by its look
        (b"backend=ds\n", FORM, ("ds", None)),
    ],
)
def test_parse_mode_body(raw: bytes, content_type: str, expected: tuple[str, str | None]) -> None:
    assert parse_mode_body(raw, content_type) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "no backend"),
        (b"mode=ds", "no backend"),
        (b"backend=", "no backend"),
        (b'{"backend": 3}', "no backend"),
        (b'["ds"]', "no backend"),
        (b'{"backend": "ds", "model": 1}', "model must be a string"),
        (b"{backend", "not JSON"),
    ],
)
def test_parse_mode_body_refuses(raw: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_mode_body(raw, FORM)


def test_status_keeps_hotswaps_fields_under_deepclaudes_names() -> None:
    status = {"mode": "deepseek", "uptime_s": 12.7, "requests": {"a": 2, "b": 1}, "port": 4}
    shown = deepclaude_status(status)
    assert shown == {
        "mode": "deepseek",
        "uptime_s": 12.7,
        "uptime": 12,
        "requests": 3,
        "requests_by_backend": {"a": 2, "b": 1},
        "port": 4,
    }
