"""The certificate QR token: the random serial signed with the application's key."""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import Signer

from app.certificates.models import Certificate


def _signer() -> Signer:
    return Signer(
        current_app.config["SECRET_KEY"], salt="linli.certificate.qr", digest_method=hashlib.sha256
    )


def token_for(certificate: Certificate) -> str:
    return _signer().sign(certificate.serial).decode()
