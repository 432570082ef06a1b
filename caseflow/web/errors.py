"""Error pages in Chinese, and domain exceptions mapped to HTTP answers."""
from __future__ import annotations

import re
import uuid

from flask import Flask, g, render_template, request

from caseflow.errors import DomainError

TITLES = {
    400: "请求有误", 403: "无权访问", 404: "页面不存在", 405: "不支持该操作", 409: "操作冲突",
    413: "上传内容过大", 429: "尝试次数过多", 500: "系统出错", 503: "系统繁忙",
}
MESSAGES = {
    400: "提交的内容有误，请返回检查后重试。",
    403: "您没有权限访问此页面。",
    404: "您要找的页面不存在，或您无权查看。",
    405: "不支持该操作。",
    413: "上传的内容超过了大小限制，请压缩附件或减少附件数量后重试。",
    429: "尝试次数过多，请稍后再试。",
    500: "系统出现错误，我们已经记录。请稍后重试；如需帮助，请提供下面的请求编号。",
    503: "系统暂时繁忙，请稍后重试。您的数据没有丢失。",
}


def init_errors(app: Flask) -> None:
    @app.before_request
    def _request_id():
        # A proxy's id is kept for correlation, reduced to safe characters; otherwise a fresh one.
        g.request_id = re.sub(r"[^A-Za-z0-9._-]", "", request.headers.get("X-Request-Id", ""))[:64] or uuid.uuid4().hex[:12]

    def render(code: int, message: str | None = None):
        return (
            render_template("errors/error.html", code=code, title=TITLES.get(code, "出错了"),
                            message=message or MESSAGES.get(code, "请求无法完成。"),
                            request_id=g.get("request_id", "")),
            code,
        )

    for code in TITLES:
        app.register_error_handler(code, lambda exc, code=code: render(code))

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        from caseflow.extensions import db

        db.session.rollback()
        return render(exc.status, exc.message)
