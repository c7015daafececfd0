"""Inside a `hotswap run --gateway` session every switch command goes to the gateway or
says why it cannot; none writes a local mode file (there was none to write: `backend NAME`
and `routes off` wrote the global one)."""

from __future__ import annotations

from pathlib import Path

from cli_run import user_env
from gateway_team import (  # noqa: F401
    Team,
    ask,
    command,
    postgres_fixture,
    redis_fixture,
    team_fixture,
)


async def test_every_switch_command_inside_a_gateway_session(team: Team, tmp_path: Path) -> None:
    url = await team.start()
    alice = await team.key("alice")
    env = user_env(tmp_path, team.home, HOTSWAP_GATEWAY_KEY=alice)
    inside = {**env, "HOTSWAP_GATEWAY": url, "HOTSWAP_GATEWAY_SESSION": "cc-9",
              "ANTHROPIC_AUTH_TOKEN": alice}  # fmt: skip
    code, out, err = await command("backend", "deepseek", env=inside)
    assert code == 0 and "alice's session cc-9 -> deepseek" in out, err
    n = len(team.deepseek.received)
    assert (await ask(url, alice, session="cc-9"))[0] == 200
    assert len(team.deepseek.received) == n + 1
    code, out, err = await command(
        "backend", env=inside
    )  # bare: the session's, as the gateway has it
    assert code == 0 and out.startswith("deepseek  (gateway: alice's, session cc-9)"), err
    code, out, err = await command("backend", env={**inside, "HOTSWAP_GATEWAY_SESSION": "cc-2"})
    assert code == 0 and "(gateway: the gateway's default, session cc-2)" in out, err
    code, out, err = await command("backend", "--all", env=inside)  # the user's, every session
    assert code == 0 and "(gateway: the gateway's default, every session)" in out, err
    code, out, err = await command("backend", "--port", "9", env=inside)  # a local session
    assert code != 0 and "port 9" in err and "gateway" not in err, (out, err)
    for argv in (("routes", "off"), ("ds", "--model", "x")):
        code, out, err = await command(*argv, env=inside)
        assert code != 0 and "gateway" in err, (argv, out, err)
    assert not (team.home / "mode").exists()  # nothing local was written
    code, out, err = await command("hotswap", "statusline", env=inside)  # no advice to switch
    assert code == 0 and out.startswith("⇄ team gateway") and "switch with" not in out, err
    code, out, err = await command("hotswap", "backends", env=inside)
    assert code == 0 and "switch with" not in out + err, (out, err)
