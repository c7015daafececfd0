"""The router's listening socket, bound before aiohttp is imported (stdlib only).

`hotswap run` binds first and starts Claude Code while the router is still loading: the
kernel queues connections made in the meantime, so none is refused.
"""

from __future__ import annotations

import socket

BACKLOG = 128


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (0: a free port). Raises OSError."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if hasattr(socket, "SO_REUSEADDR") and not _windows():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _windows() -> bool:
    import sys

    return sys.platform == "win32"
