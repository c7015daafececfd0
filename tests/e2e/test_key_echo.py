"""Keys are never echoed, whatever the config says: distinctive key values go through config
errors, missing and unsendable keys, requests, a fallback, the status endpoint, the switch
commands, `sessions --json`, the status line and the logs; none of the output, error
bodies, log lines or state files holds any of them."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import backends_toml
from fakes import ThreadedFake, json_error, sse_message
from runner import BIN, clean_env, cmd, hotswap_run, ready

MARK = "ECHOTEST"  # in every key value: a search for it finds any part of any key
DS_KEY = f"sk-ds-{MARK}-d5e1c0ffee"
MOON_KEY_PASTED = f"sk-kimi-{MARK}-pasted-into-api-key-env"
ZAI_KEY_BROKEN = f"sk-zai-{MARK}-line\nbreak"
CLIENT_KEY = f"sk-ant-{MARK}-client"
BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    return {
        **clean_env(home, tmp_path),
        "DEEPSEEK_API_KEY": DS_KEY,
        "ZAI_API_KEY": ZAI_KEY_BROKEN,
    }


def request(base_url: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(
        base_url + path,
        data=body,
        method="POST" if body is not None else "GET",
        headers={"content-type": "application/json", "x-api-key": CLIENT_KEY},
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, f"{resp.headers}\n{resp.read().decode()}"
    except urllib.error.HTTPError as exc:
        return exc.code, f"{exc.headers}\n{exc.read().decode()}"


def raw(port: int, data: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def outputs(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def test_a_key_pasted_where_a_variable_name_belongs_is_a_config_error_that_hides_it(
    home: Path, env: dict[str, str]
) -> None:
    (home / "config.toml").write_text(f'[backends.kimi]\napi_key_env = "{MOON_KEY_PASTED}"\n')
    seen = []
    for args in (
        ("hotswap", "serve", "--port", "0"),
        ("hotswap", "run"),
        ("backend", "kimi"),
        ("ds",),
        ("sessions", "--json"),
        ("hotswap", "statusline"),
    ):
        done = cmd(env, *args)
        seen.append(outputs(done))
        if args[0] != "hotswap" or args[1] != "statusline":
            assert done.returncode == 2, args
            assert "backends.kimi.api_key_env looks like a key" in done.stderr, args
    assert MARK not in "\n".join(seen)


def test_no_key_reaches_any_output_error_body_log_or_state_file(
    home: Path, env: dict[str, str]
) -> None:
    seen: list[str] = []
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        ant.script(json_error(402, "billing_error", "Your credit balance is too low"))
        ds.script(sse_message("fell back"), sse_message("again"))
        toml = backends_toml({"anthropic": ant.url, "deepseek": ds.url, "glm": ds.url})
        (home / "config.toml").write_text(toml)
        with hotswap_run(env) as run:
            base = run.env["ANTHROPIC_BASE_URL"]
            session = run.env["HOTSWAP_SESSION"]
            port = int(base.split(":")[2].split("/")[0])
            inside = {**env, "HOTSWAP_SESSION": session}
            ready(base)
            stream = json.dumps({**BODY, "stream": True}).encode()
            # anthropic refuses (402): the request falls back to deepseek, stickily
            status, body = request(base, "/v1/messages", stream)
            assert status == 200
            seen.append(body)
            # kimi: its key variable is unset
            seen.append(outputs(cmd(inside, "backend", "kimi")))
            status, body = request(base, "/v1/messages", stream)
            assert status == 424 and "MOONSHOT_API_KEY" in body
            seen.append(body)
            # glm: its key cannot be sent (a newline)
            seen.append(outputs(cmd(inside, "backend", "glm")))
            status, body = request(base, "/v1/messages", stream)
            assert status == 424 and "ZAI_API_KEY" in body
            seen.append(body)
            # bad requests
            seen.append(outputs(cmd(inside, "ds")))
            seen.append(request(base, "/v1/messages", b"{not json")[1])
            seen.append(request(base, "/v1/nothing-here", b"{}")[1])
            seen.append(raw(port, b"POST /x HTTP/1.1\r\nBad Header\r\n\r\n"))
            seen.append(raw(port, f"GET /s/{CLIENT_KEY}/v1 HTTP/1.1\r\n\r\n".encode()))
            # everything that shows state
            seen.append(request(base, "/_hotswap/status")[1])
            for args in (("sessions", "--json"), ("sessions",), ("backend",)):
                seen.append(outputs(cmd(inside, *args)))
            seen.append(
                subprocess.run(
                    [str(BIN / "hotswap"), "statusline"],
                    env=inside,
                    input="{}",
                    capture_output=True,
                    text=True,
                    timeout=30,
                ).stdout
            )
            folder = home / "sessions" / session
            files = {p.name: p.read_text() for p in folder.iterdir()}
            assert "fell back from anthropic to deepseek" in files["router.log"]
            out, err = run.finish()
            seen += [out, err, *files.values()]
        assert ds.received[0].headers["x-api-key"] == DS_KEY  # the key did reach its backend
        assert CLIENT_KEY not in str(ds.received[0].headers)
    for name, text in files.items():
        assert MARK not in text, name
    for path in home.rglob("*"):  # the ledger, serve.json, anything else hotswap keeps
        if path.is_file() and path.name != "config.toml":
            assert MARK.encode() not in path.read_bytes(), path
    for text in seen:
        assert MARK not in text, text
