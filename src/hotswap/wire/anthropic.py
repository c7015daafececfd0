"""The Anthropic wire: the identity adapter. The request goes out as the rules left it and
the reply is read as it comes: the byte-for-byte fast path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotswap.wire import Outgoing, Reply

if TYPE_CHECKING:
    from multidict import CIMultiDict

    from hotswap.config.backends import Backend


class AnthropicWire:
    name = "anthropic"
    counts_tokens = True
    models_path = "/v1/models"
    live_probe = True

    def new_cache(self, budget_bytes: int) -> None:
        return None  # bytes through: nothing to keep

    def prepare(
        self,
        backend: Backend,
        path_qs: str,
        body: bytes,
        headers: CIMultiDict[str],
        cache: None = None,
    ) -> Outgoing:
        return Outgoing(path_qs, body, headers)

    def reply(self, backend: Backend, reply: Reply, stream: bool) -> Reply:
        return reply
