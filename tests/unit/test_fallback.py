"""fallback.py alone: the classify table, the 429 wait rule, the breaker's states, the plan."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from hotswap.config.backends import PRESETS, Backend
from hotswap.config.loading import Config, RouterSettings
from hotswap.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamStreamError,
    UpstreamTimeoutError,
)
from hotswap.router.fallback import (
    Breaker,
    Breakers,
    Verdict,
    classify,
    classify_event_error,
    crosses_on_transient,
    plan,
    retry_same_after,
)
from hotswap.router.upstream import mapped_errors

D, S, R, F = Verdict.DELIVER, Verdict.SWITCH, Verdict.RETRY, Verdict.FINAL


def _err(error_type: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": error_type, "message": message}}).encode()


ANTHROPIC_LOW_CREDIT = _err(
    "invalid_request_error",
    "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing "
    "to upgrade or purchase credits.",
)
SPEND_LIMIT = json.dumps(
    {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "You have reached your spend limit.",
            "details": {"error_code": "enforced_spend_limit_reached"},
        },
    }
).encode()
DEEPSEEK_NO_BALANCE = b'{"error":{"message":"Insufficient Balance","type":"unknown_error"}}'


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (0, b"", R),  # refused, reset, TLS, timeout
        (200, b"", D),
        (201, b"", D),
        (400, _err("invalid_request_error", "messages: field required"), F),
        (400, ANTHROPIC_LOW_CREDIT, S),
        (401, _err("authentication_error", "invalid x-api-key"), S),
        (402, _err("billing_error", "no credits"), S),
        (402, DEEPSEEK_NO_BALANCE, S),
        (403, _err("permission_error", "not allowed"), S),
        (404, _err("not_found_error", "model: nope"), F),
        (408, b"", R),
        (409, b"", F),
        (413, _err("request_too_large", "too big"), F),
        (422, b"", F),
        (429, _err("rate_limit_error", "Number of request tokens has exceeded your rate"), R),
        (429, SPEND_LIMIT, S),
        (429, b'{"error":{"code":"insufficient_quota"}}', S),
        (500, _err("api_error", "Internal server error"), R),
        (500, _err("1113", "Insufficient balance or no resource package."), S),
        (502, b"<html>bad gateway</html>", R),
        (503, b"", R),
        (504, b"", R),
        (520, b"", R),
        (529, _err("overloaded_error", "Overloaded"), R),
    ],
)
def test_classify_table(status: int, body: bytes, verdict: Verdict) -> None:
    assert classify(status, body) is verdict


def test_a_hint_only_counts_with_its_status() -> None:
    # "credit balance is too low" in a 500 is a server error, not a refusal
    assert classify(500, ANTHROPIC_LOW_CREDIT) is R
    assert classify(400, SPEND_LIMIT) is F


@pytest.mark.parametrize(
    ("data", "verdict", "status"),
    [
        (_err("overloaded_error", "Overloaded"), R, 529),
        (_err("api_error", "boom"), R, 500),
        (_err("rate_limit_error", "slow down"), R, 429),
        (_err("timeout_error", "slow"), R, 504),
        (_err("billing_error", "no credits"), S, 402),
        (_err("authentication_error", "bad key"), S, 401),
        (_err("permission_error", "no"), S, 403),
        (_err("invalid_request_error", "bad request"), F, 400),
        (_err("invalid_request_error", "Your credit balance is too low to access"), S, 400),
        (_err("1113", "Insufficient balance or no resource package"), S, 500),
        (_err("1234", "something odd"), R, 500),
        (b"not json", R, 500),
    ],
)
def test_classify_event_error(data: bytes, verdict: Verdict, status: int) -> None:
    assert classify_event_error(data) == (verdict, status)


@pytest.mark.parametrize(
    ("status", "retry_after", "body", "wait"),
    [
        (429, "0", b"", 0.0),
        (429, "2", b"", 2.0),
        (429, "2.5", b"", 2.5),
        (429, "60", b"", None),  # too long: try the next backend instead
        (429, "-1", b"", None),
        (429, "Wed, 21 Oct 2026 07:28:00 GMT", b"", None),
        (429, None, b"", None),
        (429, "0", SPEND_LIMIT, None),  # a spend limit does not lift in a second
        (529, "0", b"", None),
        (503, "1", b"", None),
    ],
)
def test_retry_same_after(
    status: int, retry_after: str | None, body: bytes, wait: float | None
) -> None:
    assert retry_same_after(status, retry_after, body) == wait


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_n_failures_then_lets_one_probe_through() -> None:
    clock = Clock()
    breaker = Breaker(failures_to_open=3, cooldown_s=30, clock=clock)
    for _ in range(2):
        breaker.begin()
        breaker.failure()
    assert breaker.state() == "closed" and breaker.available()
    breaker.failure()
    assert breaker.state() == "open" and not breaker.available()
    assert breaker.snapshot() == {"state": "open", "failures": 3, "trips": 1, "retry_in_s": 30.0}
    clock.now += 29.9
    assert not breaker.available()
    clock.now += 0.1
    assert breaker.state() == "half-open" and breaker.available()
    breaker.begin()  # the probe
    assert not breaker.available()  # only one probe at a time
    breaker.success()
    assert breaker.snapshot() == {"state": "closed", "failures": 0, "trips": 1, "retry_in_s": None}


def test_a_failed_probe_reopens_for_another_cooldown() -> None:
    clock = Clock()
    breaker = Breaker(failures_to_open=1, cooldown_s=10, clock=clock)
    breaker.failure()
    clock.now += 10
    breaker.begin()
    breaker.failure()
    assert breaker.state() == "open" and breaker.trips == 1
    clock.now += 9
    assert breaker.state() == "open"
    clock.now += 1
    assert breaker.available()


def test_a_cancelled_probe_frees_the_slot() -> None:
    clock = Clock()
    breaker = Breaker(failures_to_open=1, cooldown_s=10, clock=clock)
    breaker.failure()
    clock.now += 10
    breaker.begin()
    breaker.release()
    assert breaker.available() and breaker.state() == "half-open"


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = Breaker(failures_to_open=2, cooldown_s=10)
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.state() == "closed"


def test_breakers_share_an_injectable_clock() -> None:
    clock = Clock()
    breakers = Breakers(1, 5)
    breakers.get("a").failure()
    breakers.set_clock(clock)
    breakers.get("b").failure()
    clock.now += 5
    assert breakers.get("b").state() == "half-open"
    assert breakers.get("a").clock is clock


def _config(
    tmp_path: Path, fallback: bool = True, transient: bool = False, **chains: tuple[str, ...]
) -> Config:
    backends = dict(PRESETS)
    for name, chain in chains.items():
        backends[name] = backends[name]._replace(fallback=chain)
    router = RouterSettings(fallback=fallback, transient_fallback=transient)
    return Config(state_dir=tmp_path, backends=backends, router=router)


def _names(backends: list) -> list[str]:
    return [b.name for b in backends]


def test_presets_fall_back_from_anthropic_to_deepseek(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _names(plan(config, config.backends["anthropic"])) == ["anthropic", "deepseek"]
    assert _names(plan(config, config.backends["deepseek"])) == ["deepseek"]


def test_plan_follows_the_chain_in_order_by_name_or_alias(tmp_path: Path) -> None:
    config = _config(tmp_path, anthropic=("or", "deepseek", "anthropic", "OpenRouter"))
    chain = plan(config, config.backends["anthropic"])
    assert _names(chain) == ["anthropic", "openrouter", "deepseek"]


def test_fallback_off_per_backend_and_globally(tmp_path: Path) -> None:
    off = _config(tmp_path, anthropic=())
    assert _names(plan(off, off.backends["anthropic"])) == ["anthropic"]
    globally = _config(tmp_path, fallback=False)
    assert _names(plan(globally, globally.backends["anthropic"])) == ["anthropic"]


def test_plan_skips_open_breakers_but_never_plans_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path, transient=True, anthropic=("deepseek", "openrouter"))
    breakers = Breakers(1, 30)
    breakers.get("anthropic").failure()
    assert _names(plan(config, config.backends["anthropic"], breakers)) == [
        "deepseek",
        "openrouter",
    ]
    breakers.get("deepseek").failure()
    breakers.get("openrouter").failure()
    assert _names(plan(config, config.backends["anthropic"], breakers)) == ["anthropic"]


@pytest.mark.parametrize(
    ("raised", "mapped", "text"),
    [
        (aiohttp.ConnectionTimeoutError(), UpstreamTimeoutError, "connect timed out"),
        (aiohttp.SocketTimeoutError(), UpstreamTimeoutError, "idle_timeout_s"),
        (TimeoutError(), UpstreamTimeoutError, "timed out"),
        (aiohttp.ServerDisconnectedError(), UpstreamConnectError, "disconnected"),
        (aiohttp.ClientPayloadError("cut"), UpstreamStreamError, "stream broke"),
        (ConnectionResetError("reset by peer"), UpstreamConnectError, "reset by peer"),
    ],
)
def test_transport_failures_map_to_our_errors(
    raised: BaseException, mapped: type[UpstreamError], text: str
) -> None:
    with pytest.raises(mapped, match=text) as caught, mapped_errors("anthropic", "mid-stream"):
        raise raised
    assert caught.value.backend == "anthropic"
    assert classify(0) is R  # every one of them: next backend, this request only


def test_an_open_breaker_sends_nothing_elsewhere_unless_transient_faults_may_cross(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, anthropic=("deepseek",))
    breakers = Breakers(1, 30)
    breakers.get("anthropic").failure()
    assert _names(plan(config, config.backends["anthropic"], breakers)) == [
        "anthropic",
        "deepseek",  # for a refusal only
    ]


@pytest.mark.parametrize(
    ("router", "backend", "crosses"),
    [(False, None, False), (True, None, True), (False, True, True), (True, False, False)],
)
def test_transient_fallback_per_router_and_per_backend(
    tmp_path: Path, router: bool, backend: bool | None, crosses: bool
) -> None:
    config = _config(tmp_path, transient=router)
    anthropic = config.backends["anthropic"]._replace(transient_fallback=backend)
    assert crosses_on_transient(config, anthropic) is crosses


def test_a_fallback_is_sized_up_only_once_the_backend_before_it_failed(tmp_path: Path) -> None:
    """`holds` (a long request's careful count) runs for a fallback only when the plan gets
    to it: a request its first backend answers never pays for it."""
    config = _config(tmp_path, anthropic=("openrouter", "deepseek"))
    asked: list[str] = []

    def holds(backend: Backend) -> bool:
        asked.append(backend.name)
        return backend.name != "openrouter"

    backends = plan(config, config.backends["anthropic"], holds=holds)
    assert next(backends).name == "anthropic" and asked == []
    assert [b.name for b in backends] == ["deepseek"] and asked == ["openrouter", "deepseek"]
