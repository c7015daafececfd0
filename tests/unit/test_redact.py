"""The redactor: every secret it knows masked as `…` + its last 4 characters, in text, bytes,
log records and exchange records; short values left alone; clean text returned as is."""

from __future__ import annotations

import logging

import pytest

from hotswap.redact import MAX_LEARNT, LogRedaction, Redactor, client_credentials, mask, masked
from hotswap.router.exchange import AttemptRecord, ExchangeRecord, redacted

KEY = "gsk_Q7rT9vX2bN4mK8pL3wZ6yH1jF5dS0aGcE2uI9oP7"
CLIENT = "sk-ant-" + "api03-client-credential-wxyz"  # split: no key-shaped literal


def test_a_secret_is_masked_to_its_last_four_characters_as_the_cli_shows_keys() -> None:
    r = Redactor([KEY])
    assert r.text(f"invalid x-api-key: {KEY}") == "invalid x-api-key: …9oP7"
    body = f'{{"message":"bad key {KEY}"}}'.encode()
    assert r.bytes(body) == '{"message":"bad key …9oP7"}'.encode()
    assert mask(KEY) == f"set ({masked(KEY)})" == "set (…9oP7)"


def test_clean_text_is_the_same_object() -> None:
    r = Redactor([KEY])
    text, data = "HTTP 401 authentication_error: invalid x-api-key", b'{"type":"error"}'
    assert r.text(text) is text
    assert r.bytes(data) is data


def test_short_values_are_not_redacted_and_mid_length_ones_show_no_characters() -> None:
    r = Redactor(["abc", "test", "", None, "12345678", "sk-short-9"])
    assert r.text("abc test 1234567") == "abc test 1234567"
    assert r.text("x 12345678 y sk-short-9") == "x … y …"


def test_a_secret_containing_another_is_masked_whole() -> None:
    inner = KEY[4:20]
    r = Redactor([inner, KEY])
    assert r.text(KEY) == "…9oP7"


def test_the_client_credential_is_learnt_from_its_headers() -> None:
    assert client_credentials({"x-api-key": CLIENT}) == (CLIENT,)
    assert client_credentials({"authorization": f"Bearer {CLIENT}"}) == (CLIENT,)
    r = Redactor()
    r.learn({"authorization": f"Bearer {CLIENT}"})
    assert CLIENT not in r.text(f"invalid token {CLIENT}")


def test_learnt_credentials_are_bounded_the_oldest_forgotten() -> None:
    r = Redactor([KEY])
    tokens = [f"client-token-{i:04d}" for i in range(MAX_LEARNT + 1)]
    for token in tokens:
        r.learn({"x-api-key": token})
    assert tokens[0] in r.text(tokens[0])
    assert tokens[-1] not in r.text(tokens[-1])
    assert KEY not in r.text(KEY)  # configured keys are never forgotten


def test_log_records_are_masked_in_message_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("hotswap.test_redact")
    redaction = LogRedaction(Redactor([KEY]))
    log.addFilter(redaction)
    try:
        with caplog.at_level(logging.INFO, logger="hotswap.test_redact"):
            log.warning("deepseek failed: %s", f"HTTP 401 invalid key {KEY}")
            try:
                raise ValueError(f"bad {KEY}")
            except ValueError:
                log.exception("boom")
    finally:
        log.removeFilter(redaction)
    assert KEY not in caplog.text
    assert "HTTP 401 invalid key …9oP7" in caplog.text
    assert "ValueError: bad …9oP7" in caplog.text


def _record(error: str | None, reason: str) -> ExchangeRecord:
    attempt = AttemptRecord("deepseek", 401, "switch", reason)
    return ExchangeRecord(
        id="x", started=0.0, session=None, endpoint="messages", stream=True,
        client_model=None, active="deepseek", backend=None, wire_model=None,
        response_model=None, status=401, outcome="failed", error=error, attempts=(attempt,),
    )  # fmt: skip


def test_an_exchange_record_is_masked_in_its_error_and_reasons_and_kept_when_clean() -> None:
    r = Redactor([KEY])
    dirty = _record(f"deepseek: HTTP 401 {KEY}", f"HTTP 401 {KEY}")
    clean = redacted(dirty, r)
    assert KEY not in repr(clean)
    assert clean.error == "deepseek: HTTP 401 …9oP7"
    assert clean.attempts[0].reason == "HTTP 401 …9oP7"
    ok = _record(None, "")
    assert redacted(ok, r) is ok
