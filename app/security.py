"""Security headers, role checks and masking helpers shared by every feature."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, abort, current_app, request
from flask_login import current_user, login_required

from app.sessions import add_vary


def htmx_cdn_url(config) -> str:
    """The one CDN file the pages load (and the only one the CSP allows from outside)."""
    return f"https://cdn.jsdelivr.net/npm/htmx.org@{config['HTMX_VERSION']}/dist/htmx.min.js"


def content_security_policy(config) -> str:  # noqa: ANN001
    # A full URL as source expression allows that file only, not the whole CDN origin (where
    # anyone can publish a package). The local fallback copy is 'self'.
    script_src = "'self'" if config["HTMX_LOCAL"] else f"'self' {htmx_cdn_url(config)}"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script_src}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(config) -> tuple[tuple[str, str], ...]:  # noqa: ANN001
    """The headers every response carries unless the view set its own."""
    headers = [
        ("Content-Security-Policy", content_security_policy(config)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if config.get("HSTS"):
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(headers)


def init_headers(app: Flask) -> None:
    kept: dict[tuple, tuple[tuple[str, str, str], ...]] = {}

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        config = current_app.config
        # Built once per configuration (the settings it reads may be changed after start-up).
        key = (config["HTMX_LOCAL"], config["HTMX_VERSION"], bool(config.get("HSTS")))
        defaults = kept.get(key)
        if defaults is None:
            defaults = kept[key] = tuple(
                (name.lower(), name, value) for name, value in security_headers(config)
            )
        present = {name.lower() for name, _value in headers.items()}
        for lowered, name, value in defaults:
            if lowered not in present:
                headers.add(name, value)
        # One URL serves both full pages and htmx fragments.
        add_vary(headers, "HX-Request")
        if request.endpoint != "static" and (
            current_user.is_authenticated or getattr(request, "personal_data", False)
        ):
            for name, value in (("Cache-Control", "no-store"), ("Pragma", "no-cache")):
                if name.lower() in present:
                    headers[name] = value
                else:
                    headers.add(name, value)
        return response


def init_csrf(app: Flask) -> None:
    """Check CSRF tokens in one hook that looks at the method first: Flask-WTF's own hook
    resolves the view's exemptions on every GET as well (WTF_CSRF_CHECK_DEFAULT is off)."""
    from app.extensions import csrf

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    @app.before_request
    def _csrf_protect() -> None:
        config = current_app.config
        if request.method in config["WTF_CSRF_METHODS"] and config["WTF_CSRF_ENABLED"]:
            csrf.protect(apply_exemptions=True)


def mark_personal() -> None:
    """Mark the current (possibly anonymous) response as holding personal data: no-store."""
    request.personal_data = True


def roles_required(*roles: str) -> Callable:
    """The one role check: log-in required, then the user's role must be one of ``roles``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def staff_required(view: Callable) -> Callable:
    return roles_required("staff", "grid_worker", "admin")(view)


def admin_required(view: Callable) -> Callable:
    return roles_required("admin")(view)


# ---- masking (SPEC §12) --------------------------------------------------------------


def mask_id_number(value: str | None) -> str:
    """``620302********1234``: first 6 and last 4 characters."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


# What audit and history rows say about an ID number: never its digits (with the stored first 6
# and birth date, a first-6-and-last-4 mask would rebuild the whole number).
ID_RECORDED = "（已加密保存）"
ID_CHANGED = "（已更改，已加密保存）"


def mask_id_blob(blob: bytes | None) -> str:
    """The masked form of an encrypted ID number (decrypted only to be masked)."""
    from app.crypto import decrypt

    return mask_id_number(decrypt(blob)) if blob else ""


def mask_id_parts(prefix6: str, last4: str, length: int = 18) -> str:
    return prefix6 + "*" * (length - 10) + last4


def mask_phone(value: str | None) -> str:
    """``138****5678`` for mobiles; other numbers keep only their last 4 digits."""
    if not value:
        return ""
    if len(value) == 11 and value.isdigit():
        return value[:3] + "****" + value[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def mask_name(value: str | None) -> str:
    """``张*明`` for public pages: keep first and last character."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
