"""The router's listening socket, bound before aiohttp is imported (stdlib only).

`hotswap run` binds first and starts Claude Code while the router is still loading: the
kernel queues connections made in the meantime, so none is refused.
"""

from __future__ import annotations

import socket

from hotswap.osdeps import is_windows

BACKLOG = 128


def busy_port_fix(port: int) -> str:
    """What to do about a port another process holds."""
    return (
        f"another process listens on port {port} (`ss -ltnp 'sport = :{port}'` or "
        f"`lsof -i :{port}` names it): stop it, or pick another port with --port N "
        "(--port 0 takes any free one)"
    )


def listen(
    host: str, port: int, *, reuse_port: bool = False, listening: bool = True
) -> socket.socket:
    """A listening TCP socket on host:port (0: a free port). Raises OSError. `reuse_port`:
    SO_REUSEPORT (Linux), so the gateway's workers share one port; `listening=False`: bound
    only (what holds the port while they start)."""
    family, address = _address(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # On Windows SO_REUSEADDR lets a second socket take a port already bound: never.
        if hasattr(socket, "SO_REUSEADDR") and not is_windows():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listening:
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def url_of(host: str, port: int) -> str:
    """`http://HOST:PORT` as a listening line prints it (an IPv6 literal in brackets)."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _address(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """An IP literal as it is (a name lookup would import the idna codec), else resolved."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family, (host, port)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    return family, (str(address[0]), int(address[1]))
