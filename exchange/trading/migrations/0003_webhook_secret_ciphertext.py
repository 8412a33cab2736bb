"""Webhook secrets encrypted at rest, step 1 of 3: the ciphertext column.

The plain column gets a default so that reversing step 3 can re-add it to a table with rows (the
reverse of step 2 then fills it in again).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0002_verbose_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="secret_ciphertext",
            field=models.TextField(blank=True, editable=False, default=""),
            preserve_default=False,
        ),
    ]
