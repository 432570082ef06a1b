"""Error pages in Chinese, and domain exceptions mapped to HTTP answers."""
from __future__ import annotations

import contextlib
import logging
import re
import uuid

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from caseflow.errors import DomainError

log = logging.getLogger(__name__)

# Sent when even the error page cannot be rendered: no template, no database, no user.
FALLBACK_500 = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>系统出错</title>
<h1>500 系统出错</h1><p>系统出现错误，我们已经记录。请稍后重试。</p></html>"""

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

    def render(code: int, message: str | None = None, exc: Exception | None = None):
        if request.path.startswith("/api/"):  # the JSON API answers JSON, in the same words
            from caseflow.web.api import error_body

            message = message or MESSAGES.get(code, "请求无法完成。")
            headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"] \
                if isinstance(exc, HTTPException) else []  # a 405's Allow, a 429's Retry-After
            return jsonify(error_body(code, message)), code, headers
        return (
            render_template("errors/error.html", code=code, title=TITLES.get(code, "出错了"),
                            message=message or MESSAGES.get(code, "请求无法完成。"),
                            request_id=g.get("request_id", "")),
            code,
        )

    for code in TITLES:
        if code != 500:
            app.register_error_handler(code, lambda exc, code=code: render(code, exc=exc))

    @app.errorhandler(500)
    def _server_error(exc):
        """The 500 page cannot fail: the failed transaction is rolled back before the page (and its
        signed-in user's unit) is rendered, and a static page is sent if rendering fails anyway."""
        from caseflow.extensions import db, login_manager

        with contextlib.suppress(Exception):  # the connection itself may be gone
            db.session.rollback()
        try:
            return render(500)
        except Exception:  # noqa: BLE001 - whatever the page needs, the answer is still a Chinese 500
            log.exception("the 500 page failed; answering with the static one")
        g._login_user = login_manager.anonymous_user()  # the after-request hooks must not ask the database
        with contextlib.suppress(Exception):
            db.session.remove()
        return Response(FALLBACK_500, status=500, mimetype="text/html")

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        from caseflow.extensions import db

        db.session.rollback()
        return render(exc.status, exc.message)
