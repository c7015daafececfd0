"""A request the backend cannot hold is answered at once (the fake receives nothing), a
fallback that cannot hold it is skipped, and the status tells the last request's size."""

from __future__ import annotations

import anthropic
import pytest

from clients import sdk, status_of
from fakes import json_error, sse_message

ENV = {"DEEPSEEK_API_KEY": "sk-ds-windows"}
LONG = [{"role": "user", "content": "word " * 4000}]  # ~20 KB: ~5,000 tokens


def small(url: str) -> str:
    return f'[backends.deepseek]\nbase_url = "{url}"\ncontext_tokens = 2000\n'


async def test_too_long_for_the_active_backend_is_a_400_at_once(fakes, make_router):
    ds = await fakes("deepseek")
    router = await make_router({}, mode="deepseek", env=ENV, extra_toml=small(ds.url))
    with pytest.raises(anthropic.BadRequestError) as caught:
        await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=LONG)
    assert ds.received == []
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("prompt is too long: ")
    assert "> 2000 maximum" in error["message"] and "/compact" in error["message"]
    status = await status_of(router)
    assert status["last_error"].startswith("prompt is too long")


async def test_a_short_request_goes_through(fakes, make_router):
    ds = await fakes("deepseek")
    ds.script(sse_message(input_tokens=1540))
    router = await make_router({}, mode="deepseek", env=ENV, extra_toml=small(ds.url))
    hi = [{"role": "user", "content": "hi"}]
    stream = await sdk(router).messages.create(
        model="claude-opus-5-5", max_tokens=5, messages=hi, stream=True
    )
    async for _ in stream:
        pass
    assert len(ds.received) == 1
    status = await status_of(router)
    assert status["last_input_tokens"] == 1540
    assert status["last_client_model"] == "claude-opus-5-5"


async def test_a_fallback_that_cannot_hold_it_is_skipped(fakes, make_router):
    ant, ds, glm = await fakes("anthropic"), await fakes("deepseek"), await fakes("glm")
    ant.script(json_error(402, "billing_error", "no credits"))
    extra = (
        f'[backends.anthropic]\nbase_url = "{ant.url}"\nfallback = ["deepseek", "glm"]\n'
        f'[backends.deepseek]\nbase_url = "{ds.url}"\ncontext_tokens = 2000\n'
    )
    router = await make_router(
        {"glm": glm.url}, mode="anthropic", env={**ENV, "ZAI_API_KEY": "k"}, extra_toml=extra
    )
    await sdk(router).messages.create(model="claude-opus-5-5", max_tokens=5, messages=LONG)
    assert len(ant.received) == 1 and ds.received == [] and len(glm.received) == 1
