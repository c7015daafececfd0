"""`hotswap gateway --workers N`: N processes serving one port, each a full gateway
instance (keys, modes, budgets and the ledger live in PostgreSQL and Redis, so nothing that
matters is in one process's memory). Linux only: each worker listens on its own socket
bound with SO_REUSEPORT, and the kernel spreads new connections across them.

The parent binds the port first (with SO_REUSEPORT, never listening: it receives nothing)
so that `:0` means one free port for every worker, then starts the workers and supervises:

- SIGINT/SIGTERM: SIGTERM to every worker (each finishes its requests in flight, as one
  gateway does), then it exits.
- A worker that dies after it was serving is restarted (logged); one that dies before it
  was serving (a crash at start: the database or Redis refused it, say) stops the gateway
  with an error, since its restarts would only die the same way.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import Any

from hotswap.config.loading import Config
from hotswap.config.tuning import tune_process
from hotswap.errors import ConfigError, HotswapError
from hotswap.gateway.server import serve
from hotswap.router.listen import listen, url_of

log = logging.getLogger("hotswap")

START_TIMEOUT_S = 60.0  # a worker that does not serve by then counts as dead at start
STOP_TIMEOUT_S = 30.0  # after SIGTERM, then SIGKILL
POLL_S = 0.5


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int, listening: bool) -> socket.socket:
    try:
        return listen(host, port, reuse_port=True, listening=listening)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _worker(spec: tuple[Any, ...], number: int, ready: Queue[int]) -> None:
    """One worker process: a gateway on its own SO_REUSEPORT socket."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent's handler, not ours
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    config, database, redis_url, host, port = spec

    def announce(_port: int) -> None:
        ready.put(number)

    try:
        sock = reuse_port_socket(host, port, listening=True)
        tune_process()  # each worker as `hotswap serve` is (config/tuning.py)
        asyncio.run(serve(config, database, redis_url, host, port, sock, number, announce))
    except HotswapError as exc:  # said once, plainly, as the parent would say it
        print(f"Error: gateway worker {number}: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)


class Supervisor:
    """Starts the workers, restarts those that die while serving, stops them all."""

    def __init__(self, spec: tuple[Any, ...], n: int) -> None:
        self.spec, self.n = spec, n
        self.context = multiprocessing.get_context("fork")
        self.ready: Queue[int] = self.context.Queue()
        self.procs: dict[int, BaseProcess] = {}
        self.serving: set[int] = set()
        self.stopping = False

    def start(self, number: int) -> None:
        proc = self.context.Process(target=_worker, args=(self.spec, number, self.ready),
                                    name=f"hotswap-gateway-{number}", daemon=False)  # fmt: skip
        proc.start()
        self.procs[number] = proc
        self.serving.discard(number)

    def wait_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(self.serving) < self.n and not self.stopping:
            self._take_ready(deadline - time.monotonic())
            self._check_started()
            if time.monotonic() > deadline:
                raise ConfigError(f"workers not serving after {START_TIMEOUT_S:.0f} s")

    def _take_ready(self, timeout: float) -> None:
        try:
            number = self.ready.get(timeout=max(0.0, min(POLL_S, timeout)))
        except queue.Empty:
            return
        self.serving.add(number)

    def _check_started(self) -> None:
        for number, proc in self.procs.items():
            if not proc.is_alive() and number not in self.serving:
                raise ConfigError(
                    f"gateway worker {number} stopped at start (exit code {proc.exitcode}); "
                    "its error is above"
                )

    def supervise(self) -> None:
        """Until asked to stop: a worker that died while serving is started again."""
        while not self.stopping:
            wait([p.sentinel for p in self.procs.values()], timeout=POLL_S)
            while not self.ready.empty():
                self._take_ready(0)
            for number, proc in list(self.procs.items()):
                if proc.is_alive() or self.stopping:
                    continue
                if number not in self.serving:
                    raise ConfigError(f"gateway worker {number} died while starting again")
                log.warning("gateway worker %d (pid %s) died (exit code %s); restarting",
                            number, proc.pid, proc.exitcode)  # fmt: skip
                self.start(number)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.is_alive() and proc.pid:
                proc.terminate()  # SIGTERM: a graceful stop
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in self.procs.values():
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()


def serve_workers(
    config: Config, database: str, redis_url: str, host: str, port: int, n: int
) -> None:
    """`hotswap gateway --workers N`: serve with N worker processes until SIGINT/SIGTERM."""
    if not supported():
        raise ConfigError("--workers needs Linux (SO_REUSEPORT); elsewhere run one gateway "
                          "per port behind your reverse proxy")  # fmt: skip
    holder = reuse_port_socket(host, port, listening=False)  # fixes the port for all
    port = int(holder.getsockname()[1])
    supervisor = Supervisor((config, database, redis_url, host, port), n)

    def stop(_signum: int, _frame: Any) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for number in range(n):
            supervisor.start(number)
        supervisor.wait_serving()
        print(f"gateway listening on {url_of(host, port)} ({n} workers)", flush=True)
        supervisor.supervise()
    finally:
        supervisor.stop()
        holder.close()
