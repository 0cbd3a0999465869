"""Shared helpers for the benchmarks: throwaway services, a tiny HTTP client, statistics.

Every service a benchmark starts (PostgreSQL, Redis, daphne) is registered with a
`Stack`, which stops it and removes its temporary folder on exit, on errors and on
Ctrl-C / SIGTERM. Nothing here imports Django: the benchmark process only talks
to the server over the network, like a browser and a PBX would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The throwaway PostgreSQL helpers are the test suite's; benchmarks reuse them.
from tests.pg_cluster import as_postgres, free_port, init_cluster, postgres_bin_dir  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
DAPHNE = str(VENV_BIN / "daphne") if (VENV_BIN / "daphne").exists() else "daphne"


class SetupError(RuntimeError):
    """The benchmark could not build its environment (exit status 2)."""


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON result lines."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, sort_keys=False), flush=True)


def raise_nofile(wanted: int = 65536) -> int:
    """Raise the open-files limit (inherited by the servers we start); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of the values, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(values_s: Sequence[float], prefix: str) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds (rounded to 0.1 ms) of durations given in seconds."""
    out: dict[str, float | None] = {}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
        value = percentile(values_s, q)
        out[f"{prefix}{name}_ms"] = None if value is None else round(value * 1000, 1)
    return out


# -- services ---------------------------------------------------------------------------------


class Stack:
    """Processes and folders to clean up, newest first; also on SIGTERM and Ctrl-C."""

    def __init__(self) -> None:
        self._cleanups: list[tuple[str, Any]] = []
        self.base = tempfile.mkdtemp(prefix="icenter-bench-")
        # The postgres user (when we run as root) must reach its folder inside.
        os.chmod(self.base, 0o755)  # noqa: S103
        self._cleanups.append(("folder", self.base))

    def __enter__(self) -> Stack:
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        signal.signal(signal.SIGHUP, _raise_keyboard_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_process(
        self, name: str, process: subprocess.Popen[Any], stop_signal: int = signal.SIGTERM
    ) -> None:
        """Register a process started with start_new_session=True; its whole group is stopped."""
        process.stop_signal = stop_signal  # type: ignore[attr-defined]
        self._cleanups.append((name, process))

    def add_callback(self, name: str, callback: Any) -> None:
        self._cleanups.append((name, callback))

    def stop_process(self, process: subprocess.Popen[Any], timeout: float = 10) -> None:
        """Stop one registered process now (SIGTERM, then SIGKILL) and forget it."""
        _terminate(process, timeout)
        self._cleanups = [(n, p) for n, p in self._cleanups if p is not process]

    def close(self) -> None:
        # Ignore further Ctrl-C while tidying up, or servers could be left running.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            while self._cleanups:
                name, item = self._cleanups.pop()
                try:
                    if isinstance(item, subprocess.Popen):
                        _terminate(item, 10)
                    elif name == "folder":
                        shutil.rmtree(item, ignore_errors=True)
                    else:
                        item()
                except Exception as exc:
                    log(f"cleanup of {name} failed: {exc}")
        finally:
            signal.signal(signal.SIGINT, previous)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _signal_group(process: subprocess.Popen[Any], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the process leads its own session and group
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)


def _terminate(process: subprocess.Popen[Any], timeout: float) -> None:
    """Stop the process and its children: its stop signal, then SIGKILL for the whole group."""
    if process.poll() is None:
        _signal_group(process, getattr(process, "stop_signal", signal.SIGTERM))
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    # Children (postgres under runuser) may outlive the leader: finish the group off.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 0)
        time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(5)


def start_postgres(stack: Stack, *, max_connections: int = 300) -> str | None:
    """A throwaway cluster listening on 127.0.0.1; its URL, or None without PostgreSQL binaries."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        return None
    base = os.path.join(stack.base, "pg")
    os.makedirs(base)
    try:
        data, sockets = init_cluster(bin_dir, base)
    except subprocess.CalledProcessError as exc:
        raise SetupError(f"initdb failed: {(exc.stderr or '').strip()[-2000:]}") from None
    port = free_port()
    logfile = os.path.join(base, "postgres.log")
    process = subprocess.Popen(
        as_postgres(
            [
                str(bin_dir / "postgres"),
                "-D",
                data,
                "-p",
                str(port),
                "-k",
                sockets,
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                f"max_connections={max_connections}",
                "-c",
                "shared_buffers=256MB",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=open(logfile, "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    # SIGQUIT: immediate shutdown (SIGTERM would wait for every client to disconnect).
    stack.add_process("postgres", process, signal.SIGQUIT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"postgres exited: {_tail(logfile)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            ready = subprocess.run(
                as_postgres([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]),
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return f"postgres://postgres@127.0.0.1:{port}/postgres"
        time.sleep(0.2)
    raise SetupError(f"postgres did not start: {_tail(logfile)}")


def start_redis(stack: Stack) -> str:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(server):
        raise SetupError("redis-server is not installed")
    port = free_port()
    folder = os.path.join(stack.base, "redis")
    os.makedirs(folder)
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
            "--maxclients",
            "10000",
        ],
        stdout=open(os.path.join(folder, "redis.log"), "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.add_process("redis", process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"redis-server exited: {_tail(os.path.join(folder, 'redis.log'))}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.1)
    raise SetupError("redis-server did not answer PING")


def run_django(env: dict[str, str], args: list[str], *, what: str, timeout: float = 600) -> str:
    """Run a Python command in the project with the given environment; its stdout."""
    result = subprocess.run(
        [PYTHON, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise SetupError(f"{what} failed:\n{result.stderr.strip()[-3000:]}")
    return result.stdout


def start_daphne(
    stack: Stack, env: dict[str, str], *, name: str = "daphne", ready_path: str = "/login/"
) -> tuple[subprocess.Popen[Any], int, str]:
    """Start `daphne icenter.asgi:application` on a free port; wait until it answers HTTP.

    Any answer below 500 to a GET of `ready_path` counts as up.
    """
    port = free_port()
    logfile = os.path.join(stack.base, f"{name}-{port}.log")
    process = subprocess.Popen(
        [DAPHNE, "-b", "127.0.0.1", "-p", str(port), "icenter.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=open(logfile, "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.add_process(name, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"daphne exited with {process.returncode}:\n{_tail(logfile)}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}{ready_path}", timeout=2
            ) as response:
                if response.status < 500:
                    return process, port, logfile
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return process, port, logfile
        except OSError:
            pass
        time.sleep(0.2)
    raise SetupError(f"daphne did not answer HTTP within 60 s:\n{_tail(logfile)}")


def _tail(path: str, chars: int = 3000) -> str:
    try:
        with open(path, errors="replace") as handle:
            return handle.read()[-chars:]
    except OSError:
        return "(no log)"


def tail(path: str, chars: int = 3000) -> str:
    return _tail(path, chars)


# -- a minimal asyncio HTTP/1.1 client (no extra dependency) ----------------------------------


async def http_post_json(
    host: str,
    port: int,
    path: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """POST a JSON body on a fresh connection; return (status, decoded JSON or text)."""
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request)
            await writer.drain()
            return await reader.read(-1)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    raw = await asyncio.wait_for(exchange(), timeout)
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"bad HTTP response: {status_line!r}")
    if b"transfer-encoding: chunked" in head.lower():
        content = _dechunk(content)
    try:
        return int(parts[1]), json.loads(content)
    except ValueError:
        return int(parts[1]), content.decode("utf-8", "replace")


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def start_servers(stack: Stack, env: dict[str, str], count: int) -> tuple[list[Any], int]:
    """One daphne process, or `count` of them accepting on one shared listening socket.

    Several processes stand in for the production setup of several daphne processes
    behind a load balancer (README "Production"); here the kernel spreads the
    connections. Returns the processes and the port.
    """
    if count == 1:
        process, port, _logfile = start_daphne(stack, env)
        return [process], port
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    stack.add_callback("listening socket", listener.close)
    port = listener.getsockname()[1]
    processes = []
    logfile = ""
    for number in range(count):
        logfile = os.path.join(stack.base, f"daphne-{port}-{number}.log")
        process = subprocess.Popen(
            [DAPHNE, "--fd", str(listener.fileno()), "icenter.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=open(logfile, "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
            start_new_session=True,
        )
        stack.add_process(f"daphne {number}", process)
        processes.append(process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SetupError(f"daphne exited:\n{_tail(logfile)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2):
                break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.2)
    else:
        raise SetupError("daphne did not answer HTTP within 60 s")
    time.sleep(2)  # every process has its application loaded
    return processes, port


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
