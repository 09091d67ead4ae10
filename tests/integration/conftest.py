"""Real throwaway servers for integration tests, all on 127.0.0.1.

Session-scoped: one PostgreSQL and one redis-server per test session, started on free
ports and stopped at the end. PostgreSQL refuses to run as root, so under root (CI) it
runs as the ``postgres`` OS user via ``runuser``. If a server binary is not installed,
tests that need it fail with the reason (scripts/install test installs both).

Fixtures:
    postgres_url         SQLAlchemy URL of the session server's ``postgres`` database
    fresh_postgres_url   a new, empty database for one test (dropped afterwards)
    redis_url            ``redis://127.0.0.1:<port>/0``
    db_url               parametrized: a fresh SQLite file, then a fresh PostgreSQL database
    server               a courtroom server for the test module (court_client.running_server)
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from court_client import Server, running_server

from tests.conftest import free_port

_START_TIMEOUT_S = 30


def _pg_bin() -> Path | None:
    if env := os.environ.get("COURTROOM_PG_BIN"):
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class _Postgres:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="courtroom-pg-"))
        self.data = self.base / "data"
        self.port = 0
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pg_user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root and there is no 'postgres' OS user")
            os.chown(self.base, pg_user.pw_uid, pg_user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.base, 0o700)

    def _run(self, *args: str) -> None:
        cmd = [*self.as_user, *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}\n{tail}")

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        for attempt in range(3):
            self.port = free_port()
            # Throwaway server: no fsync, sockets only on loopback and in our tmp dir.
            options = (
                f"-h 127.0.0.1 -p {self.port} -k {self.base} -F "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                    str(self.base / "server.log"), "-o", options, "-w",
                    "-t", str(_START_TIMEOUT_S), "start",
                )  # fmt: skip
                return
            except RuntimeError:
                if attempt == 2:  # the free port may have been taken meanwhile
                    raise

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data),
                 "-m", "immediate", "-w", "-t", "30", "stop"],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def _postgres_server() -> Iterator[_Postgres]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql)")
    server = _Postgres(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(_postgres_server: _Postgres) -> str:
    return _postgres_server.url()


@pytest.fixture
def fresh_postgres_url(_postgres_server: _Postgres) -> Iterator[str]:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    dsn = f"host=127.0.0.1 port={_postgres_server.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield _postgres_server.url(name)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    import redis

    for attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        deadline = time.monotonic() + _START_TIMEOUT_S
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if client.ping():
                        break
                except redis.ConnectionError:
                    time.sleep(0.05)
            else:
                proc.kill()
                proc.wait(timeout=10)
                if attempt == 2:
                    raise RuntimeError("redis-server did not start")
                continue
        finally:
            client.close()
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        return


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'courtroom.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("court")) as s:
        yield s
