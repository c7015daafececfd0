"""The yardstick: the least an aiohttp proxy can do -- relay bytes, parse nothing.

    python bench/passthrough.py UPSTREAM_URL     # prints "port N" once listening

hotswap's added latency is judged against this one's: whatever this costs, aiohttp costs.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp
from aiohttp import web

HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"}


async def handle(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
    url = request.app["upstream"] + request.path_qs
    async with request.app["session"].post(url, data=body, headers=headers) as up:
        kept = {k: v for k, v in up.headers.items() if k.lower() not in HOP}
        out = web.StreamResponse(status=up.status, headers=kept)
        await out.prepare(request)
        async for chunk in up.content.iter_any():
            await out.write(chunk)
        await out.write_eof()
        return out


async def serve(upstream: str) -> None:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["upstream"] = upstream.rstrip("/")
    app["session"] = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), auto_decompress=False
    )
    app.router.add_route("POST", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"port {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(sys.argv[1]))
