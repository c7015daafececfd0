"""The router relays a streaming and a non-streaming request to the backend the mode file names."""

from __future__ import annotations

import anthropic

from fakes import sse_message


async def test_mode_switch_between_two_requests_goes_to_the_other_backend(fakes, make_router):
    ant, ds = await fakes("anthropic"), await fakes("deepseek")
    router = await make_router(
        {"anthropic": ant.url, "deepseek": ds.url},
        mode="anthropic",
        env={"DEEPSEEK_API_KEY": "sk-ds-test"},
    )
    client = anthropic.AsyncAnthropic(base_url=router.url, api_key="sk-ant-user", max_retries=0)
    first = await client.messages.create(
        model="claude-opus-5-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    router.mode_file.write_text("ds\n")
    ds.script(sse_message("from deepseek"))
    async with client.messages.stream(
        model="claude-opus-5-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert first.content[0].text == "Hello from the fake."
    assert text == "from deepseek"
    assert len(ant.received) == 1 and len(ds.received) == 1
    sent = ds.received[0]
    assert sent.body["model"] == "deepseek-v4-pro"
    assert sent.headers["x-api-key"] == "sk-ds-test"
    assert "sk-ant-user" not in str(sent.headers)
    assert "sk-ant-user" in ant.received[0].headers["authorization"]  # passed through
