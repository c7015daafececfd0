"""Model discovery: which models a backend offers, in Anthropic's list format.

    list_models_with_source(backend, keys) -> ([{"type": "model", "id", ...}], source)

From the backend's own list where it has one: Ollama's `/api/tags`, else `GET /v1/models`
(Anthropic's list, or OpenAI's, which vLLM, llama.cpp, SGLang, LM Studio and every OpenAI-
wire backend serve); else, or when that fails, its model map (targets and default_model).

The router answers `GET /v1/models` (`handle_models`) with every usable backend's models
(its key set, or none needed), the active backend's first, each under its gateway id
(config/model_ids.py: `claude-hotswap-BACKEND--MODEL`). Claude Code 2.1.332 asks for
`GET {base}/v1/models?limit=1000` once at start when CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1
(`hotswap run` sets it), waits 3 s, and keeps only ids containing "claude" or "anthropic"
for its /model picker: a backend's own names would be dropped, gateway ids are kept, and a
request sent with one goes to the backend it names (routes/). See
docs/claude-code-gateway.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from hotswap.config.backends import Backend
from hotswap.config.loading import Config, KeyRing
from hotswap.config.model_ids import gateway_id
from hotswap.errors import HotswapError
from hotswap.router.proxy import STATE
from hotswap.router.upstream import join_url, upstream_headers
from hotswap.wire.registry import adapter_for

FETCH_TIMEOUT_S = 5.0
# Claude Code gives up on the whole list after 3 s: a backend slower than this is listed
# from its model map instead.
GATEWAY_FETCH_TIMEOUT_S = 2.0
EPOCH = "1970-01-01T00:00:00Z"
OLLAMA_PORT = ":11434"
Model = dict[str, Any]


def model_entry(model_id: str, display_name: str | None = None, created: Any = None) -> Model:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name or model_id,
        "created_at": _created_at(created),
    }


def _created_at(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value if isinstance(value, str) and value else EPOCH


def from_list(data: Any) -> list[Model]:
    """A `/v1/models` answer, in Anthropic's format or OpenAI's (`{"data": [{"id",
    "created", "owned_by"}]}`), as Anthropic model entries; ValueError if it is neither."""
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("not a model list")
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            created = item.get("created_at", item.get("created"))
            out.append(model_entry(item["id"], item.get("display_name"), created))
    return out


def from_ollama_tags(data: Any) -> list[Model]:
    """Ollama's `/api/tags` (`{"models": [{"name", "model", "modified_at"}]}`)."""
    items = data.get("models") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("not an Ollama tag list")
    out = []
    for item in items:
        name = item.get("model") or item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str):
            out.append(model_entry(name, item.get("name"), item.get("modified_at")))
    return out


def from_model_map(backend: Backend) -> list[Model]:
    """The models a backend's config names: its default_model, then its map's targets."""
    names = [backend.default_model] if backend.default_model else []
    names += [target for _, target in backend.models]
    return [model_entry(name) for name in dict.fromkeys(names)]


def model_page(models: list[Model]) -> dict[str, Any]:
    """Anthropic's list envelope (one page: the router never pages)."""
    return {
        "data": models,
        "has_more": False,
        "first_id": models[0]["id"] if models else None,
        "last_id": models[-1]["id"] if models else None,
    }


def is_ollama(backend: Backend) -> bool:
    return backend.name == "ollama" or OLLAMA_PORT in backend.base_url


def list_url(backend: Backend) -> str | None:
    """Where a backend lists its models (None: nowhere known; Azure lists deployments
    elsewhere, per resource)."""
    if is_ollama(backend):
        return backend.base_url.rstrip("/") + "/api/tags"
    if backend.deployment is not None or backend.api_version is not None:
        return None
    return join_url(backend.base_url, adapter_for(backend).models_path)


class ModelListError(HotswapError):
    """A backend's model list could not be had. `absent`: the backend has no list there
    (404, 405, or an answer that is not a model list), so its model map may stand in;
    else it is down, timed out, refused the key (`http_status` 401/403) or failed."""

    def __init__(self, message: str, *, absent: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.absent = absent
        self.http_status = status


_ABSENT_STATUSES = frozenset({404, 405})


async def fetch_listed(
    session: aiohttp.ClientSession,
    backend: Backend,
    keys: KeyRing,
    client_headers: Mapping[str, str] | None = None,
) -> list[Model] | None:
    """The backend's own list; None when it has none known (Azure). Raises
    MissingKeyError (its key is not set) or ModelListError."""
    url = list_url(backend)
    if url is None:
        return None
    headers = upstream_headers(client_headers or {}, backend, keys)
    headers.setdefault("anthropic-version", "2023-06-01")
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
    try:
        async with session.get(url, headers=headers, timeout=timeout) as resp:
            if resp.status >= 400:
                absent = resp.status in _ABSENT_STATUSES
                raise ModelListError(
                    f"{url} answered HTTP {resp.status}", absent=absent, status=resp.status
                )
            data = await resp.json(content_type=None)
        return from_ollama_tags(data) if is_ollama(backend) else from_list(data)
    except TimeoutError as exc:
        raise ModelListError(f"{url} did not answer within {FETCH_TIMEOUT_S:g} s") from exc
    except ValueError as exc:  # not JSON, or JSON that is no model list
        raise ModelListError(f"{url} answered no model list", absent=True) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise ModelListError(f"cannot connect to {url}: {exc}") from exc


async def fetch_models(
    session: aiohttp.ClientSession,
    backend: Backend,
    keys: KeyRing,
    client_headers: Mapping[str, str] | None = None,
    strict: bool = False,
) -> tuple[list[Model], str]:
    """The backend's models, and where they came from ("the backend" or "the model map").
    `strict`: a backend that is down, refuses or has no key raises (HotswapError) instead
    of answering its model map; one that has no list still answers its map."""
    try:
        models = await fetch_listed(session, backend, keys, client_headers)
    except ModelListError as exc:
        if strict and not exc.absent:
            raise
        models = None
    except (HotswapError, aiohttp.ClientError, OSError):
        if strict:
            raise
        models = None
    if models is not None:
        return models, "the backend"
    return from_model_map(backend), "the model map"


async def _list(
    backend: Backend, keys: KeyRing, strict: bool, client_headers: Mapping[str, str] | None
) -> tuple[list[Model], str]:
    async with aiohttp.ClientSession(trust_env=False) as session:
        return await fetch_models(session, backend, keys, client_headers, strict)


def list_models_with_source(
    backend: Backend,
    keys: KeyRing,
    *,
    strict: bool = False,
    client_headers: Mapping[str, str] | None = None,
) -> tuple[list[Model], str]:
    return asyncio.run(_list(backend, keys, strict, client_headers))


async def handle_models(request: web.Request) -> web.Response:
    """`GET /v1/models`: every usable backend's models under their gateway ids, the active
    backend's first, in Anthropic's list format."""
    state = request.app[STATE]
    active = state.read_mode().backend
    async with aiohttp.ClientSession(trust_env=False) as session:
        models, source = await gateway_models(session, state.config, active, request.headers)
    return web.json_response(
        model_page(models), headers={"x-hotswap-backend": active.name, "x-hotswap-source": source}
    )


async def gateway_models(
    session: aiohttp.ClientSession,
    config: Config,
    active: Backend,
    client_headers: Mapping[str, str],
) -> tuple[list[Model], str]:
    """The gateway list, and where the active backend's part came from. Backends are asked
    at once, each for at most GATEWAY_FETCH_TIMEOUT_S; one without its key is left out
    (a request to it could only fail)."""
    others = [b for b in config.backends.values() if b.name != active.name]
    backends = [b for b in (active, *others) if usable(b, config.keys, client_headers)]
    found = await asyncio.gather(
        *(_listed_in_time(session, b, config.keys, client_headers) for b in backends)
    )
    models = [
        model_entry(gateway_id(b.name, m["id"]), f"{m['display_name']} ({b.name})", m["created_at"])
        for b, (listed, _) in zip(backends, found, strict=True)
        for m in listed
    ]
    source = found[0][1] if backends and backends[0] is active else "none"
    return models, source


def usable(backend: Backend, keys: KeyRing, client_headers: Mapping[str, str]) -> bool:
    """Whether a request could be sent to `backend` (its key, or the client's credential)."""
    try:
        upstream_headers(client_headers, backend, keys)
    except HotswapError:
        return False
    return True


async def _listed_in_time(
    session: aiohttp.ClientSession,
    backend: Backend,
    keys: KeyRing,
    client_headers: Mapping[str, str],
) -> tuple[list[Model], str]:
    try:
        async with asyncio.timeout(GATEWAY_FETCH_TIMEOUT_S):
            return await fetch_models(session, backend, keys, client_headers)
    except TimeoutError:
        return from_model_map(backend), "the model map"
