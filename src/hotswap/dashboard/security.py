"""Who may use the dashboard: a browser on this machine that was given the token.

- The server binds 127.0.0.1 only, and refuses a request whose `Host` is not a loopback
  name (so a web page cannot reach it through DNS rebinding).
- Every request carries the token: in the URL once (`/?token=...`, the URL the command
  prints, as Jupyter does), which is exchanged for an HttpOnly, SameSite=Strict cookie and
  a redirect to the same URL without it; then in that cookie.
- A request with an `Origin` other than the dashboard's own is refused, and every request
  that changes anything is a POST that must carry the dashboard's own `Origin` (browsers
  always send it on POST) and a JSON body (which a form on another site cannot send
  without a CORS preflight, which gets no CORS headers).
- Every response forbids framing, inline scripts, anything not from the dashboard itself,
  caching, and sending a referrer (the token must not leak through one).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from hotswap.router.app import is_loopback_host

TOKEN_PARAM = "token"
COOKIE_PREFIX = "hotswap_dashboard_"  # + the port: two dashboards keep their own cookies
SAFE_METHODS = frozenset({"GET", "HEAD"})
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
REFUSED = (
    "hotswap dashboard: open the URL that `hotswap dashboard` printed "
    "(it carries the token), on this machine."
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


@dataclass(frozen=True)
class Access:
    """The token of one running dashboard, and the checks every request passes."""

    token: str

    def cookie_name(self, request: web.Request) -> str:
        return f"{COOKIE_PREFIX}{request.url.port or 80}"

    def refuse(self, request: web.Request) -> str | None:
        """Why `request` is refused (the 403's text), or None."""
        if not is_loopback_host(request.host):
            return "hotswap dashboard: the Host header must be a loopback address."
        origin = request.headers.get("Origin")
        own = f"http://{request.host}"
        if origin is not None and origin != own:
            return "hotswap dashboard: requests from another web page are refused."
        if request.method not in SAFE_METHODS and origin is None:
            return "hotswap dashboard: a request that changes anything must carry its Origin."
        given = request.query.get(TOKEN_PARAM)
        if given is None:
            given = request.cookies.get(self.cookie_name(request))
        if not _same(given, self.token):
            return REFUSED
        return None

    def login(self, request: web.Request) -> web.Response:
        """The token from the URL, kept in a cookie; the same URL again, without it."""
        resp = web.Response(
            status=303, headers={"Location": str(request.rel_url.without_query_params(TOKEN_PARAM))}
        )
        resp.set_cookie(
            self.cookie_name(request), self.token, httponly=True, samesite="Strict", path="/"
        )
        return resp


def access_middleware(access: Access) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = access.refuse(request)
        if refusal is not None:
            return web.Response(status=403, text=refusal)
        if request.method in SAFE_METHODS and TOKEN_PARAM in request.query:
            return access.login(request)
        return await handler(request)

    return guard


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: on every response, streams and static files included."""
    response.headers.update(HEADERS)
