"""SIP digest authentication for REGISTER (WITH_AUTH): the site's subscriber file decides.

Kamailio reads AUTH_DIR/subscriber (db_text) as a site maintains it; phones must answer the
401 challenge with their password before their extension is registered.
"""

from __future__ import annotations

import os
import time
import urllib.error
from pathlib import Path

import pytest

from tests.integration.kamailio import harness

TOKEN = "auth-token"


@pytest.fixture
def kamailio_auth(kamailio_programs: None, tmp_path: Path) -> harness.Kamailio:
    auth_dir = tmp_path / "auth"
    auth_dir.mkdir()
    (auth_dir / "subscriber").write_text(
        "id(int,auto) username(string) domain(string) password(string)\n"
        "1:2001:127.0.0.1:s3cret-2001\n"
    )
    (auth_dir / "version").write_text("table_name(string) table_version(int)\nsubscriber:7\n")
    kamailio = harness.Kamailio(
        workdir=tmp_path,
        app_url="http://127.0.0.1:9",  # icenter is not asked for registrations
        token=TOKEN,
        extra={"AUTH_DIR": str(auth_dir)},
        extra_defines={"WITH_AUTH": "1"},
    )
    kamailio.start()
    yield kamailio  # type: ignore[misc]
    kamailio.stop()


def register(kamailio: harness.Kamailio, tmp_path: Path, *, password: str, code: int) -> int:
    path = harness.scenario(
        "register_auth", tmp_path, EXT="2001", PASSWORD=password, CODE=str(code)
    )
    ua = harness.sipp(
        f"register-auth-{code}-{password}",
        path,
        workdir=tmp_path,
        port=harness.free_sip_port(),
        target=kamailio.sip_target,
        keys={"ext": "2001", "uas_port": "5999"},
        timeout_s=10,
    )
    rc = ua.wait(15)
    assert rc == 0, ua.diagnostics()
    return rc


def registered(kamailio: harness.Kamailio) -> bool:
    try:
        kamailio.rpc("ul.lookup", "location", "2001")
    except (ValueError, urllib.error.HTTPError):  # jsonrpcs answers "AOR not found" with 500
        return False
    return True


def test_a_phone_with_the_right_password_registers_after_the_challenge(
    kamailio_auth: harness.Kamailio, tmp_path: Path
) -> None:
    register(kamailio_auth, tmp_path, password="s3cret-2001", code=200)
    assert registered(kamailio_auth)


def test_a_phone_with_a_wrong_password_is_challenged_again_and_not_registered(
    kamailio_auth: harness.Kamailio, tmp_path: Path
) -> None:
    register(kamailio_auth, tmp_path, password="guess", code=401)
    assert not registered(kamailio_auth)
    assert "REGISTER of 2001 from 127.0.0.1" in kamailio_auth.log()
    assert "bad credentials" in kamailio_auth.log()


def test_a_register_without_credentials_is_challenged(
    kamailio_auth: harness.Kamailio, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="REGISTER of 2001 failed"):
        harness.register(kamailio_auth, extension="2001", phone_port=5999, workdir=tmp_path)
    assert not registered(kamailio_auth)


def test_a_password_changed_in_the_file_applies_after_a_restart(
    kamailio_auth: harness.Kamailio, tmp_path: Path
) -> None:
    register(kamailio_auth, tmp_path, password="s3cret-2001", code=200)  # table loaded
    subscriber = tmp_path / "auth" / "subscriber"
    subscriber.write_text(subscriber.read_text().replace("s3cret-2001", "changed-2001"))
    os.utime(subscriber, (time.time() + 2, time.time() + 2))
    # db_text keeps the table it loaded: the running Kamailio still wants the old password
    register(kamailio_auth, tmp_path, password="changed-2001", code=401)
    kamailio_auth.restart()
    register(kamailio_auth, tmp_path, password="changed-2001", code=200)
    assert registered(kamailio_auth)
