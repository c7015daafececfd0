"""The request body, behind one facade: `RequestBody.parse(raw, caches)`.

    body = RequestBody.parse(raw, caches)    # 400 (BadBody) for what is not a JSON object
    body.stream, body.model, body.size       # read without decoding the whole body
    body.raw_value("tools")                  # a top-level value's JSON text, undecoded
    body.new_turns_hold("image")             # a block type in the turns after the last
                                             # assistant turn (the route classes read both)
    body.for_backend(backend, origins)       # the bytes to send: the client's own bytes when
                                             # no rule changes anything
    body.release()                           # committed: no other attempt will need it

Behind it (the proxy sees none of this):

- split.py   one typed msgspec pass cuts the body into raw JSON spans (shape.py is the
             shape Claude Code sends; other shapes take a generic split);
- prefix.py  a conversation's earlier turns, already split, are taken over by comparing
             bytes;
- lazy.py    the rules get a dict decoded only as far as they declare they read
             (rewrite.request_reads), written back by splicing the client's bytes;
- turns.py   an assistant turn the rules rewrote for a backend is reused by the next
             request that repeats it;
- caches.py  everything kept between requests: one BodyCaches per router, bounded;
- the full parser (jsoncodec.parse_request_body) for what msgspec cannot take (lone
  surrogates, nesting past the recursion limit, a number out of range in a value a rule
  reads): a slower path, never a different answer.

Each attempt rewrites the client's original request afresh, never a previous attempt's
rewrite, so a fallback backend gets exactly what it would have got first.
"""

from __future__ import annotations

from typing import Any

import msgspec

from hotswap.body.caches import BodyCaches
from hotswap.body.lazy import new_turns_hold
from hotswap.body.passes import rewrite_split
from hotswap.body.split import NotAnObject, Split, split
from hotswap.body.tokens import scan_tokens
from hotswap.config.backends import Backend
from hotswap.errors import RequestError
from hotswap.reading.jsoncodec import UNDECODABLE, dump_json, parse_request_body
from hotswap.rules.rewrite import no_origin, request_changes
from hotswap.rules.thinking import Origins

__all__ = ["BadBody", "BodyCaches", "RequestBody", "parse_whole"]


class BadBody(RequestError):
    """The request body is not a JSON object (the message says why): the client's 400,
    wherever the body layer finds out (at receive, or when a rule reads a turn)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"hotswap: {reason}")


class RequestBody:
    """One client request's body (see the module doc)."""

    __slots__ = ("_caches", "_exact", "_parsed", "_raw", "_split", "size", "stream")

    def __init__(
        self,
        raw: bytes,
        caches: BodyCaches,
        parts: Split | None,
        parsed: dict[str, Any] | None,
        exact: bool,
    ) -> None:
        self._raw = raw
        self._caches = caches
        self._split = parts  # None: the full parser's turn
        self._parsed = parsed  # the full parse, until an attempt takes it
        self._exact = exact  # `raw` encodes `parsed` faithfully (False: re-serialise it)
        self.size = len(raw)
        if parts is not None:
            self.stream = parts.stream
        else:
            assert parsed is not None
            self.stream = parsed.get("stream") is True

    @classmethod
    def parse(cls, raw: bytes, caches: BodyCaches) -> RequestBody:
        """Split `raw` (its syntax checked whole); BadBody when it is not a JSON object."""
        try:
            return cls(raw, caches, split(raw, caches.prefix), None, True)
        except NotAnObject as exc:
            raise BadBody(str(exc)) from None
        except UNDECODABLE:  # malformed, or JSON only the full parser takes
            parsed, exact = parse_whole(raw)
            return cls(raw, caches, None, parsed, exact)

    @property
    def model(self) -> str | None:
        """The model the client asked for."""
        if self._split is not None:
            raw = self._split.top.get("model")
            value = _decode_or_none(raw) if raw is not None else None
        else:
            value = (self._parsed or {}).get("model")
        return value if isinstance(value, str) else None

    def raw_value(self, key: str) -> bytes | None:
        """A top-level value's JSON text as the client wrote it, undecoded (None: absent).
        The route classes read `tools`, `thinking` and `max_tokens` so: a view's copy, no
        parse. The full parser's bodies (rare) re-encode the value."""
        if self._split is not None:
            value = self._split.top.get(key)
            if value is None or isinstance(value, list):  # `messages`: split into turns
                return None
            return bytes(value)
        parsed = self._parsed if self._parsed is not None else parse_whole(self._raw)[0]
        return msgspec.json.encode(parsed[key]) if key in parsed else None

    def new_turns_hold(self, kind: str) -> bool:
        """A block of type `kind` (at the top of a user turn, or inside a tool_result) in
        the turns after the last assistant turn: what this request adds to the
        conversation. The typed split knows each user block's type already."""
        kinds = frozenset((kind,))
        if self._split is not None:
            turns = self._split.top.get("messages")
            if isinstance(turns, list):
                return new_turns_hold(turns, kinds)
            decoded = _decode_or_none(turns) if turns is not None else None
        else:
            parsed = self._parsed if self._parsed is not None else parse_whole(self._raw)[0]
            decoded = parsed.get("messages")
        return new_turns_hold(decoded, kinds) if isinstance(decoded, list) else False

    def for_backend(
        self, backend: Backend, origins: Origins | None = None, *, count_tokens: bool = False
    ) -> bytes:
        """The client's original body, rewritten afresh for `backend` by the rules (never a
        previous attempt's rewrite); thinking blocks are judged by who produced them."""
        origins = origins or no_origin
        if self._split is not None:
            try:
                return self._rewrite_split(backend, origins, count_tokens)
            except UNDECODABLE:
                self._split = None  # a value the rules read needs the full parser, for good
        body = self._take_parsed()
        changed = request_changes(body, backend, origins, count_tokens=count_tokens)
        return dump_json(body) if changed or not self._exact else self._raw

    def estimated_tokens(self) -> int:
        """About how many input tokens the request is, counted over its text (a scan of
        the whole body: only for a request the context-window screen calls too long)."""
        return scan_tokens(self._raw)

    def release(self) -> None:
        """Committed: no other attempt will need the request; let it go before a long relay."""
        self._raw, self._split, self._parsed = b"", None, None

    def _take_parsed(self) -> dict[str, Any]:
        """The fully parsed body, for one attempt to rewrite. The first attempt takes
        parse()'s, so a request waiting for its upstream holds only its raw bytes; a
        fallback attempt parses the raw bytes again (the rules replace its keys)."""
        body, self._parsed = self._parsed, None
        if body is None:
            body, self._exact = parse_whole(self._raw)
        return body

    def _rewrite_split(self, backend: Backend, origins: Origins, count_tokens: bool) -> bytes:
        assert self._split is not None
        return rewrite_split(
            self._raw, self._split, backend, origins, self._caches, count_tokens=count_tokens
        )


def parse_whole(raw: bytes) -> tuple[dict[str, Any], bool]:
    """The body parsed whole (the full parser), and whether `raw` still encodes it
    faithfully; BadBody when it is not a JSON object."""
    try:
        body, exact = parse_request_body(raw)
    except ValueError as exc:
        raise BadBody(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadBody("the request body must be a JSON object")
    return body, exact


def _decode_or_none(raw: Any) -> Any:
    try:
        return msgspec.json.decode(raw)
    except UNDECODABLE:
        return None
