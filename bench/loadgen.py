"""The load generator: aiohttp with a keep-alive pool, run as its own process.

    python bench/loadgen.py --url URL --kind hotswap --watch-pid PID --plan '[{...}, ...]'

Runs each phase of the plan against one target and prints one JSON object per phase.
Every response is checked against what the fake upstream sent (and, through its
x-bench-* headers, what it received), so a broken router cannot look fast:

- non-streaming: status 200, body byte for byte equal to the fake's canned message;
- streaming: the events, one by one, equal to the fake's (with hotswap's usage
  normalisation applied for kind `hotswap`);
- the upstream received the body it should have (crc32 + length), on the right path,
  with the right x-api-key (hotswap: the backend's key, not the client's);
- kind `translated` (the router's openai wire, the fake answering Chat Completions): the
  answer is Anthropic's, rebuilt from the fake's chunks: the events in order (thinking
  block, text block, message_delta with the usage, message_stop) holding the fake's
  reasoning and text, or the message with its thinking, text and tool_use blocks.

What "the body it should have" is through hotswap is settled by a probe, the first request
of each phase: the fake parses it and reports its shape, which must show the model
remapped, `context_management` dropped, and system, tools, the message count and the last
message untouched (hotswap may rewrite thinking blocks in the history, so the bench does not
hard-code the rest). The probed body's crc32 is then required of every later request.

A phase is {"name", "stream", "size", "concurrency", and "n" (requests) or "seconds"}.
While a phase runs, the watched process's CPU time (/proc/PID/stat) and resident set
(/proc/PID/status, sampled every 20 ms) are recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contextlib

from fake_upstream import (
    CHAT_MODEL,
    CHAT_TEXT,
    CHAT_THINKING,
    EVENT_COUNT,
    MESSAGE,
    _crc,
    expected_events,
    summary,
)

CLIENT_MODEL = "claude-sonnet-4-5-20250929"
MAPPED_MODEL = "deepseek-v4-flash"  # what bench/run.py's config.toml maps CLIENT_MODEL to
CLIENT_KEY = "sk-ant-bench-client-key"
BACKEND_KEY = "bench-deepseek-key"  # the dummy DEEPSEEK_API_KEY run.py gives the router
KINDS = ("direct", "hotswap", "passthrough", "translated")
SAMPLE_S = 0.02

_VOCAB = [
    "def",
    "class",
    "return",
    "import",
    "self",
    "async",
    "await",
    "request",
    "response",
    "backend",
    "router",
    "mode",
    "file",
    "stream",
    "event",
    "usage",
    "token",
    "model",
    "config",
    "session",
    "proxy",
    "header",
    "body",
    "json",
    "parse",
    "write",
    "read",
    "the",
    "a",
    "of",
    "to",
    "in",
    "and",
    "is",
    "for",
    "with",
    "that",
    "this",
    "on",
    "by",
    "as",
    "it",
    "be",
    "are",
    "from",
    "at",
    "or",
    "an",
]
_TOOLS = [
    "Task",
    "Bash",
    "Glob",
    "Grep",
    "ExitPlanMode",
    "Read",
    "Edit",
    "MultiEdit",
    "Write",
    "NotebookEdit",
    "WebFetch",
    "TodoWrite",
    "WebSearch",
    "BashOutput",
    "KillShell",
    "SlashCommand",
    "mcp__ide__getDiagnostics",
]


def _prose(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(_VOCAB) for _ in range(n_words)]
    for i in range(0, n_words, 12):
        words[i] = words[i] + "\n" if i % 36 == 0 else words[i] + ","
    return " ".join(words) + ' "quoted" — naïve café ✓'


def _code(rng: random.Random, n_lines: int) -> str:
    lines = []
    for i in range(n_lines):
        indent = "    " * rng.randint(0, 3)
        lines.append(f"{i + 1:>6}\t{indent}{_prose(rng, rng.randint(3, 10))[:70]}")
    return "\n".join(lines)


def _tool(rng: random.Random, name: str) -> dict[str, Any]:
    props = {f"param_{j}": {"type": "string", "description": _prose(rng, 25)} for j in range(5)}
    return {
        "name": name,
        "description": _prose(rng, 150),
        "input_schema": {
            "type": "object",
            "properties": props,
            "required": ["param_0"],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    }


def _turn(rng: random.Random, i: int) -> list[dict[str, Any]]:
    tool_id = f"toolu_{i:04d}{rng.getrandbits(64):016x}"
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": _prose(rng, 60), "signature": "Eq" + "s" * 180},
            {"type": "text", "text": _prose(rng, 40)},
            {
                "type": "tool_use",
                "id": tool_id,
                "name": rng.choice(_TOOLS),
                "input": {"file_path": f"/home/user/project/src/mod_{i}.py"},
            },
        ],
    }
    user = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": _code(rng, 40)}],
    }
    return [assistant, user]


def make_body(size: int, stream: bool, seed: int = 6) -> dict[str, Any]:
    """A Claude Code-shaped Messages request of about `size` bytes (serialised)."""
    rng = random.Random(seed)
    body: dict[str, Any] = {
        "model": CLIENT_MODEL,
        "max_tokens": 32000,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": _prose(rng, 200)}]},
        ],
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": _prose(rng, 1000), "cache_control": {"type": "ephemeral"}},
        ],
        "tools": [_tool(rng, name) for name in _TOOLS],
        "metadata": {"user_id": "user_bench_account__session_0000"},
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "stream": stream,
    }
    i, total = 0, len(msgspec.json.encode(body))
    while total < size:
        turn = _turn(rng, i)
        total += sum(len(msgspec.json.encode(m)) + 1 for m in turn)
        body["messages"][-1:-1] = turn
        i += 1
    body["messages"][-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return body


def client_headers(stream: bool) -> dict[str, str]:
    """Headers as Claude Code sends them (the stainless SDK's set), plus the fake's switch."""
    return {
        "accept": "application/json",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,"
        "context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14",
        "anthropic-dangerous-direct-browser-access": "true",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "user-agent": "claude-cli/2.1.332 (external, cli)",
        "x-api-key": CLIENT_KEY,
        "x-app": "cli",
        "x-stainless-arch": "x64",
        "x-stainless-helper-method": "stream" if stream else "create",
        "x-stainless-lang": "js",
        "x-stainless-os": "Linux",
        "x-stainless-package-version": "0.60.0",
        "x-stainless-retry-count": "0",
        "x-stainless-runtime": "node",
        "x-stainless-runtime-version": "v22.12.0",
        "x-stainless-timeout": "600",
        "x-bench-stream": "1" if stream else "0",
    }


@dataclass
class Case:
    """One request shape and what the fake must report and the client must get back."""

    body: bytes
    headers: dict[str, str]
    stream: bool
    up_crc: str | None  # None until the probe settles it (hotswap)
    up_len: str | None
    up_path: str
    up_key: str
    events: list[bytes]
    up_summary: dict[str, Any]
    translated: bool = False


@functools.cache
def make_case(kind: str, size: int, stream: bool) -> Case:
    body = make_body(size, stream)
    raw = msgspec.json.encode(body)
    if kind == "translated":
        return _translated_case(raw, stream)
    if kind == "hotswap":  # model remapped, context_management dropped, history rewritten
        body["model"] = MAPPED_MODEL
        del body["context_management"]
        crc, length, path, key = None, None, "/anthropic/v1/messages", BACKEND_KEY
    else:
        crc, length, path, key = _crc(raw), str(len(raw)), "/v1/messages", CLIENT_KEY
    return Case(
        body=raw,
        headers=client_headers(stream),
        stream=stream,
        up_crc=crc,
        up_len=length,
        up_path=path,
        up_key=_crc(key.encode()),
        events=expected_events(normalised=kind == "hotswap"),
        up_summary=msgspec.json.decode(summary(msgspec.json.encode(body))),
    )


def _translated_case(raw: bytes, stream: bool) -> Case:
    summary = {
        "model": CHAT_MODEL,
        "stream": True if stream else None,
        "stream_options": {"include_usage": True} if stream else None,
        "context_management": False,
        "first_role": "system",
    }
    return Case(
        body=raw,
        headers=client_headers(stream),
        stream=stream,
        up_crc=None,
        up_len=None,
        up_path="/openai/v1/chat/completions",
        up_key=_crc(f"Bearer {BACKEND_KEY}".encode()),
        events=[],
        up_summary=summary,
        translated=True,
    )


# The translated stream's events, by name, and what its deltas must add up to.
TRANSLATED_NAMES = (
    ["message_start", "content_block_start"]
    + ["content_block_delta"] * len(CHAT_THINKING)
    + ["content_block_stop", "content_block_start"]
    + ["content_block_delta"] * len(CHAT_TEXT)
    + ["content_block_stop", "message_delta", "message_stop"]
)
TRANSLATED_USAGE = {
    "input_tokens": 41873 - 38912,
    "output_tokens": 312,
    "cache_read_input_tokens": 38912,
    "cache_creation_input_tokens": 0,
}


def _check_translated(data: bytes, stream: bool) -> None:
    if not stream:
        message = msgspec.json.decode(data)
        kinds = [b["type"] for b in message.get("content", [])]
        if kinds != ["thinking", "text", "tool_use"] or message.get("stop_reason") != "tool_use":
            raise Mismatch(f"translated message: blocks {kinds}, {message.get('stop_reason')}")
        return
    events = [e for e in data.split(b"\n\n") if e]
    names = [e[7 : e.index(b"\n")].decode() for e in events]
    if names != TRANSLATED_NAMES:
        raise Mismatch(f"translated events: {names[:6]}... ({len(names)})")
    datas = [msgspec.json.decode(e[e.index(b"\ndata: ") + 7 :]) for e in events]
    deltas = [d["delta"] for d in datas if d["type"] == "content_block_delta"]
    thinking = "".join(d.get("thinking", "") for d in deltas)
    text = "".join(d.get("text", "") for d in deltas)
    if thinking != "".join(CHAT_THINKING) or text != "".join(CHAT_TEXT):
        raise Mismatch("translated stream: thinking or text differs from the fake's")
    if datas[-2].get("usage") != TRANSLATED_USAGE:
        raise Mismatch(f"translated usage: {datas[-2].get('usage')}")


async def probe(session: aiohttp.ClientSession, url: str, case: Case) -> int:
    """Check the shape of what the upstream got; pin its crc32 for every later request.

    Returns the size of the body the upstream received.
    """
    headers = {**case.headers, "x-bench-inspect": "1"}
    async with session.post(url, data=case.body, headers=headers) as resp:
        await resp.read()
        got = msgspec.json.decode(resp.headers.get("x-bench-summary", "{}"))
        crc, length = resp.headers.get("x-bench-crc"), resp.headers.get("x-bench-len")
    if got != case.up_summary:
        diff = {k: (got.get(k), v) for k, v in case.up_summary.items() if got.get(k) != v}
        raise Mismatch(f"upstream body shape (got, expected): {diff}")
    if case.up_crc is None:
        case.up_crc, case.up_len = crc, length
    return int(length or 0)


class Mismatch(Exception):
    """A response differs from what the upstream sent."""


def _check_headers(case: Case, resp: aiohttp.ClientResponse) -> None:
    if resp.status != 200:
        raise Mismatch(f"status {resp.status}")
    h = resp.headers
    got = (h.get("x-bench-crc"), h.get("x-bench-len"), h.get("x-bench-path"), h.get("x-bench-key"))
    want = (case.up_crc, case.up_len, case.up_path, case.up_key)
    if got != want:
        raise Mismatch(f"upstream received (crc, len, path, key-crc) {got}, expected {want}")


def _check_events(case: Case, data: bytes) -> None:
    got = [e + b"\n\n" for e in data.split(b"\n\n") if e]
    for i, (g, w) in enumerate(zip(got, case.events, strict=False)):
        if g != w:
            raise Mismatch(f"event {i} differs: got {g[:120]!r}, expected {w[:120]!r}")
    if len(got) != len(case.events):
        raise Mismatch(f"{len(got)} events, expected {len(case.events)}")


@dataclass
class Sample:
    total_ns: int
    ttfb_ns: int
    chunks: int


async def one(session: aiohttp.ClientSession, url: str, case: Case) -> Sample:
    t0 = time.perf_counter_ns()
    first = 0
    parts: list[bytes] = []
    async with session.post(url, data=case.body, headers=case.headers) as resp:
        async for chunk in resp.content.iter_any():
            if not first:
                first = time.perf_counter_ns()
            parts.append(chunk)
        t1 = time.perf_counter_ns()
        _check_headers(case, resp)
    data = b"".join(parts)
    if case.translated:
        _check_translated(data, case.stream)
    elif case.stream:
        _check_events(case, data)
    elif data != MESSAGE:
        raise Mismatch(f"body differs ({len(data)} bytes, expected {len(MESSAGE)})")
    return Sample(t1 - t0, (first or t1) - t0, len(parts))


def cpu_s(pid: int) -> float:
    """utime + stime of the process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


@dataclass
class Phase:
    spec: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    peak_rss_kb: int = 0


async def _sample_rss(pid: int, phase: Phase, stop: asyncio.Event) -> None:
    while not stop.is_set():
        phase.peak_rss_kb = max(phase.peak_rss_kb, rss_kb(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_S)


async def _worker(
    session: aiohttp.ClientSession,
    url: str,
    case: Case,
    phase: Phase,
    budget: list[int],
    deadline: float,
) -> None:
    while budget[0] > 0 if deadline == 0 else time.perf_counter() < deadline:
        budget[0] -= 1
        try:
            phase.samples.append(await one(session, url, case))
        except (Mismatch, aiohttp.ClientError, OSError) as exc:
            phase.errors.append(f"{type(exc).__name__}: {exc}")
            if len(phase.errors) > 20:
                return


def _pct(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


async def run_phase(
    url: str, kind: str, pid: int, spec: dict[str, Any], extra: dict[str, str] | None = None
) -> dict[str, Any]:
    case = make_case(kind, spec["size"], spec["stream"])
    if extra:  # the team gateway's key (bench/gateway.py)
        case = dataclasses.replace(case, headers={**case.headers, **extra})
    conc = spec["concurrency"]
    phase = Phase(spec)
    connector = aiohttp.TCPConnector(limit=conc, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            upstream_bytes = await probe(session, url, case)
        except (Mismatch, aiohttp.ClientError, OSError) as exc:
            return _failed(spec, kind, f"probe: {type(exc).__name__}: {exc}")
        warm = Phase(spec)  # open every keep-alive connection, here and in the router
        await asyncio.gather(*(_worker(session, url, case, warm, [1], 0) for _ in range(conc)))
        await asyncio.gather(*(_worker(session, url, case, warm, [1], 0) for _ in range(conc)))
        phase.errors += warm.errors
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_rss(pid, phase, stop)) if pid else None
        cpu0, t0 = (cpu_s(pid) if pid else 0.0), time.perf_counter()
        deadline = t0 + spec["seconds"] if "seconds" in spec else 0
        budget = [spec.get("n", 0)]
        await asyncio.gather(
            *(_worker(session, url, case, phase, budget, deadline) for _ in range(conc))
        )
        elapsed = time.perf_counter() - t0
        cpu1 = cpu_s(pid) if pid else 0.0
        stop.set()
        if sampler:
            await sampler
    totals = [s.total_ns for s in phase.samples]
    ttfbs = [s.ttfb_ns for s in phase.samples]
    n = len(phase.samples)
    return {
        **spec,
        "kind": kind,
        "body_bytes": len(case.body),
        "upstream_body_bytes": upstream_bytes,
        "events": EVENT_COUNT if spec["stream"] else 0,
        "ok": n,
        "errors": len(phase.errors),
        "first_error": phase.errors[0] if phase.errors else None,
        "elapsed_s": elapsed,
        "per_s": n / elapsed if elapsed else 0.0,
        "p50_ms": _pct(totals, 0.50),
        "p99_ms": _pct(totals, 0.99),
        "ttfb_p50_ms": _pct(ttfbs, 0.50),
        "ttfb_p99_ms": _pct(ttfbs, 0.99),
        "chunks_per_response": sum(s.chunks for s in phase.samples) / n if n else 0,
        "cpu_s": cpu1 - cpu0,
        "peak_rss_kb": phase.peak_rss_kb,
    }


def _failed(spec: dict[str, Any], kind: str, error: str) -> dict[str, Any]:
    nan = float("nan")
    metrics = ("p50_ms", "p99_ms", "ttfb_p50_ms", "ttfb_p99_ms", "per_s", "elapsed_s")
    return {
        **spec,
        **dict.fromkeys(metrics, nan),
        "kind": kind,
        "ok": 0,
        "errors": 1,
        "first_error": error,
        "body_bytes": 0,
        "upstream_body_bytes": 0,
        "cpu_s": 0.0,
        "peak_rss_kb": 0,
        "chunks_per_response": 0,
    }


async def main_async(args: argparse.Namespace) -> None:
    extra = dict(h.split(":", 1) for h in args.header)
    for spec in msgspec.json.decode(args.plan):
        result = await run_phase(args.url, args.kind, args.watch_pid, spec, extra)
        print(msgspec.json.encode(result).decode(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="bench load generator (see module doc)")
    parser.add_argument("--url", required=True, help="full URL of POST /v1/messages")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--watch-pid", type=int, default=0, help="process to measure")
    parser.add_argument("--plan", required=True, help="JSON list of phases")
    parser.add_argument("--header", action="append", default=[], help="NAME:VALUE, sent too")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
