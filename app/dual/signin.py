"""The activity sign-in code (扫码签到): the activity's id signed with a timestamp.

The QR on the staff's phone (or paper) carries the URL ``/dual/signin?t=<code>``. A code names
one activity and the moment it was made, signed with the application's key
(``app.certificates.signing``); it is refused once older than the ``dual_signin_minutes``
setting (the staff page makes a fresh one every time it refreshes). The clock is the app's own
(``app.timeutil``), so tests freeze it instead of sleeping.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from app.certificates.signing import signer
from app.errors import DomainError
from app.settings import get_setting
from app.timeutil import utcnow

SALT = "linli.dual.signin"


class _Signer(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def code_for(need_id: int) -> str:
    return signer(SALT, _Signer).sign(str(need_id)).decode()


def need_of(code: str) -> int:
    """The activity id of a valid, fresh code; DomainError (on the form's ``t``) otherwise."""
    max_age = int(get_setting("dual_signin_minutes")) * 60
    try:
        value = signer(SALT, _Signer).unsign(code or "", max_age=max_age)
    except SignatureExpired as error:
        raise DomainError("签到码已过期，请扫描工作人员手机上最新的二维码", field="t") from error
    except BadSignature as error:
        raise DomainError("签到码无效，请重新扫描二维码", field="t") from error
    return int(value)
