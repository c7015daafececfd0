"""The dashboard's endpoints over HTTP: the token and its cookie, Host and Origin checks,
switching (the mode file and nothing else), removing stale sessions, the live check, the
event stream and the CSV files."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dashboard_scene import register_stale, scene_config, write_history
from fake_openai import FakeOpenAI
from hotswap.config.loading import Config, load_config
from hotswap.dashboard.app import RunningDashboard, start_dashboard
from hotswap.sessions.registry import Session, process_start_time, register

KEY = "sk-deepseek-secret-value-9f8e7d6c"


@pytest.fixture
async def dash(home: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningDashboard]:
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    running = await start_dashboard(load_config(), 0, dict(os.environ), poll_s=0.05)
    yield running
    await running.stop()


def cookie(d: RunningDashboard, token: str | None = None) -> dict[str, str]:
    return {"Cookie": f"hotswap_dashboard_{d.port}={token or d.token}"}


def own(d: RunningDashboard) -> dict[str, str]:
    """What the page's own fetch sends: the cookie and its Origin."""
    return {**cookie(d), "Origin": d.base}


async def call(
    method: str, url: str, headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, Any, str]:
    data = None if body is None else json.dumps(body)
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client,
        client.request(method, url, headers=hdrs, data=data, allow_redirects=False) as resp,
    ):
        return resp.status, resp.headers, await resp.text()


def live_session(config: Config, sid: str, port: int = 9) -> Session:
    """A session whose process is alive (this one); nothing listens on its port."""
    pid = os.getpid()
    session = Session(sid, port, pid, "/work/x", time.time(), "sec", "anthropic",
                      process_start_time(pid))  # fmt: skip
    register(config.sessions_dir, session)
    return session


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` and a digest of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- the token, the cookie, Host and Origin ------------------------------------------------

PATHS = ("/", "/events", "/static/dashboard.js", "/export/cost.csv", "/nowhere")


@pytest.mark.parametrize("path", PATHS)
async def test_every_request_needs_the_token(dash: RunningDashboard, path: str) -> None:
    url = dash.base + path
    assert (await call("GET", url))[0] == 403
    assert (await call("GET", url + "?token=wrong"))[0] == 403
    assert (await call("GET", url, cookie(dash, "wrong")))[0] == 403
    status, _, text = await call("GET", url, {"Cookie": f"hotswap_dashboard_1={dash.token}"})
    assert status == 403 and "open the URL that `hotswap dashboard` printed" in text


async def test_every_action_needs_the_token(dash: RunningDashboard, home: Path) -> None:
    live_session(load_config(), "ab12")
    body = {"session": "ab12", "backend": "deepseek"}
    for path in ("/api/switch", "/api/remove", "/api/check"):
        status, _, _ = await call("POST", dash.base + path, {"Origin": dash.base}, body)
        assert status == 403
    assert not (home / "sessions" / "ab12" / "mode").exists()


async def test_the_token_becomes_a_strict_httponly_cookie(dash: RunningDashboard) -> None:
    status, headers, _ = await call("GET", f"{dash.url}&view=1")
    assert status == 303 and headers["Location"] == "/?view=1"  # the token leaves the URL
    set_cookie = headers["Set-Cookie"]
    assert set_cookie.startswith(f"hotswap_dashboard_{dash.port}={dash.token};")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie
    status, headers, html = await call("GET", dash.base + "/", cookie(dash))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<h2 id="h-sessions">Sessions</h2>' in html
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Frame-Options"] == "DENY"
    assert not any(h.lower().startswith("access-control-") for h in headers)


async def test_static_files_are_served_with_the_same_headers(dash: RunningDashboard) -> None:
    for name in ("dashboard.js", "dashboard.css", "uPlot.iife.min.js", "uPlot.LICENSE"):
        status, headers, body = await call("GET", f"{dash.base}/static/{name}", cookie(dash))
        assert status == 200 and body and headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
async def test_a_foreign_origin_is_refused(dash: RunningDashboard, home: Path, origin: str) -> None:
    live_session(load_config(), "ab12")
    body = {"session": "ab12", "backend": "deepseek"}
    headers = {**cookie(dash), "Origin": origin}
    status, resp_headers, _ = await call("POST", dash.base + "/api/switch", headers, body)
    assert status == 403 and "Access-Control-Allow-Origin" not in resp_headers
    assert (await call("GET", dash.base + "/events", headers))[0] == 403
    assert (await call("OPTIONS", dash.base + "/api/switch", headers))[0] == 403
    assert not (home / "sessions" / "ab12" / "mode").exists()


async def test_a_post_without_its_origin_is_refused(dash: RunningDashboard, home: Path) -> None:
    live_session(load_config(), "ab12")
    body = {"session": "ab12", "backend": "deepseek"}
    assert (await call("POST", dash.base + "/api/switch", cookie(dash), body))[0] == 403
    assert not (home / "sessions" / "ab12" / "mode").exists()


@pytest.mark.parametrize("host", ["evil.example", "attacker.test:80", "192.168.1.20"])
async def test_a_foreign_host_is_refused(dash: RunningDashboard, host: str) -> None:
    """DNS rebinding: a name that resolves to 127.0.0.1 still carries its own Host."""
    status, _, text = await call("GET", dash.base + "/", {**cookie(dash), "Host": host})
    assert status == 403 and "loopback" in text


async def test_it_listens_on_loopback_only(dash: RunningDashboard) -> None:
    assert [address[0] for address in dash.runner.addresses] == ["127.0.0.1"]


# -- actions -------------------------------------------------------------------------------


async def test_switch_writes_the_mode_file_and_nothing_else(
    dash: RunningDashboard, home: Path
) -> None:
    session = live_session(load_config(), "ab12")
    live_session(load_config(), "cd34")
    before = tree(home)
    body = {"session": "ab12", "backend": "ds"}
    status, _, text = await call("POST", dash.base + "/api/switch", own(dash), body)
    assert status == 200, text
    reply = json.loads(text)
    assert reply["ok"] and reply["lines"][0] == (
        f"session ab12 (port {session.port}): anthropic -> deepseek"
    )  # what `hotswap use deepseek --session ab12` prints
    after = tree(home)
    assert set(after) - set(before) == {"sessions/ab12/mode"}
    assert {k: v for k, v in after.items() if k in before} == before
    mode = home / "sessions" / "ab12" / "mode"
    assert mode.read_text() == "deepseek\n" and mode.stat().st_mode & 0o777 == 0o600


async def test_switch_all_takes_the_live_sessions_and_keeps_stale_ones(
    dash: RunningDashboard, home: Path
) -> None:
    config = load_config()
    live_session(config, "ab12")
    live_session(config, "cd34")
    register_stale(config, "dead")
    body = {"session": "*", "backend": "deepseek"}
    status, _, text = await call("POST", dash.base + "/api/switch", own(dash), body)
    assert status == 200, text
    for sid in ("ab12", "cd34"):
        assert (home / "sessions" / sid / "mode").read_text() == "deepseek\n"
    assert not (home / "sessions" / "dead" / "mode").exists()
    assert (home / "sessions" / "dead" / "session.json").exists()  # shown until removed


async def test_switch_refusals_write_nothing(dash: RunningDashboard, home: Path) -> None:
    live_session(load_config(), "ab12")
    before = tree(home)
    cases = [
        ({"session": "ab12", "backend": "nonesuch"}, 400, "nonesuch"),
        ({"session": "zz99", "backend": "deepseek"}, 404, "no session"),
        ({"session": "ab", "backend": "deepseek"}, 404, "no session"),  # exact ids only
        ({"session": "ab12"}, 400, "expected a JSON object"),
    ]
    for body, want, words in cases:
        status, _, text = await call("POST", dash.base + "/api/switch", own(dash), body)
        assert status == want and words in json.loads(text)["error"], text
    status, _, _ = await call(
        "POST", dash.base + "/api/switch", {**own(dash), "Content-Type": "text/plain"}, {}
    )
    assert status == 415
    assert tree(home) == before


async def test_only_a_stale_session_can_be_removed(dash: RunningDashboard, home: Path) -> None:
    config = load_config()
    live_session(config, "ab12")
    register_stale(config, "dead")
    url = dash.base + "/api/remove"
    status, _, text = await call("POST", url, own(dash), {"session": "ab12"})
    assert status == 409 and "live" in json.loads(text)["error"]
    assert (await call("POST", url, own(dash), {"session": "nope"}))[0] == 404
    assert (await call("POST", url, own(dash), {"session": "dead"}))[0] == 200
    assert not (home / "sessions" / "dead").exists()
    assert (home / "sessions" / "ab12" / "session.json").exists()


async def test_check_runs_the_live_probe_and_never_shows_the_key(
    home: Path, fakes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    fake = await fakes("deepseek")
    config = scene_config(home, {"deepseek": fake.url})
    running = await start_dashboard(config, 0, dict(os.environ), poll_s=0.05)
    try:
        url = running.base + "/api/check"
        status, _, text = await call("POST", url, own(running), {"backend": "deepseek"})
        assert status == 200, text
        result = json.loads(text)["result"]
        assert result["backend"] == "deepseek" and result["result"] == "ok"
        assert result["http_status"] == 200 and not result["failed"]
        assert fake.received[0].headers["x-api-key"] == KEY and KEY not in text
        _, _, skipped = await call("POST", url, own(running), {"backend": "kimi"})
        assert json.loads(skipped)["result"]["result"] == "skipped"
        assert (await call("POST", url, own(running), {"backend": "nonesuch"}))[0] == 404
    finally:
        await running.stop()


async def test_check_probes_an_openai_wire_backend_too(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake = await FakeOpenAI("openai").start()
    config = scene_config(home, {"openai": fake.url})
    running = await start_dashboard(config, 0, dict(os.environ), poll_s=0.05)
    try:
        url = running.base + "/api/check"
        status, _, text = await call("POST", url, own(running), {"backend": "gpt"})
        assert status == 200, text
        assert json.loads(text)["result"]["result"] == "ok"
        (sent,) = fake.received
        assert sent.path_qs == "/chat/completions" and sent.body["max_completion_tokens"] == 1
    finally:
        await running.stop()
        await fake.stop()


# -- what the page reads -------------------------------------------------------------------


async def read_events(
    d: RunningDashboard, want: set[str], log_entries: bool = False
) -> dict[str, Any]:
    """Events from /events until each of `want` has come (the last of each name), and a
    `log` event with entries if `log_entries`."""
    got: dict[str, Any] = {}
    async with (
        aiohttp.ClientSession() as client,
        client.get(d.base + "/events", headers=cookie(d)) as resp,
    ):
        assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
        name = ""
        async with asyncio.timeout(10):
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    got[name] = json.loads(line[6:])
                    logged = not log_entries or bool(got.get("log", {}).get("entries"))
                    if want <= set(got) and logged:
                        return got
    raise AssertionError(f"events {want - set(got)} never came")


async def test_events_bring_the_whole_picture_and_no_key(
    dash: RunningDashboard, home: Path
) -> None:
    config = load_config()
    live_session(config, "ab12")
    register_stale(config, "dead")
    write_history(home, days=3)
    got = await read_events(dash, {"sessions", "backends", "spend", "log"}, log_entries=True)
    rows = {r["id"]: r for r in got["sessions"]["rows"]}
    assert rows["ab12"]["alive"] and rows["ab12"]["note"] == "its router does not answer"
    assert not rows["dead"]["alive"] and rows["dead"]["note"].startswith("stale")
    assert got["log"]["entries"] and got["log"]["entries"][-1]["backend"] == "deepseek"
    assert sum(got["spend"]["requests"]) > 0
    backends = {b["name"]: b for b in got["backends"]["rows"]}
    assert backends["deepseek"]["key"] == "DEEPSEEK_API_KEY set"
    assert "529" in backends["kimi"]["last_error"]["reason"]
    text = json.dumps(got)
    assert KEY not in text and KEY[-4:] not in text
    assert (home / "sessions" / "dead").exists()  # the page lists stale sessions, never cleans


async def test_the_page_never_shows_a_key(dash: RunningDashboard) -> None:
    _, _, html = await call("GET", dash.base + "/", cookie(dash))
    assert "DEEPSEEK_API_KEY set" in html
    assert KEY not in html and KEY[-4:] not in html and "(…" not in html


async def test_the_spend_tables_download_as_csv(dash: RunningDashboard, home: Path) -> None:
    write_history(home, days=3)
    status, headers, text = await call("GET", dash.base + "/export/cost.csv", cookie(dash))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith('attachment; filename="hotswap-cost-')
    lines = text.splitlines()
    assert lines[0].startswith("day,") and lines[0].endswith(",total_usd,savings_usd,requests")
    assert "deepseek_usd" in lines[0] and len(lines) == 31
    assert sum(int(line.rsplit(",", 1)[1]) for line in lines[1:]) == write_count(home)
    _, _, cache = await call("GET", dash.base + "/export/cache.csv", cookie(dash))
    assert cache.splitlines()[0] == "day,prompt_tokens,cache_read_tokens,cache_hit_rate"
    assert (await call("GET", dash.base + "/export/other.csv", cookie(dash)))[0] == 404


async def test_a_backend_name_a_spreadsheet_would_run_is_escaped_in_cost_csv(
    dash: RunningDashboard, home: Path
) -> None:
    from hotswap.ledger.writer import LedgerWriter
    from hotswap.router.exchange import Usage
    from records import record

    writer = LedgerWriter(home / "ledger.db").start()  # rows written before names were checked
    for name in ('=HYPERLINK("http://x")', "@SUM(1)", "+1", "-1", "\tcmd"):
        writer.submit(record(name, usage=Usage(1000, 1000)))
    assert writer.close(10)
    _, _, text = await call("GET", dash.base + "/export/cost.csv", cookie(dash))
    header = next(csv.reader(io.StringIO(text)))
    escaped = [c for c in header if c.startswith("'")]
    assert sorted(escaped) == sorted(
        ['\'=HYPERLINK("http://x")_usd', "'@SUM(1)_usd", "'+1_usd", "'-1_usd", "'\tcmd_usd"]
    )
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in header)


def write_count(home: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(home / "ledger.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0])
    finally:
        conn.close()


async def test_stopping_the_dashboard_ends_an_open_page_stream(home: Path) -> None:
    running = await start_dashboard(load_config(), 0, {}, poll_s=0.05)
    async with (
        aiohttp.ClientSession() as client,
        client.get(running.base + "/events", headers=cookie(running)) as resp,
    ):
        assert (await resp.content.readline()).startswith(b"event: ")
        started = time.monotonic()
        await running.stop()
        async with asyncio.timeout(10):
            while await resp.content.readline():
                pass
        assert time.monotonic() - started < 5


async def test_sessions_come_and_go_while_the_page_is_open(
    dash: RunningDashboard, home: Path
) -> None:
    """One stream: a session registered later appears; one whose record goes disappears."""
    from hotswap.sessions.registry import remove

    config = load_config()
    seen: list[list[str]] = []
    steps = [
        ([], lambda: live_session(config, "ab12")),
        (["ab12"], lambda: remove(config.sessions_dir, "ab12")),  # its `hotswap run` ended
        ([], None),
    ]
    async with (
        aiohttp.ClientSession() as client,
        client.get(dash.base + "/events", headers=cookie(dash)) as resp,
        asyncio.timeout(20),
    ):
        event = ""
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            if event != "sessions" or not line.startswith("data: "):
                continue
            seen.append([r["id"] for r in json.loads(line[6:])["rows"]])
            want, then = steps[0]
            if seen[-1] == want:
                steps.pop(0)
                if then is None:
                    break
                then()
    assert seen == [[], ["ab12"], []]
