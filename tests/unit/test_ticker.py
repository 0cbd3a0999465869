"""The in-process ticker runs the Celery beat schedule when there is no beat (embedded setup)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from icenter import ticker
from telephony.models import Agent

pytestmark = pytest.mark.django_db


def test_due_periodic_tasks_run_and_wait_for_their_interval(agent, settings):
    settings.CELERY_BEAT_SCHEDULE = {"acd-tick": {"task": "telephony.acd_tick", "schedule": 5.0}}
    Agent.objects.filter(pk=agent.pk).update(
        state=Agent.State.WRAP_UP, wrap_up_until=timezone.now() - timedelta(seconds=1)
    )
    next_run: dict[str, float] = {}
    assert ticker.run_due(next_run, now=100.0) == ["telephony.acd_tick"]
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY
    assert ticker.run_due(next_run, now=103.0) == []
    assert ticker.run_due(next_run, now=105.0) == ["telephony.acd_tick"]


def test_a_failing_task_is_logged_and_the_others_still_run(settings, monkeypatch):
    logged = []
    monkeypatch.setattr(ticker.logger, "exception", lambda *args: logged.append(args[0] % args[1:]))
    settings.CELERY_BEAT_SCHEDULE = {
        "broken": {"task": "no.such.task", "schedule": 1.0},
        "acd-tick": {"task": "telephony.acd_tick", "schedule": 1.0},
    }
    assert ticker.run_due({}, now=1.0) == ["telephony.acd_tick"]
    assert logged == ["periodic task no.such.task failed"]


def test_the_ticker_thread_only_starts_in_the_embedded_setup(settings):
    settings.ICENTER_TICKER = "celery"
    assert ticker.start() is False
