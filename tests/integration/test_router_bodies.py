"""Bodies the fast path cannot take, through a real router: the full parser's turn, a 400
for JSON nested past the recursion limit, bad UTF-8 where no rule reads left to the backend."""

from __future__ import annotations

import msgspec
import pytest

from bodygen import SIGNED, claude_body, tool_turns
from clients import DS_KEY, NO_FALLBACK, post_raw
from hotswap.body.split import split
from hotswap.reading.jsoncodec import UNDECODABLE


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


async def test_the_router_falls_back_to_the_full_parser(fakes, make_router) -> None:
    ds = await fakes("deepseek")
    router = await make_router(
        {"deepseek": ds.url},
        mode="deepseek",
        extra_toml=NO_FALLBACK,
        env={"DEEPSEEK_API_KEY": DS_KEY},
    )
    case = claude_body(*tool_turns(1, SIGNED), stream=False)
    case["messages"][1]["content"][2]["input"] = {"n": 1}
    raw = msgspec.json.encode(case).replace(b'{"n":1}', b'{"n":1e400}')
    status, _, reply = await post_raw(router.url + "/v1/messages", data=raw)
    assert status == 200, reply
    sent = msgspec.json.decode(ds.received[0].raw)
    assert sent["model"] == "deepseek-v4-flash"
    assert sent["messages"][1]["content"][-1]["input"] == {"n": None}  # inf has no JSON


async def test_json_nested_past_the_recursion_limit_is_a_400_not_a_crash(
    fakes, make_router
) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic", extra_toml=NO_FALLBACK)
    with pytest.raises(UNDECODABLE):
        split(b'{"metadata":' + deep(5000) + b"}")
    for where in (b'"metadata":' + deep(5000), b'"messages":' + deep(5000)):
        raw = b'{"model":"claude-opus-4-6","max_tokens":9,"stream":false,' + where + b"}"
        status, _, reply = await post_raw(router.url + "/v1/messages", data=raw)
        assert status == 400 and b"nested too deeply" in reply, reply[:300]
    assert ant.received == []


async def test_invalid_utf8_in_a_value_no_rule_reads_goes_to_the_backend_as_sent(
    fakes, make_router
) -> None:
    ant = await fakes("anthropic")
    router = await make_router({"anthropic": ant.url}, mode="anthropic", extra_toml=NO_FALLBACK)
    raw = (
        b'{"model":"claude-opus-4-6","max_tokens":9,"stream":false,"messages":[{"role":"user",'
        b'"content":[{"type":"tool_result","tool_use_id":"t","content":"bad \xff byte"}]}]}'
    )
    status, _, reply = await post_raw(router.url + "/v1/messages", data=raw)
    assert ant.received[0].raw == raw
    assert status == 400 and b"fake: body is not JSON" in reply  # the backend's verdict
