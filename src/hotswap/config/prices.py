"""What tokens cost: USD per million tokens, per backend and model glob, and the savings math.

Cost is never stored: the ledger keeps tokens, and cost is computed when it is reported,
from this table (with the config's `[backends.NAME.prices."glob"]` on top). So correcting a
price corrects the past. A model no glob matches has an *unknown* price, never $0.

**Savings** of an exchange = what the same tokens (input, output, cache reads, cache
writes) would have cost on the Claude model Claude Code asked for, at Anthropic's prices,
minus what they cost where they went. Anthropic's own requests save nothing.

Stdlib only (fnmatch): the router's status aggregate uses it on every finished exchange.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # an annotation only: the switch commands load prices via the config
    from hotswap.router.exchange import Usage

PRICES_CHECKED = "2026-12-05"  # when the built-in table below was last checked
ANTHROPIC = "anthropic"
PER_TOKENS = 1_000_000


class Price(NamedTuple):
    """USD per million tokens. Cache writes are Anthropic's 5-minute writes; vendors that
    do not bill them apart charge them as input (a cache miss)."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * self.cache_read
            + usage.cache_write_tokens * self.cache_write
        ) / PER_TOKENS


_FREE = Price(0.0, 0.0, 0.0, 0.0)


def _same(input: float, output: float, cache_read: float) -> Price:
    """A vendor whose cache writes are billed as plain input."""
    return Price(input, output, cache_read, input)


# Anthropic: https://platform.claude.com/docs/en/about-claude/pricing (checked 2026-12-05).
# Cache writes at the 5-minute rate (1.25x input; the 1-hour rate, 2x, is not told apart in
# usage). Haiku 5.5 at its <=100k-prompt tier: longer prompts cost more (not modelled, so
# savings against Haiku 5.5 are understated, never overstated). Sonnet 5.5 cache reads as
# cut on 2026-10-07. The `claude-<family>-*` catch-alls price a newer model as the newest
# known one of its family.
_OPUS_5_5 = Price(4.0, 20.0, 0.20, 5.0)
_OPUS_5 = Price(5.0, 25.0, 0.50, 6.25)
_OPUS_4 = Price(15.0, 75.0, 1.50, 18.75)
_SONNET_5_5 = Price(2.0, 10.0, 0.10, 2.50)
_SONNET_5 = Price(2.0, 10.0, 0.20, 2.50)
_SONNET_4 = Price(3.0, 15.0, 0.30, 3.75)
_HAIKU_5_5 = Price(0.10, 0.50, 0.01, 0.125)
_HAIKU_4_5 = Price(1.0, 5.0, 0.10, 1.25)
_ANTHROPIC: tuple[tuple[str, Price], ...] = (
    ("claude-opus-5-5*", _OPUS_5_5),
    ("claude-opus-5*", _OPUS_5),
    ("claude-opus-4-5*", _OPUS_5),
    ("claude-opus-4-6*", _OPUS_5),
    ("claude-opus-4-7*", _OPUS_5),
    ("claude-opus-4-8*", _OPUS_5),
    ("claude-opus-4*", _OPUS_4),  # Opus 4 and 4.1
    ("claude-3-opus*", _OPUS_4),
    ("claude-opus-*", _OPUS_5_5),
    ("claude-sonnet-5-5*", _SONNET_5_5),
    ("claude-sonnet-5*", _SONNET_5),
    ("claude-sonnet-4*", _SONNET_4),
    ("claude-3-7-sonnet*", _SONNET_4),
    ("claude-3-5-sonnet*", _SONNET_4),
    ("claude-sonnet-*", _SONNET_5_5),
    ("claude-haiku-5-5*", _HAIKU_5_5),
    ("claude-haiku-4-5*", _HAIKU_4_5),
    ("claude-3-5-haiku*", Price(0.80, 4.0, 0.08, 1.0)),
    ("claude-3-haiku*", Price(0.25, 1.25, 0.03, 0.30)),
    ("claude-haiku-*", _HAIKU_5_5),
)

BUILTIN: dict[str, tuple[tuple[str, Price], ...]] = {
    ANTHROPIC: _ANTHROPIC,
    # https://api-docs.deepseek.com/quick_start/pricing (checked 2026-12-05): cache hit /
    # cache miss / output. The v4-pro figures are the 75%-off prices DeepSeek made
    # permanent. A third-party guide reports peak/off-peak rates since 2026-10; not
    # confirmed on DeepSeek's page, so not used.
    "deepseek": (
        ("deepseek-v4-pro*", _same(0.435, 0.87, 0.003625)),
        ("deepseek-v4-flash*", _same(0.14, 0.28, 0.0028)),
        ("deepseek-chat", _same(0.14, 0.28, 0.0028)),  # aliases of v4-flash
        ("deepseek-reasoner", _same(0.14, 0.28, 0.0028)),
    ),
    # OpenRouter: slugs and prices vary per route; price yours in the config.
    "openrouter": (),
    # https://docs.fireworks.ai/serverless/overview: cached input is 50% of input unless a
    # model lists otherwise. kimi-k3 at Moonshot's list price (Fireworks' own figure not
    # found); glm-5p3 at Z.ai's list price (not confirmed on Fireworks); kimi-k2p5 at the
    # only published figure found (a reseller's), not confirmed on Fireworks.
    "fireworks": (
        ("accounts/fireworks/models/kimi-k3*", _same(3.0, 15.0, 1.50)),
        ("accounts/fireworks/models/glm-5p3*", _same(1.75, 5.50, 0.875)),
        ("accounts/fireworks/models/kimi-k2p7-code*", _same(0.95, 4.00, 0.475)),
        ("accounts/fireworks/models/kimi-k2p5*", _same(0.56, 3.50, 0.28)),
    ),
    # https://platform.kimi.ai/docs/pricing (kimi-k3: $3 / $15, cache hit $0.30). The
    # k2.7-code figures ($0.95 / $4.00, cached at 50%) are from a gateway's listing, not
    # confirmed on Moonshot's page; highspeed is published as double the standard model.
    "kimi": (
        ("kimi-k3*", _same(3.0, 15.0, 0.30)),
        ("kimi-k2.7-code-highspeed*", _same(1.90, 8.00, 0.95)),
        ("kimi-k2.7-code*", _same(0.95, 4.00, 0.475)),
    ),
    # Z.ai: glm-5.3 $1.75 / $5.50 and glm-5.3-flash $0.15 / $0.50 as listed by resellers
    # that match Z.ai's list prices for glm-5.2; Z.ai's cache-read rate for 5.3 was not
    # found, so cache reads are priced as input (an upper bound: savings never overstated).
    "glm": (
        ("glm-5.3-flash*", _same(0.15, 0.50, 0.15)),
        ("glm-5.3*", _same(1.75, 5.50, 1.75)),
    ),
    # Alibaba Model Studio: qwen3.7-max at the only figure found ($1.714 / $5.142, the CNY
    # list price converted), qwen3.7-plus $0.40 / $1.60 (<=256K prompt), both from
    # resellers. Explicit-cache rates (read 10%, write 125% of input), as Model Studio
    # bills cache_control. No figure found for qwen3.6-flash: its price is unknown.
    "qwen": (
        ("qwen3.7-max*", Price(1.714, 5.142, 0.1714, 2.1425)),
        ("qwen3.7-plus*", Price(0.40, 1.60, 0.04, 0.50)),
    ),
    # https://platform.minimax.io/docs/guides/pricing-paygo: M3 $0.30 / $1.20 (<=512K
    # prompt), cache read $0.06, cache write $0.375; M2.7-highspeed $0.60 / $2.40.
    "minimax": (
        ("MiniMax-M3*", Price(0.30, 1.20, 0.06, 0.375)),
        ("MiniMax-M2.7-highspeed*", Price(0.60, 2.40, 0.06, 0.375)),
        ("MiniMax-M2.7*", Price(0.30, 1.20, 0.06, 0.375)),
    ),
    # Servers on your own machine: no API fee (electricity and hardware not counted), so
    # their savings are the whole Claude price.
    **{name: (("*", _FREE),) for name in ("ollama", "llamacpp", "vllm", "sglang", "lmstudio")},
    # OpenAI: gpt-5 $1.25 / $10, cached input at 10%; gpt-5-mini $0.25 / $2 (as published on
    # openai.com/api/pricing in 2026; not re-checked on 2026-12-05). No cache-write charge.
    "openai": (
        ("gpt-5-mini*", _same(0.25, 2.0, 0.025)),
        ("gpt-5", _same(1.25, 10.0, 0.125)),
        ("gpt-5-20*", _same(1.25, 10.0, 0.125)),
    ),
    # Google: gemini-2.5-pro $1.25 / $10 for prompts up to 200K (longer: more, not
    # modelled), cached input $0.31; gemini-2.5-flash $0.30 / $2.50, cached $0.075
    # (ai.google.dev/gemini-api/docs/pricing, as last published figures found).
    "gemini": (
        ("gemini-2.5-pro*", _same(1.25, 10.0, 0.31)),
        ("gemini-2.5-flash*", _same(0.30, 2.50, 0.075)),
    ),
    # groq, cerebras, mistral, together, azure-openai: no figure confirmed; price yours in
    # the config ([backends.NAME.prices."glob"]).
}

PriceTable = Mapping[str, tuple[tuple[str, Price], ...]]


def price_table(overrides: Mapping[str, Iterable[tuple[str, Price]]] | None = None) -> PriceTable:
    """The built-in table with each backend's configured prices tried first."""
    table = dict(BUILTIN)
    for backend, rows in (overrides or {}).items():
        table[backend] = (*tuple(rows), *table.get(backend, ()))
    return table


def lookup(table: PriceTable, backend: str | None, model: str | None) -> Price | None:
    """The first glob of `backend` matching `model`; None: unknown."""
    if backend is None or model is None:
        return None
    for pattern, price in table.get(backend, ()):
        if fnmatchcase(model, pattern):
            return price
    return None


class Costed(NamedTuple):
    """One usage, priced. None: unknown (no price for a model that used tokens)."""

    cost_usd: float | None
    claude_usd: float | None  # the same tokens on the Claude model asked for

    @property
    def savings_usd(self) -> float | None:
        if self.cost_usd is None or self.claude_usd is None:
            return None
        return self.claude_usd - self.cost_usd


def price_usage(
    table: PriceTable,
    usage: Usage,
    backend: str | None,
    model: str | None,
    client_model: str | None,
) -> Costed:
    """Cost and Claude-equivalent cost of `usage`; no tokens cost a known $0."""
    if usage.total == 0:
        return Costed(0.0, 0.0)
    price = lookup(table, backend, model)
    claude = lookup(table, ANTHROPIC, client_model)
    return Costed(price.cost(usage) if price else None, claude.cost(usage) if claude else None)


MAX_PRICE_USD = 1_000_000  # per million tokens: past this it is a typo (or 1e400 = inf)


def parse_price(data: Mapping[str, object]) -> Price:
    """A price from a config table: `input` and `output` required; cache reads and writes
    default to the input price. Raises ValueError naming the problem."""
    unknown = set(data) - set(Price._fields)
    if unknown:
        known = ", ".join(Price._fields)
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}; the keys are {known}")
    values: dict[str, float] = {}
    for key in Price._fields:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number >= 0 (USD per million tokens)")
        if not 0 <= value <= MAX_PRICE_USD:  # false for nan too
            raise ValueError(f"{key} must be a number from 0 to {MAX_PRICE_USD:g} (USD per 1M)")
        values[key] = float(value)
    for key in ("input", "output"):
        if key not in values:
            raise ValueError(f"{key} is required")
    values.setdefault("cache_read", values["input"])
    values.setdefault("cache_write", values["input"])
    return Price(**values)
