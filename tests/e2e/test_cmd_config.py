"""`hotswap config init|path|show|validate` as a user types them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from cli_run import assert_no_traceback, hotswap, user_env
from hotswap.config.backends import PRESETS
from hotswap.config.loading import load_config

SECRET = "sk-test-SECRET1234abcd"


def test_init_writes_a_commented_starter_that_lists_every_preset(
    home: Path, tmp_path: Path
) -> None:
    env = user_env(tmp_path, home)
    done = hotswap("config", "init", env=env)
    assert done.returncode == 0, done.stderr
    path = home / "config.toml"
    assert done.stdout.startswith(f"wrote {path}\n")
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    for b in PRESETS.values():
        assert f"# [backends.{b.name}]" in text and f'# base_url = "{b.base_url}"' in text
        if b.api_key_env:
            assert f'# api_key_env = "{b.api_key_env}"' in text
    assert "sk-" not in text
    assert '# default_model = "qwen3-coder"' in text.split("# [backends.ollama]")[1]
    assert "x-api-key | bearer | api-key | none" in text  # every auth value named
    # As written it changes nothing; with every example uncommented, still nothing.
    assert load_config(path).backends == PRESETS
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") else line for line in text.splitlines()
    )
    data = tomllib.loads(uncommented)
    assert set(data["backends"]) == {*PRESETS, "mine"}
    path.write_text(uncommented)
    config = load_config(path, {"HOTSWAP_HOME": str(home)})
    # ... but the local servers' model example (they have no model map of their own)
    assert {n: config.backends[n]._replace(default_model=None) for n in PRESETS} == PRESETS
    assert config.backends["ollama"].default_model == "qwen3-coder"
    assert hotswap("config", "validate", env=env).returncode == 0


def test_init_refuses_to_overwrite_without_force(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    path = home / "config.toml"
    path.write_text('default_backend = "deepseek"\n')
    done = hotswap("config", "init", env=env)
    assert done.returncode != 0
    assert_no_traceback(done)
    assert done.stderr.startswith(f"Error: {path} already exists")
    assert "--force" in done.stderr
    assert path.read_text() == 'default_backend = "deepseek"\n'
    assert hotswap("config", "init", "--force", env=env).returncode == 0
    assert "[backends.deepseek]" in path.read_text()


def test_path_says_where_and_why(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    done = hotswap("config", "path", env=env)
    assert done.returncode == 0
    assert done.stdout.startswith(f"{home / 'config.toml'}  (does not exist")
    other = tmp_path / "elsewhere.toml"
    other.write_text("")
    data = json.loads(
        hotswap("config", "path", "--json", env={**env, "HOTSWAP_CONFIG": str(other)}).stdout
    )
    assert data == {"path": str(other), "source": "HOTSWAP_CONFIG", "exists": True}


def _configured(home: Path) -> None:
    (home / "config.toml").write_text(
        'default_backend = "deepseek"\n'
        "[router]\nconnect_timeout_s = 3\n"
        '[backends.deepseek]\nbase_url = "http://127.0.0.1:9/anthropic"\n'
        "[backends.deepseek.quirks]\ntext_only = false\n"
        '[backends.local]\nbase_url = "http://127.0.0.1:8"\napi_key_env = "LOCAL_KEY"\n'
    )


def test_show_gives_each_value_its_source_and_masks_keys(home: Path, tmp_path: Path) -> None:
    _configured(home)
    env = user_env(
        tmp_path,
        home,
        DEEPSEEK_API_KEY=SECRET,
        LOCAL_KEY=SECRET + "LOCAL",
        HTTPS_PROXY="http://user:proxy-password@proxy:3128",
    )
    done = hotswap("config", "show", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr and "proxy-password" not in done.stdout
    data = json.loads(done.stdout)
    assert data["default_backend"] == {"value": "deepseek", "source": "file"}
    assert data["statusline"] == {"value": True, "source": "default"}
    assert data["router"]["connect_timeout_s"] == {"value": 3.0, "source": "file"}
    assert data["router"]["idle_timeout_s"]["source"] == "default"
    for key in ("cache_mb", "transient_fallback", "header_timeout_s", "max_connections"):
        assert data["router"][key]["source"] == "default", key  # every [router] key shown
    assert data["router"]["cache_mb"]["value"] == 32
    assert data["router"]["proxies"] == {
        "value": {"https": "http://user:***@proxy:3128"},
        "source": "environment",
    }
    ds = data["backends"]["deepseek"]
    assert ds["base_url"] == {"value": "http://127.0.0.1:9/anthropic", "source": "file"}
    assert ds["api_key_env"] == {"value": "DEEPSEEK_API_KEY", "source": "preset"}
    assert ds["models"]["source"] == "preset"
    assert ds["quirks"]["text_only"] == {"value": False, "source": "file"}
    assert ds["quirks"]["drop_billing_header"] == {"value": True, "source": "preset"}
    assert ds["key"] == {
        "variable": "DEEPSEEK_API_KEY",
        "value": "set (…abcd)",
        "source": "environment",
    }
    local = data["backends"]["local"]
    assert local["base_url"]["source"] == "file" and local["auth"]["source"] == "default"
    assert local["key"]["value"] == "set (…OCAL)"
    human = hotswap("config", "show", env=env)
    assert human.returncode == 0
    assert SECRET not in human.stdout + human.stderr and "proxy-password" not in human.stdout
    lines = human.stdout.splitlines()
    assert any(
        line.startswith('default_backend = "deepseek"') and line.endswith("# file")
        for line in lines
    )
    assert any(
        line.startswith("quirks.text_only = false") and line.endswith("# file") for line in lines
    )
    assert any("DEEPSEEK_API_KEY" in line and "set (…abcd) (environment)" in line for line in lines)


def test_validate_prints_what_a_router_prints_at_start(home: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path, home)
    ok = hotswap("config", "validate", env=env)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: no config")
    _configured(home)
    ok = hotswap("config", "validate", env=env)
    assert ok.returncode == 0 and "added: local" in ok.stdout
    (home / "config.toml").write_text('[backends.kimi]\nauth = "token"\n')
    bad = hotswap("config", "validate", env=env)
    serve = hotswap("serve", "--port", "0", env=env)
    assert bad.returncode == 1 and serve.returncode != 0
    assert_no_traceback(bad)
    assert bad.stderr.splitlines()[0] == serve.stderr.splitlines()[0]
    assert "backends.kimi.auth" in serve.stderr and "fix:" in bad.stderr
    data = json.loads(hotswap("config", "validate", "--json", env=env).stdout)
    assert data["ok"] is False and data["error"] == serve.stderr.splitlines()[0].removeprefix(
        "Error: "
    )
    broken = hotswap("config", "show", env=env)
    assert broken.returncode == 1 and broken.stderr.splitlines()[0] == serve.stderr.splitlines()[0]


def test_show_has_every_table_the_file_may_hold(home: Path, tmp_path: Path) -> None:
    (home / "config.toml").write_text(
        '[ledger]\nretention_days = 30\n\n[budgets.anthropic]\ndaily_usd = 20\nthen = "ds"\n\n'
        '[[routes]]\nwhen = "background"\nto = "deepseek"\n\n'
        '[[routes]]\nwhen = "long_context"\nto = "openrouter:vendor/big-model"\nname = "long"\n\n'
        '[gateway]\ndatabase = "postgresql://hs:db-password@db/hotswap"\n'
    )
    env = user_env(tmp_path, home, HOTSWAP_GATEWAY_REDIS="redis://:redis-password@cache:6379/0")
    done = hotswap("config", "show", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert "db-password" not in done.stdout and "redis-password" not in done.stdout
    data = json.loads(done.stdout)
    assert data["ledger"]["retention_days"] == {"value": 30.0, "source": "file"}
    budget = data["budgets"]["anthropic"]
    assert budget["daily_usd"] == {"value": 20.0, "source": "file"}
    assert budget["then"] == {"value": "deepseek", "source": "file"}
    assert budget["warn_at"]["source"] == "default"
    background, long = data["routes"]
    assert background["name"] == {"value": "background", "source": "default"}
    assert long["to"] == {"value": "openrouter:vendor/big-model", "source": "file"}
    assert long["name"]["value"] == "long" and long["above_tokens"]["source"] == "default"
    gateway = data["gateway"]
    assert gateway["database"] == {"value": "postgresql://hs:***@db/hotswap", "source": "file"}
    assert gateway["redis"] == {"value": "redis://:***@cache:6379/0", "source": "environment"}
    assert gateway["listen"]["source"] == "default"
    human = hotswap("config", "show", env=env).stdout
    for header in ("[ledger]", "[budgets.anthropic]", "[[routes]]", "[gateway]"):
        assert header in human.splitlines() or f"{header}  " in human, header
    assert "db-password" not in human and "redis-password" not in human
    assert 'to = "openrouter:vendor/big-model"' in human


def test_show_masks_a_service_password_in_every_form_psycopg_and_redis_take(
    home: Path, tmp_path: Path
) -> None:
    forms = {
        "database": [
            "host=db dbname=hotswap user=u password=pw-one",
            "host=db password='pw two' user=u",
            "postgresql:///hotswap?sslmode=require&password=pw-three",
        ],
        "redis": ["redis://cache:6379/0?password=pw-four", "unix://:pw-five@/run/redis.sock"],
    }
    for key, values in forms.items():
        for value in values:
            (home / "config.toml").write_text(f"[gateway]\n{key} = {json.dumps(value)}\n")
            env = user_env(tmp_path, home)
            for argv in (("config", "show"), ("config", "show", "--json")):
                done = hotswap(*argv, env=env)
                assert done.returncode == 0, done.stderr
                assert "pw-" not in done.stdout and "pw two" not in done.stdout, value
            shown = json.loads(hotswap("config", "show", "--json", env=env).stdout)
            assert "***" in shown["gateway"][key]["value"]
