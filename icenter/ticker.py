"""Celery beat inside the web process, for the embedded setup (`make run`: no Redis, no worker).

Without a broker, Celery runs tasks eagerly and nothing runs the periodic ones (ACD timers,
SLA checks, webhook retries). With ICENTER_TICKER=thread the ASGI process starts one daemon
thread that runs every CELERY_BEAT_SCHEDULE entry at its interval, in-process. Production
sets REDIS_URL and runs `celery beat` and workers instead (ICENTER_TICKER=celery).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)
_started = threading.Event()
_lock = threading.Lock()


def start() -> bool:
    """Start the ticker thread once per process; True if this call started it."""
    if settings.ICENTER_TICKER != "thread":
        return False
    with _lock:
        if _started.is_set():
            return False
        _started.set()
    threading.Thread(target=_loop, name="icenter-ticker", daemon=True).start()
    logger.info(
        "in-process ticker started for %d periodic tasks", len(settings.CELERY_BEAT_SCHEDULE)
    )
    return True


def run_due(next_run: dict[str, float], now: float) -> list[str]:
    """Run every schedule entry that is due; returns the task names that ran."""
    from icenter.celery import app

    app.loader.import_default_modules()
    ran = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if now < next_run.get(name, 0.0):
            continue
        next_run[name] = now + float(str(entry["schedule"]))
        task_name = str(entry["task"])
        try:
            app.tasks[task_name].apply(throw=True)
            ran.append(task_name)
        except Exception:
            logger.exception("periodic task %s failed", task_name)
        finally:
            # The thread holds no request: hand back connections the way a request would
            # (never inside a transaction, e.g. when a test calls this directly).
            if not connection.in_atomic_block:
                close_old_connections()
    return ran


def _loop() -> None:
    next_run: dict[str, float] = {}
    while True:
        run_due(next_run, time.monotonic())
        time.sleep(0.5)
