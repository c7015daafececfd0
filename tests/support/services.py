"""Real PostgreSQL and Redis for the gateway's tests, each started in a temporary folder on
127.0.0.1 with a free port (never mocks, never a machine-wide service).

Missing binaries skip the tests that need them, with the reason; under CI
(HOTSWAP_SERVICE_TESTS=required, set by .ci/run after installing Debian's `postgresql` and
`redis-server`) they fail instead. As root, PostgreSQL runs as the `postgres` user (initdb
refuses root), in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

REQUIRED_ENV = "HOTSWAP_SERVICE_TESTS"  # `required` (CI): a missing service fails, not skips


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def unavailable(reason: str) -> None:
    if os.environ.get(REQUIRED_ENV) == "required":
        pytest.fail(f"{reason} ({REQUIRED_ENV}=required)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


class Postgres:
    """One PostgreSQL server; `url(db)` a database of its own for each test."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, 0
        self.data, self.sock = folder / "data", folder / "sock"
        self._created = 0

    def start(self) -> Postgres:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            unavailable("PostgreSQL not found (apt-get install postgresql)")
        assert initdb is not None and pg_ctl is not None
        self.sock.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.sock, "postgres")
        run = subprocess.run
        cmd = [initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        run(_as_postgres(cmd), check=True, capture_output=True)
        self.port = free_port()
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} -c fsync=off"
        cmd = [pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.folder / "log"), "-w"]
        run(_as_postgres([*cmd, "start"]), check=True, capture_output=True)
        return self

    def stop(self) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl is not None
        cmd = [pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres(cmd), capture_output=True)

    def restart(self) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl is not None
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} -c fsync=off"
        cmd = [pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.folder / "log"), "-w"]
        subprocess.run(_as_postgres([*cmd, "start"]), check=True, capture_output=True)

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        self._created += 1
        name = f"t{os.getpid()}_{self._created}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"


class Redis:
    """One redis-server, no persistence; `flush()` between tests."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server not found (apt-get install redis-server)")
        assert binary is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.folder)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Its log says when it accepts connections: read it (no polling, no sleep)."""
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if b"Ready to accept connections" in line:
                self.proc.stdout.close()  # the rest of its log is not needed
                return
        raise RuntimeError(f"redis-server exited ({self.proc.wait()})")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"FLUSHALL\r\n")
            s.recv(16)
