"""Kamailio and sipp on loopback for tests and benchmarks: the project's own config, temp dirs.

No Django here: the integration tests, the end-to-end test and bench/sip_setup.py share it.
Kamailio runs deploy/kamailio/kamailio.cfg unchanged; the site settings go into a
kamailio-local.cfg written next to a copy of it, exactly as a site would do.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[3]
CONFIG = BASE_DIR / "deploy" / "kamailio" / "kamailio.cfg"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
KAMAILIO = "/usr/sbin/kamailio"


def free_sip_port() -> int:
    """A loopback port that is free for both UDP and TCP (Kamailio listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            try:
                with socket.socket() as tcp:
                    tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port for SIP")


@dataclass
class Kamailio:
    """One Kamailio process on 127.0.0.1 running the project's config."""

    workdir: Path
    app_url: str
    token: str
    fallback_extension: str = "2999"
    ring_timeout_ms: int = 3000
    app_timeout_s: int = 1
    children: int = 4
    extra: dict[str, str] = field(default_factory=dict)
    sip_port: int = 0
    rpc_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        self.sip_port = self.sip_port or free_sip_port()
        self.rpc_port = self.rpc_port or free_sip_port()
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CONFIG, self.workdir / "kamailio.cfg")
        lines = {
            "SIP_PORT": str(self.sip_port),
            "RPC_PORT": str(self.rpc_port),
            "APP_URL": self.app_url,
            "APP_TOKEN": self.token,
            "FALLBACK_EXTENSION": self.fallback_extension,
            "RUN_DIR": str(self.workdir / "run"),
            **self.extra,
        }
        defines = {
            "RING_TIMEOUT_MS": str(self.ring_timeout_ms),
            "APP_TIMEOUT": str(self.app_timeout_s),
        }
        text = "".join(f'#!substdef "!{k}!{v}!g"\n' for k, v in lines.items())
        text += "".join(f"#!define {k} {v}\n" for k, v in defines.items())
        (self.workdir / "kamailio-local.cfg").write_text(text)

    @property
    def sip_target(self) -> str:
        return f"127.0.0.1:{self.sip_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}/RPC"

    @property
    def log_path(self) -> Path:
        return self.workdir / "kamailio.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check_config(self) -> str:
        result = subprocess.run(
            [KAMAILIO, "-c", "-f", str(self.workdir / "kamailio.cfg")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kamailio -c failed:\n{result.stderr[-4000:]}")
        return result.stderr

    def start(self, *, ready_timeout: float = 15) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                KAMAILIO,
                "-f",
                str(self.workdir / "kamailio.cfg"),
                "-DD",
                "-E",
                "-m",
                "64",
                "-M",
                "8",
                "-n",
                str(self.children),
            ],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"kamailio exited with {self.process.returncode}:\n{self.log()[-4000:]}"
                )
            with contextlib.suppress(OSError, ValueError):
                self.rpc("core.version", timeout=0.5)
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"kamailio did not answer JSON-RPC within {ready_timeout} s:\n{self.log()[-4000:]}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def rpc(self, method: str, *params: Any, timeout: float = 5) -> Any:
        """Call Kamailio's JSON-RPC as icenter does; returns `result`, raises on `error`."""
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1})
        request = urllib.request.Request(  # noqa: S310
            self.rpc_url,
            data=body.encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
        if "error" in answer:
            raise ValueError(f"{method}: {answer['error']}")
        return answer.get("result")

    def dialogs(self) -> list[dict[str, Any]]:
        result = self.rpc("dlg.list")
        return list(result or [])


@dataclass
class Sipp:
    """A sipp user agent (caller, phone, registration) running one scenario."""

    name: str
    process: subprocess.Popen[bytes]
    workdir: Path

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def messages(self) -> str:
        found = sorted(self.workdir.glob(f"{self.name}*_messages.log"))
        return "\n".join(p.read_text(errors="replace") for p in found)

    def output(self) -> str:
        path = self.workdir / f"{self.name}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def diagnostics(self) -> str:
        return f"--- sipp {self.name} ---\n{self.output()[-2000:]}\n{self.messages()[-6000:]}"


def scenario(name: str, workdir: Path, **replace: str) -> Path:
    """A copy of scenarios/<name>.xml with its UPPERCASE placeholders filled in."""
    text = (SCENARIOS / f"{name}.xml").read_text()
    for key, value in replace.items():
        text = text.replace(key, value)
    path = workdir / f"{name}-{'-'.join(replace.values()) or 'plain'}.xml"
    path.write_text(text)
    return path


def sipp(
    name: str,
    scenario_path: Path,
    *,
    workdir: Path,
    port: int,
    target: str | None = None,
    keys: dict[str, str] | None = None,
    calls: int = 1,
    rate: float | None = None,
    timeout_s: int = 60,
    extra: list[str] | None = None,
) -> Sipp:
    """Start sipp with `scenario_path` on 127.0.0.1:`port` (towards `target` for a UAC)."""
    sipp_bin = shutil.which("sipp") or "sipp"
    command = [
        sipp_bin,
        "-sf",
        str(scenario_path),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        f"{timeout_s}s",
        "-timeout_error",
        "-trace_msg",
        "-message_file",
        str(workdir / f"{name}_messages.log"),
        "-trace_err",
        "-error_file",
        str(workdir / f"{name}_errors.log"),
    ]
    if rate is not None:
        command += ["-r", str(rate)]
    for key, value in (keys or {}).items():
        # [service] is sipp's own keyword for the called user: set it with -s
        command += ["-s", value] if key == "service" else ["-key", key, value]
    command += extra or []
    if target:
        command.append(target)
    out = (workdir / f"{name}.out").open("wb")
    process = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return Sipp(name=name, process=process, workdir=workdir)


def register(
    kamailio: Kamailio, *, extension: str, phone_port: int, workdir: Path, expires: int = 3600
) -> None:
    """Register `extension` with its Contact at 127.0.0.1:`phone_port` (a sipp phone)."""
    ua = sipp(
        f"register-{extension}-{phone_port}-{expires}",
        SCENARIOS / "register.xml",
        workdir=workdir,
        port=free_sip_port(),
        target=kamailio.sip_target,
        keys={"ext": extension, "uas_port": str(phone_port), "expires": str(expires)},
        timeout_s=10,
    )
    rc = ua.wait(15)
    if rc != 0:
        raise RuntimeError(f"REGISTER of {extension} failed ({rc}):\n{ua.diagnostics()}")


@dataclass
class Phone:
    """An agent's phone: a sipp UAS on its own port, registered under an extension."""

    extension: str
    port: int
    ua: Sipp | None = None


def phone(
    kamailio: Kamailio,
    *,
    extension: str,
    workdir: Path,
    behaviour: str = "answers",
    answer_ms: int = 300,
    hold_ms: int = 30000,
    register_it: bool = True,
) -> Phone:
    """Start a phone (`answers`, `rings` for never answering, `busy`) and register it."""
    port = free_sip_port()
    path = scenario(f"phone_{behaviour}", workdir, ANSWER_MS=str(answer_ms), HOLD_MS=str(hold_ms))
    ua = sipp(f"phone-{extension}-{port}", path, workdir=workdir, port=port, timeout_s=90)
    if register_it:
        register(kamailio, extension=extension, phone_port=port, workdir=workdir)
    return Phone(extension=extension, port=port, ua=ua)


def call(
    kamailio: Kamailio,
    *,
    to: str,
    ani: str,
    workdir: Path,
    hold_ms: int = 1000,
    calls: int = 1,
    rate: float | None = None,
    name: str = "caller",
    extra: list[str] | None = None,
) -> Sipp:
    """A customer calls `to` from `ani`; hangs up `hold_ms` after the answer unless BYE'd first."""
    return sipp(
        name,
        scenario("caller", workdir, HOLD_MS=str(hold_ms)),
        workdir=workdir,
        port=free_sip_port(),
        target=kamailio.sip_target,
        keys={"service": to, "ani": ani},
        calls=calls,
        rate=rate,
        timeout_s=90,
        extra=extra,
    )


def call_refused(kamailio: Kamailio, *, to: str, ani: str, code: int, workdir: Path) -> Sipp:
    """A customer calls `to` and expects the final answer `code`."""
    return sipp(
        f"refused-{code}",
        scenario("caller_refused", workdir, CODE=str(code)),
        workdir=workdir,
        port=free_sip_port(),
        target=kamailio.sip_target,
        keys={"service": to, "ani": ani},
        timeout_s=30,
    )


def call_then_cancel(kamailio: Kamailio, *, to: str, ani: str, wait_ms: int, workdir: Path) -> Sipp:
    """A customer calls `to`, hears ringing, hangs up after `wait_ms` ms."""
    path = scenario("caller_cancels", workdir, WAIT_MS=str(wait_ms))
    return sipp(
        f"cancel-{wait_ms}",
        path,
        workdir=workdir,
        port=free_sip_port(),
        target=kamailio.sip_target,
        keys={"service": to, "ani": ani},
        timeout_s=60,
    )


def wait_for(check: Any, *, what: str, timeout_s: float = 15, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval)


def http_json(url: str, payload: Any, *, token: str, timeout: float = 5) -> tuple[int, Any]:
    """POST JSON; (status, decoded body)."""
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(payload).encode() if not isinstance(payload, bytes) else payload,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, raw.decode(errors="replace")
