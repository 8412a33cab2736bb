"""Webhook signing secrets at rest: AES-256-GCM, so a database dump or a read-only SQL leak does
not let anyone forge webhooks to our customers. (Unlike API keys they cannot be hashed: the
platform signs every outgoing webhook with them.)

Stored text: `v1:<key id>:<base64(nonce || ciphertext+tag)>`. The associated data is the endpoint
id, so a ciphertext copied onto another endpoint's row does not decrypt there.

Keys come from `WEBHOOK_SECRET_KEYS` (comma-separated, base64 of 32 bytes each): the first one
encrypts, any of them decrypts (chosen by its key id), so a key is rotated by putting a new one in
front, running `manage.py rotate_webhook_secret_key`, then dropping the old one. Without the
setting (development and tests only: settings.py refuses production without it) one key is derived
from SECRET_KEY with HKDF.

No message raised here ever contains a secret, a key or a ciphertext: they end up in delivery logs
and admin pages.

This module imports no models: the data migration uses it with historical models.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

VERSION = "v1"
HKDF_LABEL = b"exchange webhook secrets v1"
KEY_BYTES = 32
# The GCM standard nonce; random per encryption (2^-32 collision risk at 2^32 rows).
NONCE_BYTES = 12


class WebhookSecretError(Exception):
    """A stored secret cannot be decrypted: wrong or missing key, damaged text, or a ciphertext
    that belongs to another endpoint."""


def _key_id(key: bytes) -> str:
    # A fingerprint, not the key: with 256-bit keys a truncated hash reveals nothing useful.
    return hashlib.sha256(b"exchange webhook key id\0" + key).hexdigest()[:12]


def parse_keys(values: list[str] | str) -> list[bytes]:
    """Decode the configured keys; the error names the position, never the value."""
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",") if v.strip()]
    keys = []
    for position, value in enumerate(values, start=1):
        try:
            key = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"WEBHOOK_SECRET_KEYS: key #{position} is not base64 of {KEY_BYTES} bytes"
            )
        keys.append(key)
    return keys


def derived_key(secret_key: str) -> bytes:
    """The development default: a key of its own derived from SECRET_KEY (never SECRET_KEY itself,
    which also signs sessions and other tokens)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=HKDF_LABEL)
    return hkdf.derive(secret_key.encode())


def keys() -> list[tuple[str, bytes]]:
    """(key id, key) pairs; the first one encrypts. Read at each call so overridden settings and
    a rotated environment take effect without a cache to invalidate."""
    configured = getattr(settings, "WEBHOOK_SECRET_KEYS", None) or []
    raw = parse_keys(configured) if configured else [derived_key(settings.SECRET_KEY)]
    return [(_key_id(key), key) for key in raw]


def check_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: a mistyped key fails `manage.py check`/`migrate` at deploy time, not the
    first webhook hours later."""
    try:
        keys()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="trading.E001")]
    return []


def current_key_id() -> str:
    return keys()[0][0]


def _associated_data(endpoint_id: int) -> bytes:
    return f"exchange webhook endpoint {int(endpoint_id)}".encode()


def encrypt(plain: str, endpoint_id: int) -> str:
    if endpoint_id is None:
        raise ValueError("a webhook secret is bound to its endpoint id: save the endpoint first")
    key_id, key = keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plain.encode(), _associated_data(endpoint_id))
    return f"{VERSION}:{key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def key_id_of(stored: str) -> str | None:
    """The key id of a stored value, or None when it is not in the encrypted format."""
    version, _, rest = (stored or "").partition(":")
    key_id, sep, body = rest.partition(":")
    if version != VERSION or not sep or not key_id or not body:
        return None
    return key_id


def is_encrypted(stored: str) -> bool:
    return key_id_of(stored) is not None


def decrypt(stored: str, endpoint_id: int) -> str:
    key_id = key_id_of(stored)
    if key_id is None:
        raise WebhookSecretError(
            f"webhook endpoint #{endpoint_id}: no encrypted signing secret stored"
        )
    matching = [key for kid, key in keys() if kid == key_id]
    if not matching:
        raise WebhookSecretError(
            f"webhook endpoint #{endpoint_id}: its signing secret was encrypted with key "
            f"{key_id}, which is not in WEBHOOK_SECRET_KEYS"
        )
    try:
        blob = base64.b64decode(stored.rsplit(":", 1)[1], validate=True)
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        plain = AESGCM(matching[0]).decrypt(nonce, sealed, _associated_data(endpoint_id))
    except (InvalidTag, binascii.Error, ValueError):
        raise WebhookSecretError(
            f"webhook endpoint #{endpoint_id}: the signing secret does not decrypt with key "
            f"{key_id} (damaged, or copied from another endpoint)"
        ) from None
    return plain.decode()


def reencrypt(stored: str, endpoint_id: int) -> str | None:
    """The value encrypted with the current first key, or None when it already is."""
    if key_id_of(stored) == current_key_id():
        # Still decrypt: rotation must not report a broken row as current.
        decrypt(stored, endpoint_id)
        return None
    return encrypt(decrypt(stored, endpoint_id), endpoint_id)
