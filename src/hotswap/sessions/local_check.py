"""What a switch to a local server says when that server cannot serve yet.

`hotswap use vllm` with no vLLM running, or with no model to ask it for, used to switch
silently, and the next prompt failed. After the switch (which has already happened: the
check never delays or prevents it), a local backend gets one TCP connect of at most
LOCAL_TIMEOUT_S to its base URL's host and port, and a look at whether it has a model:

    ! vllm does not answer at http://127.0.0.1:8000 (start it, or !ant to switch back)
    ! vllm has no default_model: set [backends.vllm] default_model = "..." or pass --model

Local means on this machine (a loopback host) or a server that takes no key (auth "none",
like a box on the LAN); a cloud is never probed, nor a passthrough backend (Anthropic's API
or a proxy of it). Stdlib only; `socket` (~5 ms to import) only when a local backend is
probed, so `ds` and `ant` never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit  # already imported: pathlib imports urllib.parse

from hotswap.config.backends import Backend

LOCAL_TIMEOUT_S = 0.3
_LOOPBACK_HOSTS = ("localhost", "::1", "0.0.0.0")  # 0.0.0.0 connects to this machine


def is_local(backend: Backend) -> bool:
    """On this machine, or a keyless server: a local model server, never a cloud. Not a
    passthrough backend: that is Anthropic's API (or a proxy of it, wherever it runs),
    which takes Claude Code's own model names and credential."""
    if backend.is_passthrough:
        return False
    host = (urlsplit(backend.base_url).hostname or "").lower()
    return host.startswith("127.") or host in _LOOPBACK_HOSTS or backend.auth == "none"


def address(base_url: str) -> tuple[str, int] | None:
    """(host, port) of a base URL, the scheme's port when it names none."""
    parts = urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is not a number: the router will say so
        return None
    return (parts.hostname, port) if parts.hostname else None


def answers(host: str, port: int, timeout_s: float = LOCAL_TIMEOUT_S) -> bool:
    """Whether something accepts a connection there within `timeout_s`."""
    import socket  # here: see the module's docstring

    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def local_warnings(
    backend: Backend, model: str | None, probe: Callable[[str, int], bool] = answers
) -> list[str]:
    """The `! ...` lines for a switch to `backend` (with `model`, when one was given)."""
    if not is_local(backend):
        return []
    lines = []
    where = address(backend.base_url)
    if where is not None and not probe(*where):
        lines.append(
            f"! {backend.name} does not answer at {backend.base_url} "
            "(start it, or !ant to switch back)"
        )
    if model is None and backend.default_model is None and not backend.models:
        lines.append(
            f"! {backend.name} has no default_model: set [backends.{backend.name}] "
            'default_model = "..." or pass --model'
        )
    return lines
