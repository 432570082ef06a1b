"""Downloads: an order's PDF, a batch print, the citizen's receipt. Thin: load, check, call, respond."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import InputRequired, Length

from caseflow.errors import InvalidInput
from caseflow.extensions import unit_of_work
from caseflow.web.auth import permission_required
from caseflow.web.http import content_disposition
from caseflow.web.public import grants, receipt_code

bp = Blueprint("documents", __name__)


def _pdf_response(printed) -> Response:
    """Inline PDF with a Chinese file name, never cached by shared caches."""
    resp = Response(printed.data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = content_disposition(printed.filename, inline=True)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/orders/<number>/pdf")
@permission_required("work_cases")
def order_pdf(number: str):
    """The order as printed; ``?full=1`` prints full ID numbers and phones (audited)."""
    from caseflow.documents.service import print_order

    with unit_of_work():
        printed = print_order(current_user, number, unmasked=request.args.get("full") == "1")
    return _pdf_response(printed)


class BatchForm(FlaskForm):
    unit = StringField("单位代码", validators=[InputRequired("请填写单位代码"), Length(max=20)])
    date_from = DateField("开始日期", validators=[InputRequired("请填写开始日期")],
                          invalid_value_message="请按“2026-11-23”的格式填写开始日期")
    date_to = DateField("结束日期", validators=[InputRequired("请填写结束日期")],
                        invalid_value_message="请按“2026-11-23”的格式填写结束日期")
    full = BooleanField("打印完整的身份证号和联系电话（将记入审计日志）")
    two_up = BooleanField("两张一页（A4横向，每张缩为A5；超过一页的单据仍按A4单独成页）")


@bp.route("/documents/batch", methods=["GET", "POST"])
@permission_required("work_cases")
def batch():
    """Form and download: every order a unit issued or received in a date range."""
    from caseflow.documents.service import print_batch

    form = BatchForm(data=None if request.method == "POST" else {"unit": current_user.unit.code})
    if form.validate_on_submit():
        try:
            with unit_of_work():
                printed = print_batch(current_user, form.unit.data, form.date_from.data, form.date_to.data,
                                      unmasked=form.full.data, two_up=form.two_up.data)
        except InvalidInput as exc:
            getattr(form, exc.field or "unit", form.unit).errors.append(exc.message)
        else:
            return _pdf_response(printed)
    return render_template("documents/batch.html", form=form), (
        400 if form.errors else 200)


@bp.get("/track/<number>/receipt.pdf")
def receipt(number: str):
    """The citizen's 受理回执, for a case this session was granted (submitted or code entered)."""
    from caseflow.documents.service import print_receipt

    printed = print_receipt(number, grants(), receipt_code(number))
    return _pdf_response(printed)


@bp.get("/intake/registered/<number>/receipt.pdf")
@permission_required("work_cases")
def registered_receipt(number: str):
    """The clerk's printable receipt of a complaint they registered, wherever it went."""
    from caseflow.documents.service import print_registered_receipt

    return _pdf_response(print_registered_receipt(current_user, number))
