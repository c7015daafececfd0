"""The error tree, and the only place that renders errors for the wire.

    HotswapError
    ├── ConfigError              invalid config file or value (fails at start)
    ├── RequestError             the client's request is bad (400, 413, 401, 403, 404)
    ├── MissingKeyError          a backend's API key variable is not set
    │   ├── InvalidKeyError          ... or holds characters no header may carry
    │   └── NoCredentialError        Anthropic mode without any Anthropic credential
    ├── UpstreamError            talking to a backend failed
    │   ├── UpstreamConnectError     refused, reset, DNS, TLS        -> 502
    │   ├── UpstreamTimeoutError     connect / first byte / idle     -> 504
    │   └── UpstreamStreamError      broke after the stream started  -> SSE error event
    ├── NoBackendAvailableError  every planned attempt failed        -> 502/504
    ├── BudgetSpentError         a `then = "block"` budget is spent   -> 429 + retry-after
    └── InternalError            a bug; rendered without its text    -> 500

Stdlib only: the switch commands import it.
"""

from __future__ import annotations

import json

# Anthropic's error types by HTTP status.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    424: "permission_error",  # hotswap's own: a backend's key is not set (MissingKeyError)
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# The reverse: the HTTP status Anthropic uses for each error type (api_error -> 500).
STATUS_OF_TYPE: dict[str, int] = {
    kind: status for status, kind in reversed(tuple(ERROR_TYPES.items()))
}


def parse_error(body: bytes) -> tuple[str, str] | None:
    """(type, message) of an error body or SSE error event, Anthropic-shaped or the
    `{"error": {...}}` some backends send; None for anything else."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None
    return str(error.get("type", "")), str(error.get("message", ""))


class HotswapError(Exception):
    """Base of every error hotswap raises on purpose."""

    status = 500
    fix = ""  # how to put it right, when the raiser knows: the CLI's `fix:` line

    @property
    def error_type(self) -> str:
        return ERROR_TYPES.get(self.status, "api_error")


class ConfigError(HotswapError):
    """The config file or a value in it is invalid (or a setting cannot be used: an
    unknown backend, a busy port); `fix` says what to change when the raiser knows."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


class RequestError(HotswapError):
    """The client's request is refused by hotswap itself."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class MissingKeyError(HotswapError):
    """A backend needs an API key whose environment variable is unset.

    424, not 401/403: Claude Code decorates those as a failed login ("Failed to
    authenticate", "Please run /login"), which would send the user the wrong way; a 424 it
    reports as it is, without retrying."""

    status = 424

    def __init__(
        self, backend: str, env_var: str, message: str | None = None, reason: str | None = None
    ) -> None:
        super().__init__(
            message
            or f"hotswap: backend '{backend}' needs its API key in the environment variable "
            f"{env_var}, which is not set where the router runs"
        )
        self.backend = backend
        self.env_var = env_var
        self.reason = reason or f"{env_var} is not set"


class InvalidKeyError(MissingKeyError):
    """A backend's key variable holds characters no HTTP header may carry."""

    def __init__(self, backend: str, env_var: str) -> None:
        super().__init__(
            backend,
            env_var,
            f"hotswap: the API key in {env_var} (backend '{backend}') contains control "
            "characters or non-ASCII text, so it cannot be sent; check how it was exported",
            f"{env_var} holds an invalid key",
        )


class NoCredentialError(MissingKeyError):
    """Anthropic mode, but Claude Code was launched without any Anthropic credential (a
    403: here a login is one of the ways out)."""

    status = 403

    def __init__(self, backend: str) -> None:
        super().__init__(
            backend,
            "",
            f"hotswap: backend '{backend}' needs your Anthropic credential, and this session "
            "has none (no ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or Claude login); "
            "switch with `ds` or `backend NAME`",
            "no Anthropic credential in this session",
        )


class UpstreamError(HotswapError):
    """Talking to a backend failed at the transport level."""

    status = 502

    def __init__(self, backend: str, cause: str) -> None:
        super().__init__(f"hotswap: backend '{backend}' failed: {cause}")
        self.backend = backend
        self.cause = cause


class UpstreamConnectError(UpstreamError):
    pass


class UpstreamTimeoutError(UpstreamError):
    status = 504


class UpstreamStreamError(UpstreamError):
    pass


class RouterBusyError(HotswapError):
    """The router's budget for request bodies in flight stayed spent while this request
    waited: a 529 with `retry-after`, which Claude Code and the SDKs retry."""

    status = 529

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BudgetSpentError(HotswapError):
    """A budget is spent -- a backend's (`[budgets.NAME]`, `then = "block"`) or a gateway
    user's (`keys create --daily-usd`) --: a 429 `rate_limit_error` whose `retry-after` is
    the seconds until the period resets."""

    status = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InternalError(HotswapError):
    """A bug in hotswap. The message names only the exception type: its text could hold
    request data."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"hotswap: internal error ({kind}); the router log has the details")


class NoBackendAvailableError(HotswapError):
    """Every attempt in the plan failed; the message names each one."""

    def __init__(self, attempts: list[str], status: int = 502) -> None:
        super().__init__("hotswap: no backend could answer: " + "; ".join(attempts))
        self.status = status


def error_body(error_type: str, message: str) -> bytes:
    """Anthropic's error JSON: {"type":"error","error":{"type":...,"message":...}}."""
    payload = {"type": "error", "error": {"type": error_type, "message": message}}
    return json.dumps(payload, ensure_ascii=False).encode()


def render_error(exc: HotswapError) -> tuple[int, bytes]:
    """Render one of our errors as (HTTP status, JSON body)."""
    return exc.status, error_body(exc.error_type, str(exc))


def sse_error_event(exc: HotswapError) -> bytes:
    """One SSE `error` event, the way Anthropic ends a stream that failed."""
    return b"event: error\ndata: " + error_body(exc.error_type, str(exc)) + b"\n\n"
