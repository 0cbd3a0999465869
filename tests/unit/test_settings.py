"""The settings file: production settings pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "icenter.example.de",
    "ICENTER_CTI_TOKEN": "a-long-random-cti-token-0123456789",
}


def manage(*args, env):
    environment = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "REDIS_URL"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_static_files_collect_with_hashed_names(tmp_path):
    """The production storage (whitenoise, hashed names) follows every reference in CSS
    and JS; a vendored file that names a missing file fails the deployment."""
    result = manage(
        "collectstatic", "--noinput", env=dict(PRODUCTION_ENV, STATIC_ROOT=str(tmp_path))
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/htmx-2.0.11.min.js" in manifest
    assert "vendor/chartjs/chart-4.6.1.umd.min.js" in manifest


def test_production_refuses_to_start_without_a_secret_key():
    env = dict(PRODUCTION_ENV, SECRET_KEY="")
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_boolean_is_a_clear_error():
    result = manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_redis_url_switches_channels_and_celery_to_redis():
    code = (
        "from django.conf import settings as s;"
        "print(s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_BROKER_URL,"
        " s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = manage("shell", "-c", code, env={"REDIS_URL": "redis://127.0.0.1:6399/0"})
    assert result.stdout.strip().splitlines()[-1].split() == [
        "channels_redis.core.RedisChannelLayer",
        "redis://127.0.0.1:6399/0",
        "False",
    ]
    result = manage("shell", "-c", code, env={})
    assert result.stdout.strip().splitlines()[-1].split() == [
        "channels.layers.InMemoryChannelLayer",
        "memory://",
        "True",
    ]
