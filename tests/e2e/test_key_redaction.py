"""One redactor, everywhere: backends that quote back the key they got (`401 invalid x-api-key:
<key>`), the client's own credential, and a key pasted where a variable's name belongs.
Every output is searched for the keys: the client's answers, `/_hotswap/status`, every file
under HOTSWAP_HOME (router.log, the ledger's raw bytes), the commands that show state
(logs, cost, backends, doctor, config show, sessions), and the real Claude Code's output and
its own transcript files under its HOME."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from claude_env import CLAUDE, offline_env
from conftest import backends_toml
from fakes import Reply, ThreadedFake
from runner import BIN, clean_env, cmd, hotswap_run, ready

MARK = "QZLEAKQZ"  # in every key, never in its last 4 characters: found, a key leaked
CLIENT_KEY = f"sk-ant-api03-{MARK}-client-7f3Q-wxyz"
DS_KEY = f"sk-ds-{MARK}-d5e1c0ffee-abcd"
GROQ_KEY = f"gsk_{MARK}7rT9vX2bN4mK8pL3wZ6yH1jF5dS0aGcE9oP7"  # a valid variable name
KEYS = (CLIENT_KEY, DS_KEY, GROQ_KEY)
BODY = {"model": "claude-opus-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
COMMANDS = (
    ("hotswap", "logs", "-n", "50"),
    ("hotswap", "logs", "--json"),
    ("hotswap", "cost"),
    ("hotswap", "cost", "--json"),
    ("hotswap", "backends"),
    ("hotswap", "backends", "--json"),
    ("hotswap", "doctor"),
    ("hotswap", "config", "show"),
    ("hotswap", "config", "show", "--json"),
    ("hotswap", "sessions", "--json"),
)


def quoting(status: int, prefix: str, said: str = "invalid x-api-key") -> Reply:
    """A backend's refusal that quotes the credential it was sent, as some do."""

    async def reply(request: web.Request) -> web.StreamResponse:
        got = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        message = f"{said}: {got.removeprefix('Bearer ')}"
        error = {"type": "authentication_error", "message": message}
        body = {"type": "error", "error": error} if prefix == "anthropic" else {"error": error}
        return web.json_response(body, status=status)

    return reply


def post(base: str, path: str = "/v1/messages", body: object = BODY) -> tuple[int, str]:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": CLIENT_KEY},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def assert_no_key(texts: list[str], home: Path) -> None:
    for text in texts:
        assert MARK not in text, text
    for path in home.rglob("*"):  # router.log, the ledger (raw bytes), state files
        if path.is_file() and path.name != "config.toml":  # the user's own file
            assert MARK.encode() not in path.read_bytes(), path


def shown(env: dict[str, str]) -> list[str]:
    """What every state-showing command prints."""
    out = []
    for args in COMMANDS:
        done = cmd(env, *args)
        out.append(done.stdout + done.stderr)
    return out


def test_a_quoted_key_is_masked_in_answers_status_logs_ledger_and_commands(
    home: Path, tmp_path: Path
) -> None:
    env = {**clean_env(home, tmp_path), "DEEPSEEK_API_KEY": DS_KEY, "GROQ_API_KEY": GROQ_KEY}
    seen: list[str] = []
    with (
        ThreadedFake("anthropic") as ant,
        ThreadedFake("deepseek") as ds,
        ThreadedFake("groq") as groq,
    ):
        ant.script(quoting(401, "anthropic"))
        ds.script(quoting(401, "anthropic"), quoting(400, "anthropic", "bad request for"))
        groq.script(quoting(401, "openai", "Invalid API Key"))
        urls = {"anthropic": ant.url, "deepseek": ds.url, "groq": groq.url}
        (home / "config.toml").write_text(backends_toml(urls))
        with hotswap_run(env) as run:
            base, session = run.env["ANTHROPIC_BASE_URL"], run.env["HOTSWAP_SESSION"]
            inside = {**env, "HOTSWAP_SESSION": session}
            ready(base)
            # anthropic refuses quoting the client's key, deepseek quoting its own: give up
            status, body = post(base)
            assert status == 401 and "…wxyz" in body and "…abcd" in body, body
            seen.append(body)
            # deepseek's 400 is final: relayed as it came, but for its key
            seen.append(cmd(inside, "backend", "deepseek").stdout)
            status, body = post(base)
            assert status == 400 and "bad request for: …abcd" in body, body
            seen.append(body)
            # groq (the OpenAI wire) quotes its bearer token
            seen.append(cmd(inside, "backend", "groq").stdout)
            status, body = post(base, body={**BODY, "stream": True})
            assert status == 401 and "…9oP7" in body, body
            seen.append(body)
            status, body = post(base, "/v1/messages/count_tokens")
            seen.append(body)
            with urllib.request.urlopen(f"{base}/_hotswap/status", timeout=30) as resp:
                status_text = resp.read().decode()
            assert "…" in json.loads(status_text)["last_error"]
            seen += [status_text, *shown(inside)]
            log = (home / "sessions" / session / "router.log").read_text()
            assert "…wxyz" in log, log
            seen += list(run.finish())
        assert ant.received[0].headers["x-api-key"] == CLIENT_KEY  # the keys did go out
        assert ds.received[0].headers["x-api-key"] == DS_KEY
        assert groq.received[0].headers["authorization"] == f"Bearer {GROQ_KEY}"
    seen += shown(env)
    assert "…" in "".join(seen)
    assert_no_key(seen, home)


def test_a_key_pasted_as_api_key_env_is_refused_everywhere_without_showing_it(
    home: Path, tmp_path: Path
) -> None:
    env = {**clean_env(home, tmp_path), "GROQ_API_KEY": GROQ_KEY}
    (home / "config.toml").write_text(f'[backends.groq]\napi_key_env = "{GROQ_KEY}"\n')
    seen = []
    for args in (
        *COMMANDS,
        ("hotswap", "config", "validate"),
        ("hotswap", "serve", "--port", "0"),
        ("hotswap", "run", "-b", "groq"),
        ("backend", "groq"),
    ):
        done = cmd(env, *args)
        seen.append(done.stdout + done.stderr)
        if args[1] in ("backends", "config", "serve", "run", "groq"):
            assert done.returncode != 0, args
            assert "backends.groq.api_key_env looks like a key" in done.stderr, args
    assert_no_key(seen, home)


@pytest.mark.skipif(not CLAUDE.exists(), reason="Claude Code CLI not installed")
def test_the_real_claude_code_never_sees_a_key_a_backend_quoted(tmp_path: Path) -> None:
    """Claude Code prints the API error it got and keeps a transcript: neither has a key."""
    home = tmp_path / "hotswap-home"
    home.mkdir()
    with ThreadedFake("anthropic") as ant, ThreadedFake("deepseek") as ds:
        # (a message with "invalid x-api-key" Claude Code replaces with its own words)
        ant.script(*[quoting(403, "anthropic", "credential not recognised")] * 4)
        ds.script(*[quoting(403, "anthropic", "credential not recognised")] * 4)
        (home / "config.toml").write_text(backends_toml({"anthropic": ant.url, "deepseek": ds.url}))
        env = offline_env(tmp_path, home, ANTHROPIC_API_KEY=CLIENT_KEY, DEEPSEEK_API_KEY=DS_KEY)
        done = subprocess.run(
            [str(BIN / "hotswap"), "run", "-b", "anthropic", "--", "-p", "hi",
             "--output-format", "json"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert ant.received and ant.received[0].headers["x-api-key"] == CLIENT_KEY
        assert ds.received and ds.received[0].headers["x-api-key"] == DS_KEY
    result = json.loads(done.stdout)
    assert result["is_error"] is True
    assert "…wxyz" in result["result"] and "…abcd" in result["result"], result
    transcripts = list((Path(env["HOME"]) / ".claude" / "projects").rglob("*.jsonl"))
    assert transcripts, "Claude Code kept no transcript"
    texts = [done.stdout, done.stderr, *(p.read_text() for p in transcripts)]
    assert_no_key([*texts, *shown({**env, "HOTSWAP_HOME": str(home)})], home)
