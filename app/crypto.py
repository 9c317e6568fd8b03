"""Protection of ID numbers at rest: AES-GCM encryption and a keyed hash for look-ups."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app


def _key(name: str, label: bytes) -> bytes:
    configured = current_app.config.get(name)
    material = configured or current_app.config["SECRET_KEY"]
    # Derive a 32-byte key; a distinct label keeps the hash and encryption keys apart.
    return hashlib.sha256(label + b"\x00" + material.encode()).digest()


def derived_key(name: str, label: bytes) -> bytes:
    """A 32-byte key for one purpose (``label``) from the configured key ``name``."""
    return _key(name, label)


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalized value (e.g. an ID number), hex encoded."""
    return hmac.new(_key("ID_HASH_KEY", b"linli-id-hash"), value.encode(), "sha256").hexdigest()


def encrypt(value: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_key("DATA_KEY", b"linli-data")).encrypt(nonce, value.encode(), None)


def decrypt(blob: bytes) -> str:
    return AESGCM(_key("DATA_KEY", b"linli-data")).decrypt(blob[:12], blob[12:], None).decode()


def last4_hash(last4: str) -> str:
    """The keyed hash of an ID number's last 4 characters (the last-4 search)."""
    return keyed_hash("last4:" + last4.upper())
