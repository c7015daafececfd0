"""Switching tells the truth, as a user types the commands: a switch to a backend whose key
the router lacks warns, a switch nobody follows says so, a broken mode file is an exit
status, and `hotswap run` names what it drops or redirects and how to resume through it."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from claude_env import needs_claude, offline_env
from fakes import ThreadedFake
from runner import BIN, clean_env, cmd, hotswap_run, post, ready


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    return clean_env(home, tmp_path)


def test_switching_to_a_backend_whose_key_the_router_lacks_switches_and_warns(
    env: dict[str, str],
) -> None:
    with hotswap_run(env) as run:
        ready(run.env["ANTHROPIC_BASE_URL"])
        inside = {**env, "HOTSWAP_SESSION": run.env["HOTSWAP_SESSION"]}
        done = cmd(inside, "backend", "kimi")
        assert done.returncode == 0
        assert re.fullmatch(r"session \w+ \(port \d+\): anthropic -> kimi\n", done.stdout)
        assert done.stderr.startswith("warning: MOONSHOT_API_KEY is not set where session ")
        assert len(done.stderr.splitlines()) == 1
        assert cmd(inside, "backend").stdout.startswith("kimi  ")
        # the next request gets an error Claude Code will not present as a login problem
        assert post(run.env["ANTHROPIC_BASE_URL"]) == 424
        run.finish()


def test_no_warning_when_the_router_has_the_key(env: dict[str, str]) -> None:
    with hotswap_run({**env, "MOONSHOT_API_KEY": "sk-moon-set"}) as run:
        ready(run.env["ANTHROPIC_BASE_URL"])
        done = cmd({**env, "HOTSWAP_SESSION": run.env["HOTSWAP_SESSION"]}, "backend", "kimi")
        assert done.returncode == 0 and done.stderr == ""
        run.finish()


def test_ds_outside_any_session_names_the_file_and_that_no_router_follows_it(
    home: Path, env: dict[str, str]
) -> None:
    done = cmd(env, "ds")
    assert done.returncode == 0
    assert done.stdout == f"global ({home / 'mode'}): anthropic -> deepseek\n"
    assert done.stderr == (
        f"note: wrote {home / 'mode'}, but no `hotswap serve` follows it: start one, or use "
        "`hotswap run` for a session of its own\n"
    )
    serve = subprocess.Popen(
        [str(BIN / "hotswap"), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        assert serve.stdout.readline().startswith("listening on ")
        done = cmd(env, "ant")
        assert done.returncode == 0 and done.stderr == ""
        assert cmd(env, "backend", "kimi").stderr.startswith(
            "warning: MOONSHOT_API_KEY is not set where the router runs"
        )
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(15)
    assert not (home / "serve.json").exists()
    assert "no `hotswap serve` follows it" in cmd(env, "ds").stderr


@pytest.mark.parametrize("content", ["nosuchbackend\n", "two words\n", ""])
def test_backend_exits_non_zero_when_the_mode_file_has_a_problem(
    home: Path, env: dict[str, str], content: str
) -> None:
    (home / "mode").write_text(content)
    done = cmd(env, "backend")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (home / "mode").write_text("deepseek\n")
    assert cmd(env, "backend").returncode == 0


def test_a_dropped_model_variable_is_named_once_on_the_terminal(env: dict[str, str]) -> None:
    with hotswap_run({**env, "ANTHROPIC_MODEL": "deepseek-chat"}) as run:
        assert "ANTHROPIC_MODEL" not in {k for k, v in run.env.items() if v}
        _, err = run.finish()
    assert err.count("ANTHROPIC_MODEL=deepseek-chat") == 1
    assert err.startswith("hotswap: not passing ANTHROPIC_MODEL=deepseek-chat to Claude Code")


def test_a_users_own_base_url_becomes_the_anthropic_backend_of_the_session(
    env: dict[str, str],
) -> None:
    with ThreadedFake("gateway") as gateway:
        with hotswap_run({**env, "ANTHROPIC_BASE_URL": gateway.url + "/"}) as run:
            assert run.env["ANTHROPIC_BASE_URL"] != gateway.url
            assert post(run.env["ANTHROPIC_BASE_URL"]) == 200
            _, err = run.finish()
        assert [r.path_qs for r in gateway.received] == ["/v1/messages"]
        assert gateway.received[0].headers["x-api-key"] == "sk-ant-user"
    assert f"the anthropic backend goes to your ANTHROPIC_BASE_URL ({gateway.url})" in err


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:3199", "http://localhost:3199/", "https://api.anthropic.com"]
)
def test_serves_default_url_is_refused_and_anthropics_own_passes_silently(
    env: dict[str, str], url: str
) -> None:
    if "3199" in url:
        done = cmd({**env, "ANTHROPIC_BASE_URL": url}, "hotswap", "run")
        assert done.returncode == 2 and "points at a hotswap router" in done.stderr
        return
    with hotswap_run({**env, "ANTHROPIC_BASE_URL": url}) as run:
        _, err = run.finish()
    assert err == ""


def test_a_base_url_pointing_at_a_hotswap_router_is_refused(env: dict[str, str]) -> None:
    with hotswap_run(env) as outer:
        router = outer.env["ANTHROPIC_BASE_URL"]
        nested = subprocess.run(
            [str(BIN / "hotswap"), "run"],
            env={**env, "ANTHROPIC_BASE_URL": router},
            capture_output=True,
            text=True,
            timeout=30,
        )
        outer.finish()
    assert nested.returncode == 2
    assert nested.stdout == ""
    assert nested.stderr.startswith("Error: ANTHROPIC_BASE_URL (http://127.0.0.1:")
    assert "points at a hotswap router" in nested.stderr
    secret = router.rsplit("/", 1)[1]
    assert secret not in nested.stderr
    assert len(nested.stderr.splitlines()) == 2  # the error, then its `  fix:` line


def test_after_an_interactive_session_it_says_how_to_resume_through_hotswap(
    env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "my_project"
    project.mkdir()
    with hotswap_run(env, cwd=project) as run:
        transcripts = tmp_path / ".claude" / "projects" / "-".join(["", *project.parts[1:]])
        transcripts = transcripts.with_name(transcripts.name.replace("_", "-"))
        transcripts.mkdir(parents=True)
        (transcripts / "0945ecc2-71d1-42ed-8647-3420b09a1224.jsonl").write_text("{}\n")
        out, _ = run.finish()
    assert out.splitlines()[-1] == (
        "Resume this session through hotswap with: "
        "hotswap run -- --resume 0945ecc2-71d1-42ed-8647-3420b09a1224"
    )


def test_no_resume_hint_after_claude_p(env: dict[str, str], tmp_path: Path) -> None:
    with hotswap_run(env, "--", "-p", "hi", cwd=tmp_path) as run:
        out, _ = run.finish()
    assert "resume" not in out


@needs_claude
def test_claude_code_shows_a_missing_key_as_it_is_not_as_a_login_problem(tmp_path: Path) -> None:
    """The real Claude Code, through `hotswap run -b kimi` without MOONSHOT_API_KEY: it
    reports our message once, without "Failed to authenticate" or a /login hint (which
    it adds to 401 and 403)."""
    home = tmp_path / "hotswap-home"
    home.mkdir()
    done = subprocess.run(
        [str(BIN / "hotswap"), "run", "-b", "kimi", "--", "-p", "hi"],
        env=offline_env(tmp_path, home, ANTHROPIC_API_KEY="sk-ant-user"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("API Error: 424 hotswap: backend 'kimi' needs its API key")
    assert "MOONSHOT_API_KEY" in done.stdout
    assert "authenticate" not in done.stdout.lower() and "login" not in done.stdout.lower()


def test_a_backend_added_after_the_router_started_is_refused_not_reported(
    home: Path, env: dict[str, str]
) -> None:
    with hotswap_run(env) as run:
        ready(run.env["ANTHROPIC_BASE_URL"])
        (home / "config.toml").write_text(
            '[backends.newbie]\nbase_url = "http://127.0.0.1:9"\nauth = "none"\n'
        )  # added while the session runs: its router read the config at start
        inside = {**env, "HOTSWAP_SESSION": run.env["HOTSWAP_SESSION"]}
        for args in (("hotswap", "use", "newbie"), ("backend", "newbie")):
            done = cmd(inside, *args)
            assert done.returncode != 0 and done.stdout == ""
            assert done.stderr.startswith("Error: session ") and "restart" in done.stderr
        assert cmd(inside, "backend").stdout.startswith("anthropic  ")  # nothing written
        assert cmd(inside, "ds").returncode == 0  # a backend it knows still switches
        run.finish()
