"""Does a request fit a backend's context window? Answered per request, cheaply.

Every request passes a screen that costs one division: its body's bytes against the
window (config/windows.screen_tokens, bytes / 4, high for text and much higher for base64
images). Only a request the screen calls too long is decoded and counted with care (text
at 4 characters a token, 1,600 per image or document: body/tokens.scan_tokens, a regex
scan of the raw bytes, never a decode), once per request
whatever the number of backends asked; it is refused only if that count is too long too.
A backend whose window is unknown holds everything.
"""

from __future__ import annotations

from hotswap.config.backends import Backend
from hotswap.config.windows import context_window, screen_tokens, too_long_message, wire_model
from hotswap.errors import RequestError
from hotswap.router.attempt import Request


class Fit:
    """One request's size, against the windows of the backends it may go to."""

    def __init__(self, req: Request) -> None:
        self.req = req
        self._counted: int | None = None

    def over(self, backend: Backend) -> RequestError | None:
        """The 400 for a request `backend` cannot hold (Anthropic's wording, which Claude
        Code answers by compacting); None when it fits or the window is unknown."""
        if not self.req.is_messages:
            return None  # count_tokens: counting a long request is what it is for
        window = context_window(backend, wire_model(self.req.model, backend))
        if window is None or screen_tokens(self.req.body.size) <= window:
            return None
        if self._counted is None:
            self._counted = self.req.body.estimated_tokens()
        if self._counted <= window:
            return None
        return RequestError(too_long_message(self._counted, window, backend.name))

    def holds(self, backend: Backend) -> bool:
        return self.over(backend) is None
