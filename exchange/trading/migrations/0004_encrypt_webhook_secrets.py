"""Webhook secrets encrypted at rest, step 2 of 3: encrypt every plain secret (and clear it).

Safe to re-run: rows whose ciphertext is already in the encrypted format are left alone. The
reverse decrypts back into the plain column (needs the same WEBHOOK_SECRET_KEYS). Each step is a
migration of its own so the data change commits between the two schema changes.

Nothing here prints or logs a secret; a row that cannot be decrypted on the way back fails with
its id only.
"""

from typing import Any

from django.db import migrations

from exchange.trading import webhook_secrets


def encrypt_plain_secrets(apps: Any, schema_editor: Any) -> None:
    endpoint_model = apps.get_model("trading", "WebhookEndpoint")
    rows = endpoint_model.objects.using(schema_editor.connection.alias).order_by("pk")
    for endpoint in rows.select_for_update().iterator(chunk_size=500):
        if webhook_secrets.is_encrypted(endpoint.secret_ciphertext):
            # Already done (a re-run, or a row written by the new code): only drop any plain copy.
            if endpoint.secret:
                endpoint.secret = ""
                endpoint.save(update_fields=["secret"])
            continue
        if not endpoint.secret:
            continue  # nothing to encrypt; such an endpoint cannot sign either way
        endpoint.secret_ciphertext = webhook_secrets.encrypt(endpoint.secret, endpoint.pk)
        endpoint.secret = ""
        endpoint.save(update_fields=["secret", "secret_ciphertext"])


def decrypt_to_plain(apps: Any, schema_editor: Any) -> None:
    endpoint_model = apps.get_model("trading", "WebhookEndpoint")
    rows = endpoint_model.objects.using(schema_editor.connection.alias).order_by("pk")
    for endpoint in rows.select_for_update().iterator(chunk_size=500):
        if endpoint.secret or not webhook_secrets.is_encrypted(endpoint.secret_ciphertext):
            continue
        endpoint.secret = webhook_secrets.decrypt(endpoint.secret_ciphertext, endpoint.pk)
        endpoint.secret_ciphertext = ""
        endpoint.save(update_fields=["secret", "secret_ciphertext"])


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0003_webhook_secret_ciphertext"),
    ]

    operations = [
        migrations.RunPython(encrypt_plain_secrets, decrypt_to_plain, elidable=False),
    ]
