"""Shared fixtures: personas, event capture, and real servers (Redis) started on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import AgentFactory, UserFactory
from tests.pg_cluster import free_port

IN_CI = os.environ.get("CI") == "true"


def need_program(path_or_name: str, why: str) -> str:
    """The program's path; skip the test (locally) or fail (in CI) when it is missing."""
    found = shutil.which(path_or_name)
    if found:
        return found
    message = f"{path_or_name} is not installed: {why}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    """Tests read English strings unless they switch language themselves."""
    settings.LANGUAGE_CODE = "en"


# -- personas --------------------------------------------------------------------------------


@pytest.fixture
def agent(db: Any) -> Any:
    """An agent (role agent, extension 2001) who is ready for calls."""
    return AgentFactory(
        user=UserFactory(username="anna", first_name="Anna", last_name="Schäfer", roles=["agent"]),
        extension="2001",
    )


@pytest.fixture
def desk_client(client: Any, agent: Any) -> Any:
    """A test client logged in as the agent."""
    client.force_login(agent.user)
    return client


@pytest.fixture
def other_agent(db: Any) -> Any:
    return AgentFactory(
        user=UserFactory(username="joerg", first_name="Jörg", last_name="Weiß", roles=["agent"]),
        extension="2002",
    )


@pytest.fixture
def supervisor_user(db: Any) -> Any:
    return UserFactory(username="birgit", roles=["supervisor"])


@pytest.fixture
def manager_user(db: Any) -> Any:
    user = UserFactory(username="max", roles=["manager"])
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def outsider_user(db: Any) -> Any:
    """Logged in, but with no role: must see nothing."""
    return UserFactory(username="outsider")


# -- live events ------------------------------------------------------------------------------


@dataclass
class Published:
    kind: str
    id: int
    groups: list[str]


@pytest.fixture
def capture_events(monkeypatch: pytest.MonkeyPatch) -> list[Published]:
    """Record every desk event a service publishes to agents (and still publish it).

    The wallboard's `supervisors` group is left out here: desk tests read as what each agent
    receives; wallboard tests look at the supervisors' group themselves.
    """
    from icenter.desk import push

    captured: list[Published] = []
    original = push.publish

    def recording(*, kind: Any, id: int, groups: Any) -> None:
        groups = list(groups)
        to_agents = [group for group in groups if group != push.SUPERVISORS]
        if to_agents:
            captured.append(Published(kind=kind, id=id, groups=to_agents))
        original(kind=kind, id=id, groups=groups)

    monkeypatch.setattr(push, "publish", recording)
    return captured


# -- real Redis -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis-server of our own on a free loopback port, for the session."""
    program = need_program("redis-server", "the channels-redis tests need a real Redis")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="icenter-redis-")
    process = subprocess.Popen(
        [
            program,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)
