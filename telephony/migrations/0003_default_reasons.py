"""Default not-ready reasons and wrap-up codes, so a fresh install can work; managers edit them."""

from django.db import migrations

REASONS = [
    ("break", "Pause", 10),
    ("meeting", "Besprechung", 20),
    ("back_office", "Backoffice", 30),
    ("training", "Schulung", 40),
]
CODES = [
    ("solved", "Anliegen gelöst", 10),
    ("ticket", "Ticket angelegt", 20),
    ("callback", "Rückruf vereinbart", 30),
    ("info", "Nur Auskunft", 40),
    ("wrong_number", "Falsch verbunden", 50),
]


def create(apps, schema_editor):
    NotReadyReason = apps.get_model("telephony", "NotReadyReason")
    WrapUpCode = apps.get_model("telephony", "WrapUpCode")
    for code, label, position in REASONS:
        NotReadyReason.objects.get_or_create(
            code=code, defaults={"label": label, "position": position}
        )
    for code, label, position in CODES:
        WrapUpCode.objects.get_or_create(code=code, defaults={"label": label, "position": position})


class Migration(migrations.Migration):
    dependencies = [("telephony", "0002_universal_queue")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
