"""Record the request shapes the real Claude Code CLI sends, for the conformance matrix.

    python tests/record_shapes.py          # rewrites tests/data/shapes/*.json

Each scenario runs `claude -p` offline against a recording fake backend that answers with
scripted replies (tool calls, thinking blocks with signatures, a sub-agent, /compact), then
keeps the request(s) worth testing. Shapes are scrubbed: the rotating billing header value,
device/session ids and the temp directory are replaced, and long prose (system prompt,
tool descriptions) is cut, but every key and block type is kept.
"""

from __future__ import annotations

import itertools
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claude_env import CLAUDE, offline_env
from fakes import FakeUpstream, Reply, ThreadedFake, block_events, encode_events, sse_reply

SHAPES = Path(__file__).resolve().parents[1] / "data" / "shapes"
PROJECT = "/home/user/project"
MAX_TEXT = 300
_IDS = itertools.count(1)  # Claude Code merges assistant turns that share a message id


def events(*blocks: dict[str, Any], stop: str = "end_turn") -> Reply:
    """An Anthropic stream carrying `blocks` (thinking, redacted_thinking, text, tool_use)."""
    message = {
        "id": f"msg_rec{next(_IDS)}",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-5-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    out: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
    for i, block in enumerate(blocks):
        out += block_events(i, block)
    out += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse_reply(encode_events(out))


def think(text: str, sig: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": sig}


def tool(name: str, tool_id: str, **inp: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": inp}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tiny_png() -> bytes:
    """A 2x2 red PNG, built by hand (no imaging library needed)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class Scenario:
    name: str
    description: str
    prompt: str
    replies: Callable[[Path], list[Reply]]
    keep: tuple[int, ...]  # which received requests become shapes (negative: from the end)
    args: tuple[str, ...] = ("--allowedTools", "Bash,Read")
    before: tuple[str, ...] = ()  # a prompt run first in the same project (for --continue)
    names: tuple[str, ...] = ()  # one per kept request when several are kept


SCENARIOS = [
    Scenario(
        "plain",
        "a plain prompt, first request of a session",
        "say hi",
        lambda d: [events(text("hi"))],
        keep=(0,),
    ),
    Scenario(
        "tool_loop",
        "Bash tool_use then the tool_result (no thinking in the replies)",
        "run echo hi",
        lambda d: [
            events(
                text("Running it."), tool("Bash", "toolu_b1", command="echo hi"), stop="tool_use"
            ),
            events(text("It printed hi.")),
        ],
        keep=(1,),
    ),
    Scenario(
        "thinking_tools",
        "two tool rounds whose replies carry signed thinking and a redacted_thinking block",
        "list files then count them",
        lambda d: [
            events(
                think("I should list the files first.", "SIG-REC-1"),
                {"type": "redacted_thinking", "data": "REDACTED-REC-1"},
                tool("Bash", "toolu_t1", command="ls", description="list"),
                stop="tool_use",
            ),
            events(
                think("Now count them.", "SIG-REC-2"),
                text("Counting."),
                tool("Bash", "toolu_t2", command="ls | wc -l", description="count"),
                stop="tool_use",
            ),
            events(think("Done.", "SIG-REC-3"), text("There are 0 files.")),
        ],
        keep=(2,),
    ),
    Scenario(
        "image",
        "the Read tool returns a PNG: an image block inside a tool_result",
        "look at pic.png",
        lambda d: [
            events(tool("Read", "toolu_r1", file_path=str(d / "pic.png")), stop="tool_use"),
            events(text("A red square.")),
        ],
        keep=(1,),
    ),
    Scenario(
        "subagent",
        "the Agent tool starts a sub-agent on the small model, then its result returns",
        "ask a helper agent to say hi",
        lambda d: [
            events(
                tool(
                    "Agent",
                    "toolu_a1",
                    description="say hi",
                    prompt="Say hi and nothing else.",
                    subagent_type="general-purpose",
                    model="haiku",
                ),
                stop="tool_use",
            ),
            events(text("hi")),
            events(text("The helper said hi.")),
        ],
        keep=(1, 2),
        names=("subagent_request", "subagent_result"),
    ),
    Scenario(
        "compact",
        "/compact of an earlier conversation (claude -p --continue /compact)",
        "/compact",
        lambda d: [events(text("hello")), events(text("<summary>The user said hello.</summary>"))],
        keep=(-1,),
        args=("--continue",),
        before=("hello",),
    ),
]


def scrub(value: Any, tmp: str) -> Any:
    """Replace what varies per run or per machine; cut long prose, keep structure."""
    if isinstance(value, dict):
        return {k: _scrub_item(k, v, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, tmp) for v in value]
    if isinstance(value, str):
        value = value.replace(tmp, PROJECT)
        if value.startswith("x-anthropic-billing-header:"):
            return "x-anthropic-billing-header: cc_version=0.0.0.000; cc_entrypoint=sdk-cli;"
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + " …[cut]"
    return value


def _scrub_item(key: str, value: Any, tmp: str) -> Any:
    if key == "user_id":
        return '{"device_id":"0000","account_uuid":"","session_id":"00000000-session"}'
    if key in ("data",) and isinstance(value, str) and len(value) > MAX_TEXT:
        return value  # base64 image bytes: keep whole (tiny)
    return scrub(value, tmp)


def run(scenario: Scenario) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as name, ThreadedFake("recorder") as fake:
        tmp = Path(name).resolve()
        (tmp / "pic.png").write_bytes(tiny_png())
        env = offline_env(tmp, tmp / "hotswap-home", ANTHROPIC_BASE_URL=fake.url)
        env["ANTHROPIC_API_KEY"] = "sk-recorder"
        if scenario.before:
            _claude(env, tmp, fake, [events(text("hello"))], "-p", scenario.before[0])
            fake.received.clear()
        replies = scenario.replies(tmp)
        _claude(env, tmp, fake, replies, "-p", scenario.prompt, *scenario.args)
        got = [r for r in fake.received if r.path_qs.startswith("/v1/messages?")]
        names = scenario.names or (scenario.name,)
        return [
            _shape(n, scenario, got[i], str(tmp)) for n, i in zip(names, scenario.keep, strict=True)
        ]


def _claude(
    env: dict[str, str], cwd: Path, fake: FakeUpstream, replies: list[Reply], *args: str
) -> None:
    fake.replies[:] = list(replies)
    done = subprocess.run(
        [str(CLAUDE), *args, "--output-format", "json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"claude failed: {done.stdout[-800:]} {done.stderr[-800:]}")


def _shape(name: str, scenario: Scenario, rec: Any, tmp: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": scenario.description,
        "claude_code": _version(),
        "headers": {
            "anthropic-version": rec.headers.get("anthropic-version", ""),
            "anthropic-beta": rec.headers.get("anthropic-beta", ""),
        },
        "body": scrub(rec.body, tmp),
    }


def _version() -> str:
    out = subprocess.run([str(CLAUDE), "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.split()[0] if out.stdout else "unknown"


def main() -> None:
    SHAPES.mkdir(parents=True, exist_ok=True)
    wanted = set(sys.argv[1:])
    for scenario in SCENARIOS:
        if wanted and scenario.name not in wanted:
            continue
        for shape in run(scenario):
            path = SHAPES / f"{shape['name']}.json"
            path.write_text(json.dumps(shape, indent=1, ensure_ascii=False) + "\n")
            print(f"wrote {path.relative_to(SHAPES.parent.parent.parent)}")


if __name__ == "__main__":
    main()
