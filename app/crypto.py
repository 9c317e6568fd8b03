"""Protection of ID numbers at rest: AES-GCM encryption and a keyed hash for look-ups.

Each purpose has its own 32-byte sub-key, derived with HKDF-SHA256 (RFC 5869) from the
configured key (``ID_HASH_KEY`` for look-up hashes, ``DATA_KEY`` for encryption and the audit
chain) with the purpose as HKDF ``info``.

Before migration 0015_keys the sub-keys were SHA-256(label, 0, key). That derivation is kept
only to read what was written with it: ``decrypt`` falls back to it, the migration re-encrypts
and re-hashes the stored ID numbers with the HKDF sub-keys, and the audit chain verifies the
rows written before the migration with it (``app/audit/chain.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Purposes (HKDF info) and the labels of the old derivation.
ID_HASH = "id-hash"
DATA = "data"
AUDIT_CHAIN = "audit-chain"
LOGIN_THROTTLE = "login-throttle"  # the keyed hash of typed usernames (no legacy data)
SEARCH_TEXT = "search-text"  # search texts kept in the session (no legacy data)
LEGACY_LABELS = {ID_HASH: b"linli-id-hash", DATA: b"linli-data", AUDIT_CHAIN: b"linli-audit-chain"}
PURPOSE_KEY = {
    ID_HASH: "ID_HASH_KEY",
    DATA: "DATA_KEY",
    AUDIT_CHAIN: "DATA_KEY",
    LOGIN_THROTTLE: "ID_HASH_KEY",
    SEARCH_TEXT: "DATA_KEY",
}


@lru_cache(maxsize=64)
def hkdf_key(material: str, purpose: str) -> bytes:
    """The 32-byte sub-key for ``purpose`` from the key ``material``."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"linli/v1/" + purpose.encode()
    ).derive(material.encode())


def legacy_key(material: str, purpose: str) -> bytes:
    """The sub-key as derived before migration 0015_keys (for reading old data only)."""
    return hashlib.sha256(LEGACY_LABELS[purpose] + b"\x00" + material.encode()).digest()


def _material(purpose: str) -> str:
    material = current_app.config.get(PURPOSE_KEY[purpose])
    if not material:  # create_app refuses to start without it; never fall back to another key
        raise RuntimeError(f"{PURPOSE_KEY[purpose]} is not configured")
    return material


def derived_key(purpose: str) -> bytes:
    """The current sub-key for ``purpose`` (one of ID_HASH, DATA, AUDIT_CHAIN)."""
    return hkdf_key(_material(purpose), purpose)


def derived_legacy_key(purpose: str) -> bytes:
    return legacy_key(_material(purpose), purpose)


def hash_with(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), "sha256").hexdigest()


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalized value (e.g. an ID number), hex encoded."""
    return hash_with(derived_key(ID_HASH), value)


def encrypt_with(key: bytes, value: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, value.encode(), None)


def decrypt_with(keys: Iterable[bytes], blob: bytes) -> str | None:
    """The plaintext under the first of ``keys`` that opens ``blob`` (GCM checks), else None."""
    for key in keys:
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], None).decode()
        except InvalidTag:
            continue
    return None


def encrypt(value: str) -> bytes:
    return encrypt_with(derived_key(DATA), value)


def decrypt(blob: bytes) -> str:
    value = decrypt_with((derived_key(DATA), derived_legacy_key(DATA)), blob)
    if value is None:
        raise InvalidTag("the stored value cannot be decrypted with the configured DATA_KEY")
    return value


def last4_hash(last4: str) -> str:
    """The keyed hash of an ID number's last 4 characters (the last-4 search)."""
    return keyed_hash(last4_text(last4))


def last4_text(last4: str) -> str:
    return "last4:" + last4.upper()
