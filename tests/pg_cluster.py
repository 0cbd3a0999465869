"""pytest plugin: run the test session on a throwaway PostgreSQL cluster.

Loaded with `-p tests.pg_cluster` (pyproject.toml) so that it sets DATABASE_URL
before pytest-django imports the settings. When DATABASE_URL is already set, that
server is used. When no PostgreSQL binaries exist, the tests run on SQLite and
say so in the header; under CI=true a missing PostgreSQL is an error.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

_cluster: dict[str, str] = {}

# Tests drive the periodic tasks themselves; no ticker thread in the test process.
os.environ.setdefault("ICENTER_TICKER", "off")


def postgres_bin_dir() -> Path | None:
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(initdb).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the postgres system user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def init_cluster(bin_dir: Path, base: str) -> tuple[str, str]:
    """initdb a cluster under `base` (owned by postgres when we are root); (data, socket dir)."""
    data, sockets = os.path.join(base, "data"), os.path.join(base, "run")
    os.makedirs(sockets, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for path in (base, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
        text=True,
    )
    return data, sockets


def start_cluster(bin_dir: Path) -> tuple[str, str]:
    """Initialise and start a cluster in a temporary folder; return (url, data_dir)."""
    base = tempfile.mkdtemp(prefix="icenter-pg-")
    data, sockets = init_cluster(bin_dir, base)
    port = free_port()
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                data,
                "-o",
                options,
                "-w",
                "-l",
                os.path.join(base, "log"),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    return f"postgres://postgres@127.0.0.1:{port}/postgres", data


def stop_cluster(bin_dir: Path, data: str) -> None:
    subprocess.run(
        as_postgres([str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"]),
        capture_output=True,
    )
    shutil.rmtree(os.path.dirname(data), ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    if os.environ.get("DATABASE_URL"):
        _cluster["source"] = "DATABASE_URL"
    else:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            if os.environ.get("CI") == "true":
                raise pytest.UsageError("CI=true but no PostgreSQL binaries (initdb) are installed")
            _cluster["source"] = "sqlite (no PostgreSQL binaries found)"
        else:
            url, data = start_cluster(bin_dir)
            os.environ["DATABASE_URL"] = url
            _cluster.update(source=f"throwaway cluster {url}", data=data, bin=str(bin_dir))
    return (yield)


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {_cluster.get('source', '?')}"


def pytest_unconfigure(config: pytest.Config) -> None:
    if "data" in _cluster:
        with contextlib.suppress(Exception):
            stop_cluster(Path(_cluster["bin"]), _cluster["data"])
