"""Shared form helpers: Chinese messages for WTForms' own (English) parse errors."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, MonthField

DATE_MSG = "请按 年-月-日 填写日期，如 2001-07-01"
MONTH_MSG = "请按 年-月 填写，如 2026-11"
INTEGER_MSG = "请填写整数"
AMOUNT_MSG = "请填写数字金额，如 3500.00"


def validated(form: FlaskForm) -> bool:
    """``form.validate()``, with WTForms' own messages put in Chinese (``localize_errors``)."""
    valid = form.validate()
    localize_errors(form)
    return valid


def localize_errors(form: FlaskForm) -> None:
    """Replace the parse errors WTForms raises itself (in English) with Chinese ones; our own
    validators' messages (already Chinese) are kept."""
    for f in form:
        if not f.errors:
            continue
        if isinstance(f, DecimalField):
            f.errors = [e if not e.isascii() else AMOUNT_MSG for e in f.errors]
        elif isinstance(f, IntegerField):
            f.errors = [e if not e.isascii() else INTEGER_MSG for e in f.errors]
        elif isinstance(f, MonthField):
            f.errors = _once(e if not e.isascii() else MONTH_MSG for e in f.errors)
        elif isinstance(f, DateField):
            f.errors = _once(e if not e.isascii() else DATE_MSG for e in f.errors)


def _once(messages) -> list[str]:  # noqa: ANN001
    """The messages in order, each once (several English parse errors become one Chinese one)."""
    return list(dict.fromkeys(messages))
