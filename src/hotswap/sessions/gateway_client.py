"""A team gateway as the switch commands and `hotswap run --gateway` see it (stdlib only:
`ds` inside a gateway session starts in tens of milliseconds and posts one request).

`hotswap run --gateway URL` starts Claude Code with ANTHROPIC_BASE_URL=URL,
ANTHROPIC_AUTH_TOKEN=the user's key (HOTSWAP_GATEWAY_KEY) and its own session id
(`claude --session-id`), which Claude Code sends as x-claude-code-session-id and the
switch commands inside it find in HOTSWAP_GATEWAY_SESSION: `!ds` switches that session.
"""

from __future__ import annotations

import json
import os
import urllib.parse  # already loaded: pathlib imports it
from collections.abc import Mapping

from hotswap.errors import ConfigError

GATEWAY_ENV = "HOTSWAP_GATEWAY"  # the gateway's URL, inside a gateway session
KEY_ENV = "HOTSWAP_GATEWAY_KEY"  # the user's key
SESSION_ENV = "HOTSWAP_GATEWAY_SESSION"  # Claude Code's session id, inside one
TIMEOUT_S = 5.0
_OWN_SESSION = ("--resume", "-r", "--continue", "-c", "--session-id", "--fork-session")


class GatewaySwitchError(Exception):
    """The gateway refused the switch, or cannot be reached; printed as `Error: ...`."""


def post_mode(url: str, key: str, backend: str, session: str | None) -> dict[str, object]:
    """POST /_hotswap/mode; the gateway's answer, or GatewaySwitchError with its message."""
    body = json.dumps({"backend": backend, **({"session": session} if session else {})})
    return _call("POST", url, key, "/_hotswap/mode", body)


def get_mode(url: str, key: str, session: str | None) -> dict[str, object]:
    """GET /_hotswap/mode: the session's backend (or the user's), and the fallback note."""
    query = "?" + urllib.parse.urlencode({"session": session}) if session else ""
    return _call("GET", url, key, "/_hotswap/mode" + query, None)


def _call(method: str, url: str, key: str, path: str, body: str | None) -> dict[str, object]:
    import http.client  # here: `backend` without a gateway never pays for it

    parts = urllib.parse.urlsplit(url.rstrip("/"))
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.netloc, timeout=TIMEOUT_S)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    try:
        conn.request(method, parts.path + path, body=body, headers=headers)
        resp = conn.getresponse()
        data = json.loads(resp.read() or b"{}")
    except (OSError, ValueError) as exc:
        raise GatewaySwitchError(f"cannot reach the gateway at {url}: {exc}") from None
    finally:
        conn.close()
    if resp.status != 200:
        message = data.get("error", {}).get("message") if isinstance(data, dict) else None
        raise GatewaySwitchError(message or f"the gateway answered HTTP {resp.status}")
    return data if isinstance(data, dict) else {}


def switch_line(answer: Mapping[str, object]) -> str:
    where = f"session {answer.get('session')}" if answer.get("session") else "every session"
    return f"gateway: {answer.get('user')}'s {where} -> {answer.get('backend')}"


def mode_line(answer: Mapping[str, object]) -> str:
    """Bare `backend` in a gateway session: the mode, where it comes from, and why the
    gateway chose it if a refusal made it fall back."""
    whose = f"session {answer.get('session')}" if answer.get("session") else "every session"
    source = "the gateway's default" if answer.get("default") else f"{answer.get('user')}'s"
    line = f"{answer.get('backend')}  (gateway: {source}, {whose})"
    return line + (f"\n  {answer['fallback']}" if answer.get("fallback") else "")


def session_environment(url: str, environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """Claude Code's environment for a gateway session, and the session's id."""
    key = environ.get(KEY_ENV)
    if not key:
        raise ConfigError(f"set {KEY_ENV} to your gateway key (`hotswap gateway keys create`)")
    import uuid  # here: uuid imports platform (~4 ms), which `ds` never needs

    session = str(uuid.uuid4())
    env = dict(environ)
    env.pop("ANTHROPIC_API_KEY", None)  # Claude Code would prefer it to the token
    env.update({"ANTHROPIC_BASE_URL": url.rstrip("/"), "ANTHROPIC_AUTH_TOKEN": key,
                GATEWAY_ENV: url.rstrip("/"), SESSION_ENV: session})  # fmt: skip
    return env, session


def run_gateway_session(claude: str, url: str, claude_args: list[str],
                        environ: Mapping[str, str]) -> int:  # fmt: skip
    """Claude Code against the gateway, in this process's place (nothing of hotswap's
    runs meanwhile: the gateway is the router)."""
    env, session = session_environment(url, environ)
    own = any(a.split("=", 1)[0] in _OWN_SESSION for a in claude_args)
    argv = [claude, *([] if own else ["--session-id", session]), *claude_args]
    os.execve(claude, argv, env)
    return 127  # not reached
