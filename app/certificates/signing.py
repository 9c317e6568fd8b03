"""The certificate QR token: the random serial signed with the application's key."""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import Signer

from app.certificates.models import Certificate


def signer(salt: str, cls: type[Signer] = Signer) -> Signer:
    """The application's signer for ``salt`` (a ``Signer`` or a subclass such as
    ``TimestampSigner``): signs with SECRET_KEY, also accepts the previous keys kept in
    SECRET_KEY_FALLBACKS, so printed QR codes survive a key rotation."""
    keys = [
        *(current_app.config.get("SECRET_KEY_FALLBACKS") or ()),
        current_app.config["SECRET_KEY"],
    ]
    return cls(keys, salt=salt, digest_method=hashlib.sha256)


def _signer() -> Signer:
    return signer("linli.certificate.qr")


def token_for(certificate: Certificate) -> str:
    return _signer().sign(certificate.serial).decode()
