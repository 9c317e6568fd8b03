"""Chinese error pages; fragments for htmx requests."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.htmx import is_partial

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求有误", "提交的内容无法识别，请返回后重试。"),
    401: ("需要登录", "请先登录后再访问此页面。"),
    403: ("没有权限", "您没有权限访问此页面。如需开通，请联系社区管理员。"),
    404: ("页面不存在", "您访问的页面不存在，或不在您的管理范围内。"),
    405: ("操作不被允许", "此页面不支持该操作。"),
    413: ("文件过大", "上传的文件超过了大小限制。"),
    422: ("内容有误", "提交的内容未通过检查，请按提示修改。"),
    429: ("操作过于频繁", "请稍后再试。"),
    500: ("系统繁忙", "服务器暂时出现问题，请稍后再试。我们已记录此问题。"),
}


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500])
    template = "errors/_error.html" if is_partial() else "errors/error.html"
    return render_template(template, code=code, title=title, message=detail or message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return render_error(400, "页面已过期或安全校验失败，请刷新页面后重新提交。")

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
