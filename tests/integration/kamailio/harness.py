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
import sys
import threading
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
    extra_defines: dict[str, str] = field(default_factory=dict)
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
            **self.extra_defines,
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

    def options_received(self) -> int:
        """How many OPTIONS requests (Kamailio's in-dialog keepalives) this UA received."""
        return sum(1 for line in self.messages().splitlines() if line.startswith("OPTIONS sip:"))


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
        # answer in-dialog OPTIONS (Kamailio's keepalive), INFO, NOTIFY, UPDATE with 200, as
        # phones do: otherwise a call longer than KEEPALIVE_INTERVAL fails the scenario
        "-aa",
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


# -- media: rtpengine (userspace, no kernel module) and a caller's RTP "ear" ----------------

RTPENGINE = "/usr/bin/rtpengine"
MEDIA_SCRIPT = BASE_DIR / "deploy" / "kamailio" / "make_media.py"


def _bencode(value: Any) -> bytes:
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(_bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(_bencode(k) + _bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def _bdecode(data: bytes, at: int = 0) -> tuple[Any, int]:
    head = data[at : at + 1]
    if head == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1 : end]), end + 1
    if head in (b"l", b"d"):
        at += 1
        items: list[Any] = []
        while data[at : at + 1] != b"e":
            item, at = _bdecode(data, at)
            items.append(item)
        if head == b"l":
            return items, at + 1
        pairs = iter(items)
        return {k.decode(): v for k, v in zip(pairs, pairs, strict=True)}, at + 1
    colon = data.index(b":", at)
    length = int(data[at:colon])
    return data[colon + 1 : colon + 1 + length], colon + 1 + length


@dataclass
class Rtpengine:
    """rtpengine-daemon in userspace mode (`--table=-1`) on loopback, ng protocol over UDP."""

    workdir: Path
    ng_port: int = 0
    port_min: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ng_port = self.ng_port or free_sip_port()
        if not self.port_min:
            # a random block of 200 media ports; rtpengine skips ports that are taken
            self.port_min = 20000 + (os.getpid() * 7 + self.ng_port) % 200 * 200

    @property
    def sock(self) -> str:
        return f"udp:127.0.0.1:{self.ng_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "rtpengine.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, *, ready_timeout: float = 15) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                RTPENGINE,
                "--interface=127.0.0.1",
                f"--listen-ng=127.0.0.1:{self.ng_port}",
                # its CLI port (default 2224) must be free too: one per instance
                f"--listen-cli=127.0.0.1:{free_sip_port()}",
                "--table=-1",
                "--foreground",
                "--log-stderr",
                "--log-level=6",
                f"--port-min={self.port_min}",
                f"--port-max={self.port_min + 199}",
                "--delete-delay=0",
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
                raise RuntimeError(f"rtpengine exited:\n{self.log()[-4000:]}")
            with contextlib.suppress(OSError):
                if self.ng({"command": "ping"}, timeout=0.3).get("result") == b"pong":
                    return
            time.sleep(0.05)
        raise RuntimeError(f"rtpengine did not answer ng ping:\n{self.log()[-4000:]}")

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

    def ng(self, command: dict[str, Any], *, timeout: float = 3) -> dict[str, Any]:
        """One ng-protocol request (bencoded dict after a cookie); the decoded answer."""
        cookie = os.urandom(6).hex().encode()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(cookie + b" " + _bencode(command), ("127.0.0.1", self.ng_port))
            while True:
                data = sock.recv(65535)
                if data.startswith(cookie + b" "):
                    answer, _ = _bdecode(data, len(cookie) + 1)
                    return dict(answer)

    def call_ids(self) -> list[str]:
        """Call ids of the sessions rtpengine holds now."""
        answer = self.ng({"command": "list", "limit": 1000})
        return [c.decode() for c in answer.get("calls", [])]


def make_media(directory: Path, *, positions: int = 3) -> Path:
    """Generate the placeholder audio files with deploy/kamailio/make_media.py, as a site does."""
    subprocess.run(
        [sys.executable, str(MEDIA_SCRIPT), str(directory), "--positions", str(positions)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return directory


@dataclass
class RtpPacket:
    at: float
    source: tuple[str, int]
    payload_type: int
    payload: bytes


class RtpEar:
    """The caller's media port: a UDP socket on loopback that records every RTP packet."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.packets: list[RtpPacket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) < 12 or data[0] >> 6 != 2:
                continue  # not RTP (version 2), e.g. RTCP on the next port is not here anyway
            packet = RtpPacket(time.monotonic(), source, data[1] & 0x7F, data[12:])
            with self._lock:
                self.packets.append(packet)

    def received(self) -> list[RtpPacket]:
        with self._lock:
            return list(self.packets)

    def quiet_for(self, seconds: float) -> bool:
        """True when no packet arrived in the last `seconds`."""
        packets = self.received()
        return not packets or time.monotonic() - packets[-1].at >= seconds

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def __enter__(self) -> RtpEar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refused_call_heard(
    kamailio: Kamailio, *, to: str, ani: str, workdir: Path, code: int = 480
) -> tuple[Sipp, list[RtpPacket]]:
    """A customer calls `to`, hears early media (183 + SDP) and is refused with `code` (e.g.
    a closed queue): the finished caller and every RTP packet it heard."""
    with RtpEar() as ear:
        caller = call_with_media(
            kamailio, to=to, ani=ani, workdir=workdir, media_port=ear.port, expect=code
        )
        rc = caller.wait(40)
        assert rc == 0, caller.diagnostics()
        return caller, ear.received()


def call_with_media(
    kamailio: Kamailio,
    *,
    to: str,
    ani: str,
    workdir: Path,
    media_port: int,
    hold_ms: int = 1000,
    expect: int = 200,
    name: str = "media-caller",
) -> Sipp:
    """A customer whose SDP offers `media_port` (an RtpEar); accepts early media (183 + SDP).

    `expect` 200: the call is answered and hung up after `hold_ms`; any other code: the call
    ends with that final answer (e.g. 480 for a closed queue).
    """
    template = "caller_media" if expect == 200 else "caller_media_refused"
    path = scenario(
        template, workdir, MEDIA_PORT=str(media_port), HOLD_MS=str(hold_ms), CODE=str(expect)
    )
    return sipp(
        name,
        path,
        workdir=workdir,
        port=free_sip_port(),
        target=kamailio.sip_target,
        keys={"service": to, "ani": ani},
        timeout_s=90,
    )
