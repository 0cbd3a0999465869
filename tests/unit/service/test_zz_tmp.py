import pytest
from django.core.management import call_command
from accounts.models import AlertRule

@pytest.mark.django_db
def test_x(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    print(list(AlertRule.objects.values_list("name", flat=True)))
    call_command("seed_demo", verbosity=0)
    print(list(AlertRule.objects.values_list("name", flat=True)))
