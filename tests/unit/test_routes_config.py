"""[[routes]] in the config, and routes.choose: first match wins, `on`, defaults, and the
validation messages that name the bad key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotswap.body import BodyCaches, RequestBody
from hotswap.config.loading import load_config
from hotswap.config.routes import LONG_CONTEXT_TOKENS
from hotswap.errors import ConfigError
from hotswap.routes import Choice, choose

DATA = Path(__file__).resolve().parents[1] / "data" / "routes"


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, {"HOTSWAP_HOME": str(tmp_path)})


ROUTES = """
[[routes]]
when = "background"
to = "deepseek"
[[routes]]
when = "subagent"
to = "deepseek:deepseek-v4-flash"
name = "helpers"
[[routes]]
when = "long_context"
above_tokens = 120000
to = "anthropic"
[[routes]]
when = "image"
on = ["ds"]
to = "anthropic"
"""


def test_routes_are_read_in_order_with_their_defaults(tmp_path: Path) -> None:
    routes = _load(tmp_path, ROUTES).routes
    assert [(r.name, r.when, r.backend.name) for r in routes] == [
        ("background", "background", "deepseek"),
        ("helpers", "subagent", "deepseek"),
        ("long_context", "long_context", "anthropic"),
        ("image", "image", "anthropic"),
    ]
    assert routes[1].backend.default_model == "deepseek-v4-flash" and not routes[1].backend.models
    assert routes[0].backend.models  # no model given: the backend's own model map
    assert routes[2].above_tokens == 120000 and routes[3].on == {"deepseek"}


def test_long_context_without_above_tokens_takes_the_documented_default(tmp_path: Path) -> None:
    route = _load(tmp_path, '[[routes]]\nwhen = "long_context"\nto = "anthropic"\n').routes[0]
    assert route.above_tokens == LONG_CONTEXT_TOKENS == 60_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[routes]]\nwhen = "side"\nto = "deepseek"', "'routes[0].when': 'side' (one of"),
        ('[[routes]]\nwhen = "image"\nto = "nope"', "'routes[0].to': 'nope' (no such backend"),
        ('[[routes]]\nwhen = "image"', "'routes[0].to'"),
        ('[[routes]]\nwhen = "image"\nto = "ds"\non = ["x"]', "'routes[0].on': 'x'"),
        ('[[routes]]\nwhen = "image"\nto = "ds"\nabove_tokens = 5', "only for when = 'long_c"),
        ('[[routes]]\nwhen = "image"\nto = "ds"\nwhere = 1', "'routes[0].where'"),
        ('[[routes]]\nwhen = "image"\nto = "ds:"', "a model name after ':'"),
        (
            '[[routes]]\nwhen = "image"\nto = "ds"\n[[routes]]\nwhen = "image"\nto = "anthropic"',
            "'routes[1].when': 'image' (never matches: 'image' before it",
        ),
        (
            '[[routes]]\nwhen = "long_context"\nto = "ds"\n'
            '[[routes]]\nwhen = "long_context"\nabove_tokens = 90000\nto = "anthropic"',
            "'routes[1].when'",
        ),
        ("routes = 3", "'routes': 3 (expected list)"),
    ],
)
def test_a_bad_route_is_named_in_the_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert message in str(err.value)


def test_a_later_route_of_the_same_class_may_match_in_other_modes(tmp_path: Path) -> None:
    text = (
        '[[routes]]\nwhen = "image"\non = ["deepseek"]\nto = "anthropic"\n'
        '[[routes]]\nwhen = "image"\nto = "kimi"\n'
    )
    routes = _load(tmp_path, text).routes
    assert [r.name for r in routes] == ["image", "image-2"]


def _request(name: str, index: int) -> tuple[RequestBody, dict[str, str]]:
    request = json.loads((DATA / f"{name}.json").read_text())[index]
    raw = json.dumps(request["body"]).encode()
    return RequestBody.parse(raw, BodyCaches()), request["headers"]


def test_choose_first_match_wins_and_no_match_is_the_mode(tmp_path: Path) -> None:
    cfg = _load(tmp_path, ROUTES)
    mode = cfg.backends["anthropic"]
    title = _request("interactive", 0)
    sub = _request("subagent", 2)
    main = _request("subagent", 0)
    assert choose(*title, mode, cfg.routes) == Choice(cfg.routes[0].backend, "background")
    assert choose(*sub, mode, cfg.routes) == Choice(cfg.routes[1].backend, "helpers")
    assert choose(*main, mode, cfg.routes) == Choice(mode)
    assert choose(*title, mode) == Choice(mode)  # no routes: the mode, at once


def test_on_limits_a_route_to_the_modes_it_names(tmp_path: Path) -> None:
    cfg = _load(tmp_path, ROUTES)
    image = _request("image", 1)
    on_deepseek = cfg.backends["deepseek"]
    assert choose(*image, on_deepseek, cfg.routes).route == "image"
    assert choose(*image, cfg.backends["anthropic"], cfg.routes).route is None
    with_model = on_deepseek.with_model("deepseek-v4-pro")  # `ds --model ...` still deepseek
    assert choose(*image, with_model, cfg.routes).route == "image"
