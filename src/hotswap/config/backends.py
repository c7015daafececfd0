"""Backend presets, as a table: what each backend is called, where it lives, how it authenticates.

Stdlib only: the switch commands read the names and aliases from here. NamedTuples, not
dataclasses: importing `dataclasses` (it pulls in `inspect` and `ast`) would cost the switch
commands ~8 ms of their start-up.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# How a backend authenticates: the client's own credential (passthrough), its key in a
# header (x-api-key, bearer, api-key: Azure OpenAI's), or nothing at all (none: local servers).
AUTH_KINDS = ("passthrough", "x-api-key", "bearer", "api-key", "none")
# The protocol a backend speaks upstream (wire/: one adapter each).
WIRES = ("anthropic", "openai")


class Quirks(NamedTuple):
    """What a backend's Anthropic-compatible endpoint rejects, declared as data.

    The request rewriter (quirks.py, thinking.py) reads these; nothing in the hot path asks
    for a backend by name. Each field is also a config key under [backends.NAME.quirks].
    """

    drop_fields: tuple[str, ...] = ()  # top-level body keys the backend rejects
    drop_betas: bool = False  # do not forward the anthropic-beta header
    strip_model_suffix: bool = True  # "claude-sonnet-4-5[1m]" -> "claude-sonnet-4-5" before mapping
    max_tokens_cap: int | None = None  # clamp max_tokens to this
    max_tokens_default: int | None = None  # set max_tokens when missing (GLM requires it)
    drop_tool_fields: tuple[str, ...] = ()  # keys removed from each tool (defer_loading, ...)
    tool_reference_as_text: bool = False  # tool_reference blocks -> a text block naming the tool
    text_only: bool = False  # image/document blocks -> a short text note
    drop_billing_header: bool = False  # drop Claude Code's rotating billing line from `system`
    # Thinking (see thinking.py for the policy these drive)
    thinking_default_on: bool = False  # no `thinking` key means thinking is on
    adaptive_thinking: bool = True  # False: {"type": "adaptive"} -> enabled with a budget
    thinking_required: str = "none"  # "none" | "final_tool_turn" | "tool_turns"
    thinking_placeholder: str | None = None  # fills a required block; None: thinking off
    unknown_thinking: str = "drop"  # blocks of unknown provenance: "drop" | "keep"
    forced_tool_choice: str = "keep"  # with thinking: "keep" | "disable_thinking" | "auto"
    effort_needs_thinking: bool = False  # drop output_config.effort when thinking is off
    # OpenAI wire only (wire/openai_request.py)
    max_completion_tokens: bool = False  # send max_tokens as max_completion_tokens (o-series)
    reasoning_effort: bool = False  # thinking -> reasoning_effort (the endpoint takes it)

    def check(self) -> Quirks:
        """Self, when every string quirk is within its vocabulary; else TypeError."""
        for name, allowed in QUIRK_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise TypeError(f"quirk {name} must be one of {', '.join(allowed)}")
        return self

    @classmethod
    def from_mapping(cls, data: dict[str, Any], base: Quirks | None = None) -> Quirks:
        """Quirks from a config table; keys it does not name keep `base`'s values (a
        preset's profile), or the defaults without a base."""
        values = dict(data)
        for key, kind in QUIRK_TYPES.items():
            if kind is list and key in values:  # TOML arrays; Quirks holds tuples
                values[key] = tuple(values[key])
        return (base._replace(**values) if base is not None else cls(**values)).check()


# The closed vocabularies of the string quirks, and the TOML type of every quirk.
QUIRK_CHOICES: dict[str, tuple[str, ...]] = {
    "thinking_required": ("none", "final_tool_turn", "tool_turns"),
    "unknown_thinking": ("drop", "keep"),
    "forced_tool_choice": ("keep", "disable_thinking", "auto"),
}
QUIRK_TYPES: dict[str, type] = {
    "drop_fields": list,
    "drop_betas": bool,
    "strip_model_suffix": bool,
    "max_tokens_cap": int,
    "max_tokens_default": int,
    "drop_tool_fields": list,
    "tool_reference_as_text": bool,
    "text_only": bool,
    "drop_billing_header": bool,
    "thinking_default_on": bool,
    "adaptive_thinking": bool,
    "thinking_required": str,
    "thinking_placeholder": str,
    "unknown_thinking": str,
    "forced_tool_choice": str,
    "effort_needs_thinking": bool,
    "max_completion_tokens": bool,
    "reasoning_effort": bool,
}


class Backend(NamedTuple):
    """One place hotswap can send a request to."""

    name: str
    base_url: str
    auth: str = "x-api-key"
    api_key_env: str | None = None
    aliases: tuple[str, ...] = ()
    models: tuple[tuple[str, str], ...] = ()  # (glob, target); first match wins
    fallback: tuple[str, ...] = ()
    transient_fallback: bool | None = None  # None: the router's [router] transient_fallback
    wire: str = "anthropic"  # one of WIRES
    quirks: Quirks = Quirks()
    default_model: str | None = None  # for every model the map does not name
    # Azure OpenAI: the deployment in the path (None: the mapped model name) and api-version
    deployment: str | None = None
    api_version: str | None = None
    # Input tokens the backend holds (config/windows.py): every model, then per model glob
    context_tokens: int | None = None
    context_tokens_by_model: tuple[tuple[str, int], ...] = ()

    @property
    def is_passthrough(self) -> bool:
        return self.auth == "passthrough"

    @property
    def needs_key(self) -> bool:
        return self.auth not in ("passthrough", "none")

    def with_model(self, model: str) -> Backend:
        """This backend with every request going to `model` (`--model`, `backend NAME MODEL`):
        the model map is set aside."""
        return self._replace(default_model=model, models=())


def _preset(**kwargs: Any) -> Backend:
    kwargs["aliases"] = tuple(kwargs.get("aliases", ()))
    kwargs["models"] = tuple(kwargs.get("models", {}).items())
    kwargs["fallback"] = tuple(kwargs.get("fallback", ()))
    return Backend(**kwargs)


# What every non-Anthropic endpoint is given (docs/compatibility.md has the sources):
# no context_management, no tool search (defer_loading, tool_reference), no rotating
# billing line in the prompt prefix (it defeats their prefix caches), thinking as
# `enabled` + budget rather than `adaptive`, and no forced tool_choice with thinking on.
_THIRD_PARTY: dict[str, Any] = {
    "drop_fields": ("context_management",),
    "drop_tool_fields": ("defer_loading",),
    "tool_reference_as_text": True,
    "drop_billing_header": True,
    "adaptive_thinking": False,
    "forced_tool_choice": "disable_thinking",
}


def _third_party(**overrides: Any) -> Quirks:
    return Quirks(**(_THIRD_PARTY | overrides))


# Local servers speaking Anthropic's Messages API themselves; no key (auth "none"), and no
# model map: set `default_model` (or `--model`) to a model the server has. Sources and gaps:
# docs/compatibility.md ("Local servers").
LOCAL_PRESETS: tuple[Backend, ...] = (
    _preset(  # https://docs.ollama.com/api/anthropic-compatibility (>= 0.14)
        name="ollama",
        base_url="http://127.0.0.1:11434",
        auth="none",
        quirks=_third_party(),
    ),
    _preset(  # llama.cpp tools/server/README.md, "POST /v1/messages" (tools need --jinja)
        name="llamacpp",
        base_url="http://127.0.0.1:8080",
        auth="none",
        aliases=("llama.cpp", "llama-server"),
        quirks=_third_party(),
    ),
    _preset(  # https://docs.vllm.ai (vllm.entrypoints.anthropic)
        name="vllm",
        base_url="http://127.0.0.1:8000",
        auth="none",
        quirks=_third_party(),
    ),
    _preset(  # https://docs.sglang.io/docs/basic_usage/anthropic_api
        name="sglang",
        base_url="http://127.0.0.1:30000",
        auth="none",
        quirks=_third_party(),
    ),
    _preset(  # https://lmstudio.ai/docs/developer/anthropic-compat (POST /v1/messages)
        name="lmstudio",
        base_url="http://127.0.0.1:1234",
        auth="none",
        aliases=("lms",),
        quirks=_third_party(),
    ),
)


def _openai(**overrides: Any) -> Quirks:
    """Chat Completions endpoints: the request translation (wire/openai_request.py) drops
    what Chat Completions has no field for; the rules only need to settle thinking."""
    return _third_party(**overrides)


# OpenAI-compatible clouds, reached by translation (wire = "openai"). base_url is what an
# OpenAI SDK takes as its base URL; the adapter appends /chat/completions.
OPENAI_PRESETS: tuple[Backend, ...] = (
    _preset(  # https://platform.openai.com/docs/api-reference/chat
        name="openai",
        base_url="https://api.openai.com/v1",
        auth="bearer",
        api_key_env="OPENAI_API_KEY",
        aliases=("gpt",),
        wire="openai",
        models={"claude-haiku-*": "gpt-5-mini", "*": "gpt-5"},
        quirks=_openai(max_completion_tokens=True, reasoning_effort=True),
    ),
    _preset(  # https://ai.google.dev/gemini-api/docs/openai
        name="gemini",
        base_url="https://generativelanguage.googleapis.com/v1beta/openai",
        auth="bearer",
        api_key_env="GEMINI_API_KEY",
        aliases=("google",),
        wire="openai",
        models={"claude-haiku-*": "gemini-2.5-flash", "*": "gemini-2.5-pro"},
        quirks=_openai(reasoning_effort=True),
    ),
    _preset(  # https://console.groq.com/docs/openai
        name="groq",
        base_url="https://api.groq.com/openai/v1",
        auth="bearer",
        api_key_env="GROQ_API_KEY",
        wire="openai",
        models={"*": "openai/gpt-oss-120b"},
        quirks=_openai(),
    ),
    _preset(  # https://inference-docs.cerebras.ai/resources/openai
        name="cerebras",
        base_url="https://api.cerebras.ai/v1",
        auth="bearer",
        api_key_env="CEREBRAS_API_KEY",
        wire="openai",
        models={"*": "gpt-oss-120b"},
        quirks=_openai(),
    ),
    _preset(  # https://docs.mistral.ai/api/ (chat/completions)
        name="mistral",
        base_url="https://api.mistral.ai/v1",
        auth="bearer",
        api_key_env="MISTRAL_API_KEY",
        wire="openai",
        models={"claude-haiku-*": "mistral-small-latest", "*": "devstral-medium-latest"},
        quirks=_openai(),
    ),
    _preset(  # https://docs.together.ai/docs/openai-api-compatibility
        name="together",
        base_url="https://api.together.xyz/v1",
        auth="bearer",
        api_key_env="TOGETHER_API_KEY",
        wire="openai",
        models={"*": "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8"},
        quirks=_openai(),
    ),
    _preset(  # https://learn.microsoft.com/azure/ai-foundry/openai/reference
        name="azure-openai",
        base_url="https://YOUR-RESOURCE.openai.azure.com",  # set base_url in the config
        auth="api-key",
        api_key_env="AZURE_OPENAI_API_KEY",
        aliases=("azure",),
        wire="openai",
        api_version="2024-10-21",
        quirks=_openai(max_completion_tokens=True, reasoning_effort=True),
    ),
)

PRESETS: dict[str, Backend] = {
    b.name: b
    for b in (
        _preset(
            name="anthropic",
            base_url="https://api.anthropic.com",
            auth="passthrough",
            aliases=("ant", "claude"),
            fallback=("deepseek",),
            quirks=Quirks(
                strip_model_suffix=False,
                thinking_required="final_tool_turn",  # signatures cannot be forged: turn it off
                forced_tool_choice="disable_thinking",
            ),
        ),
        _preset(  # https://api-docs.deepseek.com/guides/anthropic_api
            name="deepseek",
            base_url="https://api.deepseek.com/anthropic",
            auth="x-api-key",
            api_key_env="DEEPSEEK_API_KEY",
            aliases=("ds",),
            models={"claude-opus-*": "deepseek-v4-pro", "*": "deepseek-v4-flash"},
            quirks=_third_party(
                text_only=True,
                thinking_default_on=True,
                thinking_required="tool_turns",
                thinking_placeholder="",  # accepted: it does not check signatures
                effort_needs_thinking=True,
            ),
        ),
        _preset(  # https://openrouter.ai/docs (model names: vendor/model slugs; map your own)
            name="openrouter",
            base_url="https://openrouter.ai/api",
            auth="bearer",
            api_key_env="OPENROUTER_API_KEY",
            aliases=("or",),
            quirks=_third_party(),
        ),
        _preset(  # https://docs.fireworks.ai/tools-sdks/anthropic-compatibility
            name="fireworks",
            base_url="https://api.fireworks.ai/inference",
            auth="bearer",
            api_key_env="FIREWORKS_API_KEY",
            aliases=("fw",),
            models={
                "claude-opus-*": "accounts/fireworks/models/kimi-k3",
                "claude-sonnet-*": "accounts/fireworks/models/glm-5p3",
                "*": "accounts/fireworks/models/kimi-k2p5",
            },
            quirks=_third_party(
                drop_tool_fields=("defer_loading", "cache_control", "eager_input_streaming"),
                effort_needs_thinking=True,
            ),
        ),
        _preset(  # https://platform.moonshot.ai (Anthropic-compatible endpoint)
            name="kimi",
            base_url="https://api.moonshot.ai/anthropic",
            auth="bearer",
            api_key_env="MOONSHOT_API_KEY",
            aliases=("moonshot",),
            models={
                "claude-opus-*": "kimi-k3",
                "claude-sonnet-*": "kimi-k2.7-code",
                "*": "kimi-k2.7-code-highspeed",
            },
            quirks=_third_party(
                thinking_default_on=True,
                thinking_required="tool_turns",
                thinking_placeholder="(thinking omitted)",  # these models cannot turn it off
                forced_tool_choice="auto",
            ),
        ),
        _preset(  # https://docs.z.ai/scenario-example/develop-tools/claude
            name="glm",
            base_url="https://api.z.ai/api/anthropic",
            auth="bearer",
            api_key_env="ZAI_API_KEY",
            aliases=("zhipu", "zai"),
            models={"claude-haiku-*": "glm-5.3-flash", "*": "glm-5.3"},
            quirks=_third_party(
                drop_fields=("context_management", "output_config"),
                max_tokens_default=32000,
                thinking_default_on=True,
            ),
        ),
        _preset(  # https://www.alibabacloud.com/help/en/model-studio/anthropic-api-messages
            name="qwen",
            base_url="https://dashscope-intl.aliyuncs.com/apps/anthropic",
            auth="x-api-key",
            api_key_env="DASHSCOPE_API_KEY",
            aliases=("dashscope",),
            models={
                "claude-opus-*": "qwen3.7-max",
                "claude-sonnet-*": "qwen3.7-plus",
                "*": "qwen3.6-flash",
            },
            quirks=_third_party(),
        ),
        _preset(  # https://platform.minimax.io/docs/api-reference/text-anthropic-api
            name="minimax",
            base_url="https://api.minimax.io/anthropic",
            auth="x-api-key",
            api_key_env="MINIMAX_API_KEY",
            models={"claude-haiku-*": "MiniMax-M2.7-highspeed", "*": "MiniMax-M3"},
            quirks=_third_party(text_only=True),
        ),
        *LOCAL_PRESETS,
        *OPENAI_PRESETS,
    )
}

# Set by `hotswap run` when the user has no Anthropic credential at all (Claude Code will
# not start without one). The router never forwards it: in Anthropic mode it is treated as
# a refused credential, so the request falls back.
PLACEHOLDER_TOKEN = "hotswap-no-anthropic-credential"
