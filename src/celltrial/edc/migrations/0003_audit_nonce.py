# ruff: noqa
# Issue 16: a secret nonce salts each audit row (blinded readers cannot test guesses).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("edc", "0002_monitoring_events")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="nonce",
            field=models.CharField(blank=True, default="", db_default="", max_length=32),
        ),
    ]
