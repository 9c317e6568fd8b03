"""The certificate QR token: the random serial signed with the application's key."""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import Signer

from app.certificates.models import Certificate


def _signer() -> Signer:
    # Signs with SECRET_KEY; also accepts the previous keys kept in SECRET_KEY_FALLBACKS, so
    # printed QR codes survive a key rotation.
    keys = [
        *(current_app.config.get("SECRET_KEY_FALLBACKS") or ()),
        current_app.config["SECRET_KEY"],
    ]
    return Signer(keys, salt="linli.certificate.qr", digest_method=hashlib.sha256)


def token_for(certificate: Certificate) -> str:
    return _signer().sign(certificate.serial).decode()
