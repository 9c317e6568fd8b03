"""Chinese error pages; fragments for htmx requests."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.htmx import is_partial, render_page_or_block

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求有误", "提交的内容无法识别，请返回后重试。"),
    401: ("需要登录", "请先登录后再访问此页面。"),
    403: ("没有权限", "您没有权限访问此页面。如需开通，请联系社区管理员。"),
    404: ("页面不存在", "您访问的页面不存在，或不在您的管理范围内。"),
    405: ("操作不被允许", "此页面不支持该操作。"),
    409: ("数据已被修改", "这条记录刚被其他人修改过，请刷新后再操作。"),
    413: ("文件过大", "上传的文件超过了大小限制。"),
    422: ("内容有误", "提交的内容未通过检查，请按提示修改。"),
    429: ("操作过于频繁", "请稍后再试。"),
    500: ("系统繁忙", "服务器暂时出现问题，请稍后再试。我们已记录此问题。"),
}


class DomainError(Exception):
    """A business rule refused the input. ``errors`` maps a form field's name to its Chinese
    message; the key ``""`` (or a name the form does not have) is a message for the whole form.
    Services raise it (or ``Conflict``); they never roll back, commit or abort."""

    status = 422
    default = "提交的内容未通过检查，请按提示修改。"

    def __init__(self, errors: Mapping[str, str] | str | None = None, field: str | None = None):
        if errors is None:
            errors = self.default
        if isinstance(errors, str):
            errors = {field or "": errors}
        self.errors: dict[str, str] = dict(errors)
        super().__init__("；".join(self.errors.values()))

    @property
    def field(self) -> str | None:
        """The field of a one-message error (None: about the whole form)."""
        names = [name for name in self.errors if name]
        return names[0] if len(self.errors) == 1 and names else None

    @property
    def message(self) -> str:
        return "；".join(self.errors.values())


class Conflict(DomainError):
    """Somebody else changed the record meanwhile (stale version, double decision): 409."""

    status = 409
    default = "这条记录刚被其他人修改过，请刷新后再操作。"


def put_errors(form: Any, error: DomainError) -> None:
    """Show ``error`` on ``form``: each message next to its field, the rest above the form."""
    for name, message in error.errors.items():
        target = form._fields.get(name) if name else None
        if target is not None:
            target.errors = [*target.errors, message]
        else:
            form.form_errors.append(message)
    form.status = error.status


def form_status(form: Any) -> int:
    """409 for a conflict, 422 for a form with errors, else 200."""
    status = getattr(form, "status", None)
    if status:
        return status
    return 422 if form.errors else 200


@contextmanager
def errors_onto(form: Any) -> Iterator[None]:
    """Inside the block, a ``DomainError`` rolls the request's changes back and lands on
    ``form`` (see ``put_errors``); the view then renders the form again with ``render_form``."""
    from app.extensions import db

    try:
        yield
    except DomainError as error:
        db.session.rollback()
        put_errors(form, error)


def render_form(template: str, block: str, form: Any, **context: Any) -> Response:
    """The page (or its ``block`` for htmx) with ``form`` and the status ``form_status`` gives."""
    return render_page_or_block(template, block, status=form_status(form), form=form, **context)


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500])
    template = "errors/_error.html" if is_partial() else "errors/error.html"
    return render_template(template, code=code, title=title, message=detail or message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return render_error(400, "页面已过期或安全校验失败，请刷新页面后重新提交。")

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        # A rule refused an action that has no form of its own (a button): roll back, say why.
        from app.extensions import db

        db.session.rollback()
        return render_error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = error.code or 500
        if code == 429:
            return render_error(429)
        return render_error(code if code in MESSAGES else 400)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("unhandled error")
        from app.extensions import db

        db.session.rollback()
        return render_error(InternalServerError.code)
