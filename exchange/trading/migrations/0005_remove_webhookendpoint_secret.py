"""Webhook secrets encrypted at rest, step 3 of 3: drop the plain column."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0004_encrypt_webhook_secrets"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="webhookendpoint",
            name="secret",
        ),
    ]
