"""The signed-cookie session with its serializer built once, not on every request.

Flask builds a new ``URLSafeTimedSerializer`` each time it opens or saves a session: a tenth
of a trivial signed-in request. The serializer holds no per-request state, so one per set of
keys (``SECRET_KEY`` and its fallbacks, which may be rotated while the process runs) serves
every request and thread.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CookieSessionInterface(SecureCookieSessionInterface):
    KEPT = 4  # key sets remembered; a rotation adds one

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            if len(self._serializers) >= self.KEPT:
                self._serializers.clear()
            serializer = super().get_signing_serializer(app)
            self._serializers[keys] = serializer
        return serializer
