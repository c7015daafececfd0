"""The `openai` wire through a real router: the anthropic SDK on one side, a fake Chat
Completions server (replies validated against the `openai` package's types) on the other.
Each test asserts what the fake received and what the client got."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import anthropic
import pytest

import bodygen
from conftest import MakeRouter, Router
from fake_openai import (
    FakeOpenAI,
    chat_json,
    chat_sse,
    completion,
    openai_error,
    text_chunks,
    tool_chunks,
    usage,
)
from fakes import FakeUpstream, json_reply, sse_message

KEY = "sk-openai-secret"
Start = Callable[..., Awaitable[tuple[Router, FakeOpenAI]]]


@pytest.fixture
async def start(make_router: MakeRouter) -> AsyncIterator[Start]:
    started: list[FakeOpenAI] = []

    async def make(
        urls: dict[str, str] | None = None,
        fallback: str = "[]",
        mode: str = "openai",
        extra: str = "",
    ) -> tuple[Router, FakeOpenAI]:
        fake = await FakeOpenAI("openai").start()
        started.append(fake)
        section = f'[backends.openai]\nbase_url = "{fake.url}/v1"\nfallback = {fallback}\n{extra}'
        router = await make_router(
            urls or {},
            mode=mode,
            env={"OPENAI_API_KEY": KEY, "DEEPSEEK_API_KEY": "sk-ds"},
            extra_toml=section,
        )
        return router, fake

    yield make
    for fake in started:
        await fake.stop()


def sdk(router: Router) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=router.url, api_key="sk-ant-client", max_retries=0)


TOOLS = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]
PROMPT = [{"role": "user", "content": "hello"}]


async def test_the_request_goes_out_as_chat_completions(start: Start) -> None:
    router, fake = await start()
    fake.script(chat_json(completion("Hi there")))
    msg = await sdk(router).messages.create(
        model="claude-opus-5-5", max_tokens=500, system="be brief", messages=PROMPT, tools=TOOLS
    )
    assert msg.content[0].type == "text" and msg.content[0].text == "Hi there"
    sent = fake.received[0]
    assert sent.path_qs == "/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert "sk-ant-client" not in str(sent.headers)
    assert "anthropic-version" not in sent.headers
    assert sent.body["model"] == "gpt-5"  # the preset's map
    assert sent.body["max_completion_tokens"] == 500
    assert sent.body["messages"][0] == {"role": "system", "content": "be brief"}
    assert fake.rejections == []


@pytest.mark.parametrize(
    "script",
    [
        lambda: (text_chunks("Hello there, friend.", reasoning="Thinking hard."), None),
        lambda: (
            tool_chunks(
                [("call_1", "Bash", {"command": "ls"}), ("call_2", "Bash", {"command": "pwd"})],
                text="Running both.",
                interleave=True,
            ),
            None,
        ),
    ],
    ids=["text+reasoning", "parallel-tools"],
)
async def test_stream_accumulates_to_the_non_streaming_message(start: Start, script: Any) -> None:
    """The SDK's stream accumulator rebuilds the message a non-streaming call returns."""
    router, fake = await start()
    chunks, _ = script()
    content = []
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    reasoning = "".join(
        c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks if c["choices"]
    )
    calls = {}
    for c in chunks:
        for call in (c["choices"][0]["delta"].get("tool_calls") or []) if c["choices"] else []:
            entry = calls.setdefault(call["index"], ["", "", ""])
            entry[0] = call.get("id") or entry[0]
            entry[1] = call["function"].get("name") or entry[1]
            entry[2] += call["function"].get("arguments") or ""
    content = [(i, n, json.loads(a)) for i, n, a in calls.values()]
    fake.script(
        chat_sse(chunks, chunk_size=7),
        chat_json(completion(text or None, tool_calls=content, reasoning=reasoning or None)),
    )
    client = sdk(router)
    async with client.messages.stream(
        model="claude-sonnet-5-5", max_tokens=100, messages=PROMPT, tools=TOOLS
    ) as stream:
        streamed = await stream.get_final_message()
    whole = await client.messages.create(
        model="claude-sonnet-5-5", max_tokens=100, messages=PROMPT, tools=TOOLS
    )
    assert streamed.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})
    assert streamed.usage.input_tokens == 20 and streamed.usage.output_tokens == 5
    assert fake.received[0].body["stream_options"] == {"include_usage": True}
    assert fake.rejections == []


async def test_a_tool_loop_round_trip(start: Start) -> None:
    router, fake = await start()
    fake.script(chat_json(completion(None, tool_calls=[("call_9", "Bash", {"command": "ls"})])))
    fake.script(chat_sse(text_chunks("Done.")))
    client = sdk(router)
    first = await client.messages.create(
        model="claude-opus-5-5", max_tokens=100, messages=PROMPT, tools=TOOLS, stream=False
    )
    assert first.stop_reason == "tool_use"
    call = first.content[0]
    assert call.type == "tool_use" and call.id == "call_9" and call.input == {"command": "ls"}
    history = [
        *PROMPT,
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_9", "content": "a.txt"}],
        },
    ]
    async with client.messages.stream(
        model="claude-opus-5-5", max_tokens=100, messages=history, tools=TOOLS
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == "Done."
    sent = fake.received[1].body["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "call_9", "content": "a.txt"}
    assert sent[-2]["tool_calls"][0]["id"] == "call_9"
    assert fake.rejections == []


@pytest.mark.parametrize(
    ("status", "kind", "code", "message", "expected_status", "expected_type"),
    [
        (401, "invalid_request_error", "invalid_api_key", "Incorrect API key", 401,
         "authentication_error"),
        (429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota", 429,
         "rate_limit_error"),
        (400, "invalid_request_error", None, "bad thing", 400, "invalid_request_error"),
        (503, "server_error", None, "overloaded", 503, "api_error"),
    ],
)  # fmt: skip
async def test_upstream_errors_become_anthropic_errors(
    start: Start,
    status: int,
    kind: str,
    code: str | None,
    message: str,
    expected_status: int,
    expected_type: str,
) -> None:
    router, fake = await start()
    fake.script(openai_error(status, message, kind, code))
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{router.url}/v1/messages",
            json={"model": "claude-opus-5-5", "max_tokens": 10, "messages": PROMPT},
        ) as resp,
    ):
        body = await resp.json()
    assert resp.status == expected_status
    assert body["type"] == "error" and body["error"]["type"] == expected_type
    assert message in body["error"]["message"]
    if code:
        assert code in body["error"]["message"]


async def test_insufficient_quota_is_a_refusal_that_falls_back_and_sticks(
    start: Start, fakes: Callable[[str], Awaitable[FakeUpstream]]
) -> None:
    ds = await fakes("deepseek")
    ds.script(sse_message("from deepseek"))
    router, fake = await start({"deepseek": ds.url}, fallback='["deepseek"]')
    fake.script(openai_error(429, "You exceeded your current quota", "insufficient_quota",
                             "insufficient_quota"))  # fmt: skip
    async with sdk(router).messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=PROMPT
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == "from deepseek"
    assert router.mode_file.read_text().strip() == "deepseek"  # a refusal: the switch sticks


async def test_a_503_falls_back_for_this_request_only(
    start: Start, fakes: Callable[[str], Awaitable[FakeUpstream]]
) -> None:
    ds = await fakes("deepseek")
    ds.script(sse_message("from deepseek"))
    router, fake = await start(
        {"deepseek": ds.url}, fallback='["deepseek"]', extra="transient_fallback = true\n"
    )
    fake.script(openai_error(503, "overloaded", "server_error"))
    async with sdk(router).messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=PROMPT
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == "from deepseek"
    assert router.mode_file.read_text().strip() == "openai"


async def test_count_tokens_is_an_estimate_and_says_so(start: Start) -> None:
    router, fake = await start()
    text = "word " * 400
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{router.url}/v1/messages/count_tokens?beta=true",
            json={"model": "claude-opus-5-5", "messages": [{"role": "user", "content": text}]},
        ) as resp,
    ):
        body = await resp.json()
    assert resp.status == 200
    assert resp.headers["x-hotswap-estimate"] == "true"
    assert body["input_tokens"] == len(text) // 4
    assert fake.received == []  # nothing was sent upstream


async def test_v1_models_lists_the_backends_models(start: Start) -> None:
    router, fake = await start()
    page = await sdk(router).models.list()
    assert [m.id for m in page.data][:2] == [  # gateway ids, the active backend's first
        "claude-hotswap-openai--gpt-fake",
        "claude-hotswap-openai--gpt-fake-mini",
    ]
    assert fake.received[0].path_qs == "/v1/models"
    assert fake.received[0].headers["Authorization"] == f"Bearer {KEY}"


async def test_azure_puts_the_deployment_in_the_path_and_its_key_in_api_key(
    make_router: MakeRouter,
) -> None:
    fake = await FakeOpenAI("azure").start()
    try:
        toml = (
            f'[backends.azure-openai]\nbase_url = "{fake.url}"\ndeployment = "my-gpt"\n'
            'api_version = "2025-01-01-preview"\n'
        )
        router = await make_router(
            {}, mode="azure", env={"AZURE_OPENAI_API_KEY": "az-key"}, extra_toml=toml
        )
        fake.script(chat_json(completion("from azure", use=usage())))
        msg = await sdk(router).messages.create(
            model="claude-opus-5-5", max_tokens=10, messages=PROMPT
        )
        assert msg.content[0].type == "text" and msg.content[0].text == "from azure"
        sent = fake.received[0]
        path = "/openai/deployments/my-gpt/chat/completions?api-version=2025-01-01-preview"
        assert sent.path_qs == path
        assert sent.headers["api-key"] == "az-key"
        assert "Authorization" not in sent.headers
    finally:
        await fake.stop()


async def test_count_tokens_never_becomes_a_completion_on_a_fallback(
    start: Start, fakes: Callable[[str], Awaitable[FakeUpstream]]
) -> None:
    """Active Anthropic fails count_tokens; its fallback speaks Chat Completions, which has
    no count_tokens: the attempt fails, nothing is sent there (no billed completion)."""
    ant = await fakes("anthropic")
    ant.script(json_reply(503, {"type": "error", "error": {"type": "api_error", "message": "x"}}))
    section = f'[backends.anthropic]\nbase_url = "{ant.url}"\nfallback = ["openai"]\n'
    router, fake = await start(mode="anthropic", extra=section + "transient_fallback = true\n")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{router.url}/v1/messages/count_tokens",
            json={"model": "claude-opus-5-5", "messages": PROMPT},
            headers={"x-api-key": "sk-ant-client"},
        ) as resp,
    ):
        body = await resp.json()
    assert len(ant.received) == 1
    assert fake.received == []
    assert "no /v1/messages/count_tokens on the openai wire" in body["error"]["message"]


async def test_a_conversation_grows_through_the_routers_translation_caches(start: Start) -> None:
    """Each request of a growing conversation reuses the previous one's translation (the
    router's cuts): what the fake receives is still exactly each request, translated."""
    router, fake = await start()
    messages: list[dict[str, Any]] = [{"role": "user", "content": "turn 0"}]
    for i in range(1, 5):
        fake.script(chat_json(completion(f"answer {i}")))
        msg = await sdk(router).messages.create(
            model="claude-opus-5-5", max_tokens=100, messages=messages, tools=TOOLS
        )
        assert msg.content[0].type == "text" and msg.content[0].text == f"answer {i}"
        sent = fake.received[-1].body["messages"]
        assert [m["content"] for m in sent] == [m["content"] for m in messages]
        messages += [
            {"role": "assistant", "content": f"answer {i}"},
            {"role": "user", "content": f"turn {i}"},
        ]
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{router.url}/_hotswap/status") as resp,
    ):
        caches = (await resp.json())["body_caches"]
    assert caches["translated_messages"] == 7  # each distinct message translated once


async def test_a_value_nested_too_deeply_is_a_400_never_a_crash(start: Start) -> None:
    """However deep a value nests: translated, or refused with an Anthropic-shaped 400 (by
    the body layer, past what its parsers take, or by the translation, past what its
    decoder takes deeper in the stack); never a 500."""
    router, fake = await start()
    headers = {"content-type": "application/json", "x-api-key": "sk-ant-client"}
    answered = refused = 0
    for depth in bodygen.DEPTH_SWEEP:
        body = bodygen.deep_tool_body(depth)
        fake.script(chat_json(completion("fine")))
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{router.url}/v1/messages", data=body, headers=headers) as resp,
        ):
            status, answer = resp.status, await resp.json()
        if status == 200:
            answered += 1
            assert answer["content"][0]["text"] == "fine"
            sent = fake.received[-1].body["messages"][1]["tool_calls"][0]
            assert json.loads(sent["function"]["arguments"]) == {
                "a": json.loads("[" * depth + "]" * depth)
            }
        else:
            refused += 1
            assert status == 400, (depth, answer)
            assert answer["error"]["type"] == "invalid_request_error"
            assert "too deeply" in answer["error"]["message"]
    assert answered and refused
