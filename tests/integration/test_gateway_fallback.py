"""A sticky fallback on the gateway: the backend of a user's mode refuses (401/402/403),
the request is answered by its fallback, and the switch is saved as that user's session's
mode in Redis -- so every instance sends their next request straight to the fallback, and
their status says why -- while other users' modes stay as they were."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from cli_run import user_env
from fakes import json_error
from gateway_team import (  # noqa: F401
    Team,
    ask,
    command,
    postgres_fixture,
    redis_fixture,
    team_fixture,
)


def _fallback_config(team: Team) -> None:
    (team.home / "config.toml").write_text(
        f'[backends.deepseek]\nbase_url = "{team.deepseek.url}"\n\n'
        f'[backends.anthropic]\nbase_url = "{team.anthropic.url}"\nfallback = ["deepseek"]\n'
    )


async def _get(url: str, key: str, path: str, session: str | None = None) -> dict[str, object]:
    headers = {"authorization": f"Bearer {key}"}
    if session:
        headers["x-claude-code-session-id"] = session
    async with aiohttp.ClientSession() as client, client.get(url + path, headers=headers) as r:
        assert r.status == 200
        answer: dict[str, object] = json.loads(await r.text())
        return answer


async def test_a_refusal_switches_the_session_on_every_instance(team: Team, tmp_path: Path) -> None:
    _fallback_config(team)
    one, two = await team.start(), await team.start()
    alice, bob = await team.key("alice"), await team.key("bob")
    team.anthropic.script(json_error(401, "authentication_error", "invalid x-api-key"))
    n_ds, n_ant = len(team.deepseek.received), len(team.anthropic.received)
    assert (await ask(one, alice, session="a1"))[0] == 200  # answered by the fallback
    assert len(team.anthropic.received) == n_ant + 1 and len(team.deepseek.received) == n_ds + 1
    # her next request, through the other instance, goes straight to the fallback
    assert (await ask(two, alice, session="a1"))[0] == 200
    assert len(team.anthropic.received) == n_ant + 1 and len(team.deepseek.received) == n_ds + 2
    status = await _get(two, alice, "/_hotswap/status", session="a1")
    assert status["mode"] == "deepseek" and status["mode_source"] == "session"
    note = str(status["fallback"])
    assert "fell back from anthropic to deepseek" in note and "401" in note
    mode = await _get(one, alice, "/_hotswap/mode", session="a1")
    assert mode["backend"] == "deepseek" and mode["fallback"] == note
    inside = {**user_env(tmp_path, team.home), "HOTSWAP_GATEWAY": one,
              "ANTHROPIC_AUTH_TOKEN": alice, "HOTSWAP_GATEWAY_SESSION": "a1"}  # fmt: skip
    code, out, err = await command("backend", env=inside)  # `!backend` says why, too
    assert code == 0 and out.splitlines() == [
        "deepseek  (gateway: alice's, session a1)",
        f"  {note}",
    ], err
    # bob, and alice's other sessions, stay on the default
    assert (await ask(two, bob, session="a1"))[0] == 200
    assert (await ask(one, alice, session="a2"))[0] == 200
    assert len(team.anthropic.received) == n_ant + 3
    assert (await _get(one, bob, "/_hotswap/status"))["fallback"] is None


async def test_a_note_quoting_the_teams_key_is_masked_everywhere_it_goes(
    team: Team, tmp_path: Path
) -> None:
    import redis

    from gateway_team import ANT_KEY

    _fallback_config(team)
    url = await team.start()
    alice = await team.key("alice")
    team.anthropic.script(json_error(401, "authentication_error", f"invalid x-api-key {ANT_KEY}"))
    assert (await ask(url, alice, session="a1"))[0] == 200
    with redis.Redis.from_url(team.redis.url) as r:
        keys = [k for k in r.keys("hotswap:u:*") if r.type(k) == b"string"]
        stored = b"".join(r.get(k) or b"" for k in keys)
    assert b"invalid x-api-key" in stored and ANT_KEY.encode() not in stored  # never stored
    mode = await _get(url, alice, "/_hotswap/mode", session="a1")
    status = await _get(url, alice, "/_hotswap/status", session="a1")
    for note in (mode["fallback"], status["fallback"]):
        assert "invalid x-api-key" in str(note) and ANT_KEY not in str(note)
    inside = {**user_env(tmp_path, team.home), "HOTSWAP_GATEWAY": url,
              "ANTHROPIC_AUTH_TOKEN": alice, "HOTSWAP_GATEWAY_SESSION": "a1"}  # fmt: skip
    code, out, err = await command("backend", env=inside)
    assert code == 0 and "invalid x-api-key" in out and ANT_KEY not in out + err
