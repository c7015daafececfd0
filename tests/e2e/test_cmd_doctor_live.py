"""`hotswap doctor --live` against fake backends on 127.0.0.1:0: one fast, one slow past
the timeout, one answering 401, one closed port; keys never printed."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cli_run import assert_no_traceback, hotswap, user_env
from fake_openai import FakeOpenAI
from fakes import FakeUpstream, ThreadedFake, json_error, message_body

KEYS = {
    "DEEPSEEK_API_KEY": "sk-test-SECRET1234abcd",
    "MOONSHOT_API_KEY": "sk-test-SLOWKEY5678efgh",
    "ZAI_API_KEY": "sk-test-BADKEY9012ijkl",
    "DASHSCOPE_API_KEY": "sk-test-DOWNKEY3456mnop",
}


async def stall(request: web.Request) -> web.StreamResponse:
    """No answer until the client gives up (polling the socket, never a fixed delay)."""
    while request.transport is not None and not request.transport.is_closing():
        await asyncio.sleep(0.02)
    return web.Response(status=200)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def backends(home: Path) -> Iterator[dict[str, FakeUpstream]]:
    """deepseek answers, kimi stalls, glm refuses the key, qwen is down."""
    with ExitStack() as stack:
        fast = stack.enter_context(ThreadedFake("deepseek"))
        slow = stack.enter_context(ThreadedFake("kimi"))
        slow.script(stall)
        refusing = stack.enter_context(ThreadedFake("glm"))
        quoted = f"invalid x-api-key {KEYS['ZAI_API_KEY']}"  # a backend quoting the key
        refusing.script(json_error(401, "authentication_error", quoted))
        urls = {
            "deepseek": fast.url,
            "kimi": slow.url,
            "glm": refusing.url,
            "qwen": f"http://127.0.0.1:{closed_port()}",
        }
        (home / "config.toml").write_text(
            "".join(f'[backends.{n}]\nbase_url = "{u}"\n' for n, u in urls.items())
        )
        yield {"deepseek": fast, "kimi": slow, "glm": refusing}


def live(tmp: Path, home: Path, *args: str, **env: str) -> tuple[int, Any, str]:
    done = hotswap("doctor", "--live", *args, env=user_env(tmp, home, **env))
    assert_no_traceback(done)
    for secret in KEYS.values():
        assert secret not in done.stdout + done.stderr
    return done.returncode, done.stdout, done.stderr


def test_each_backend_gets_one_line_saying_what_happened(
    home: Path, tmp_path: Path, backends: dict[str, FakeUpstream]
) -> None:
    code, out, _ = live(tmp_path, home, "--timeout", "1", "--json", **KEYS)
    assert code == 1  # something failed
    report = json.loads(out)
    results = {r["backend"]: r for r in report["results"]}
    assert not report["ok"] and report["timeout_s"] == 1
    ok = results["deepseek"]
    assert (ok["result"], ok["http_status"], ok["model"]) == ("ok", 200, "deepseek-v4-flash")
    assert 0 < ok["ttfb_ms"] <= ok["total_ms"]
    slow = results["kimi"]
    assert slow["result"] == "timeout" and "timed out" in slow["detail"]
    assert slow["total_ms"] >= 1000
    refused = results["glm"]
    assert (refused["result"], refused["http_status"]) == ("refused", 401)
    assert refused["detail"] == "HTTP 401 authentication_error: invalid x-api-key …ijkl"
    down = results["qwen"]
    assert down["result"] == "down" and "cannot connect" in down["detail"]
    assert results["openrouter"]["result"] == "skipped"
    assert results["openrouter"]["detail"] == "OPENROUTER_API_KEY not set"
    assert results["anthropic"]["result"] == "skipped"
    assert "ANTHROPIC_API_KEY" in results["anthropic"]["detail"]
    assert results["ollama"]["result"] == "not checked"  # a local server nobody set up
    assert not results["ollama"]["detail"].startswith("not checked")


def test_the_request_is_tiny_and_authenticated_as_the_router_does(
    home: Path, tmp_path: Path, backends: dict[str, FakeUpstream]
) -> None:
    code, out, _ = live(tmp_path, home, "deepseek", "glm", **KEYS)
    assert code == 1  # glm refuses
    (sent,) = backends["deepseek"].received
    assert sent.method == "POST" and sent.path_qs == "/v1/messages"
    assert sent.headers["x-api-key"] == KEYS["DEEPSEEK_API_KEY"]
    assert "authorization" not in sent.headers
    assert sent.body["max_tokens"] == 1 and sent.body["stream"] is True
    assert sent.body["model"] == "deepseek-v4-flash"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    (refused,) = backends["glm"].received
    assert refused.headers["authorization"] == f"Bearer {KEYS['ZAI_API_KEY']}"
    assert refused.body["model"] == "glm-5.3"
    assert backends["kimi"].received == []  # not named: not probed
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["BACKEND", "RESULT"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"deepseek", "glm"}
    assert rows["deepseek"].split()[1:3] == ["ok", "200"]
    assert "refused  401" in rows["glm"] and "invalid x-api-key" in rows["glm"]


def test_all_good_exits_0_and_anthropic_needs_an_api_key(
    home: Path, tmp_path: Path, backends: dict[str, FakeUpstream]
) -> None:
    fast = backends["deepseek"]
    (home / "config.toml").write_text(f'[backends.anthropic]\nbase_url = "{fast.url}"\n')
    key = "sk-ant-test-KEY99"
    code, out, _ = live(tmp_path, home, "ant", "ds", "--json", ANTHROPIC_API_KEY=key)
    assert code == 0, out
    assert [r["result"] for r in json.loads(out)["results"]] == ["ok", "skipped"]
    (sent,) = fast.received
    assert sent.headers["x-api-key"] == key
    assert sent.body["model"] == "claude-sonnet-5-5"


def test_an_unknown_backend_is_an_error_naming_the_valid_ones(home: Path, tmp_path: Path) -> None:
    code, out, err = live(tmp_path, home, "gpt-9")
    assert code == 2 and out == ""
    assert err.startswith("Error: unknown backend 'gpt-9'") and "deepseek" in err


@pytest.mark.parametrize(
    ("status", "body", "result", "detail"),
    [
        (200, b"event: message_stop\ndata: {}\n\n", "ok", ""),
        (200, json.dumps(message_body()).encode(), "ok", ""),  # stream ignored: fine
        (200, b"event: message_start\ndata: {}\n\n", "error", "the stream ended early"),
        (
            200,
            b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
            b'"message":"busy"}}\n\n',
            "error",
            "stream error: overloaded_error: busy",
        ),
        (403, b'{"error":{"type":"permission_error","message":"no"}}', "refused", "HTTP 403"),
        (529, b"<html>overloaded</html>", "error", "HTTP 529 <html>overloaded</html>"),
    ],
)
def test_what_an_answer_means(status: int, body: bytes, result: str, detail: str) -> None:
    from hotswap.router.probe import judge

    probe = judge("x", "m", status, body, 1.0, 2.0)
    assert probe.result == result and probe.detail.startswith(detail)
    assert probe.failed == (result != "ok")


def test_only_deepseek_set_is_all_good(home: Path, tmp_path: Path) -> None:
    """A DeepSeek-only user: the local servers never set up are not checked, not down."""
    with ThreadedFake("deepseek") as fake:
        (home / "config.toml").write_text(f'[backends.deepseek]\nbase_url = "{fake.url}"\n')
        keys = {"DEEPSEEK_API_KEY": KEYS["DEEPSEEK_API_KEY"]}
        code, out, _ = live(tmp_path, home, "--json", **keys)
        assert code == 0, out
        results = {r["backend"]: r for r in json.loads(out)["results"]}
        assert results["deepseek"]["result"] == "ok" and len(fake.received) == 1
        for local in ("ollama", "llamacpp", "vllm", "sglang", "lmstudio"):
            assert results[local]["result"] == "not checked", results[local]
            assert f"hotswap doctor --live {local}" in results[local]["detail"]
        assert results["openai"]["result"] == "skipped"  # no OPENAI_API_KEY: not a failure
        code, out, _ = live(tmp_path, home, **keys)
        assert code == 0 and "down" not in out


def test_an_openai_wire_backend_with_a_key_is_probed_with_chat_completions(
    home: Path, tmp_path: Path
) -> None:
    threaded = ThreadedFake("openai")
    threaded.fake = FakeOpenAI("openai")
    with threaded as fake:
        (home / "config.toml").write_text(f'[backends.openai]\nbase_url = "{fake.url}"\n')
        key = "sk-test-OPENAIKEY7890qrst"
        code, out, _ = live(tmp_path, home, "--json", OPENAI_API_KEY=key)
        results = {r["backend"]: r for r in json.loads(out)["results"]}
        assert results["openai"]["result"] == "ok", results["openai"]
        assert results["openai"]["http_status"] == 200
        (sent,) = fake.received
        assert sent.path_qs == "/chat/completions"
        assert sent.headers["authorization"] == f"Bearer {key}"
        tokens = sent.body.get("max_completion_tokens", sent.body.get("max_tokens"))
        assert tokens == 1 and sent.body["stream"] is True and fake.rejections == []
        code, out, _ = live(tmp_path, home, "openai", "gpt", OPENAI_API_KEY=key)
        assert len(fake.received) == 2  # named twice (name and alias): probed once
        assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["openai"]


def test_a_configured_local_server_that_is_down_fails(home: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    (home / "config.toml").write_text(
        f'[backends.ollama]\nbase_url = "{url}"\ndefault_model = "qwen3-coder"\n'
    )
    code, out, _ = live(tmp_path, home, "--json")
    assert code == 1
    results = {r["backend"]: r for r in json.loads(out)["results"]}
    assert results["ollama"]["result"] == "down" and "cannot connect" in results["ollama"]["detail"]
    assert results["vllm"]["result"] == "not checked"


def test_a_backend_named_twice_is_probed_once(
    home: Path, tmp_path: Path, backends: dict[str, FakeUpstream]
) -> None:
    code, out, _ = live(tmp_path, home, "deepseek", "ds", "DeepSeek", **KEYS)
    assert code == 0, out
    assert len(backends["deepseek"].received) == 1
    assert len(out.splitlines()) == 2  # the header and one row


def test_a_routes_target_is_relied_on(home: Path) -> None:
    from hotswap.cli.state_checks import relied_on
    from hotswap.config.loading import load_config

    (home / "config.toml").write_text('[[routes]]\nwhen = "background"\nto = "vllm"\n')
    (home / "mode").write_text("kimi\n")
    assert relied_on(load_config()) == {"anthropic", "vllm", "kimi"}
