"""Celery application: Redis broker when REDIS_URL is set, eager in-process otherwise."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")

app = Celery("icenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
