"""The administrators' page of the JSON API (接口令牌): create a token (shown once), revoke one, see deliveries."""
from __future__ import annotations

import json
from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from caseflow.cases import api_tokens as tokens
from caseflow.cases import webhooks
from caseflow.cases.units import unit_by_code_or_name
from caseflow.errors import InvalidInput
from caseflow.extensions import db, unit_of_work
from caseflow.models import ApiToken
from caseflow.web.admin import form_operation
from caseflow.web.auth import permission_required
from caseflow.web.staff import describe_event

bp = Blueprint("api_admin", __name__, url_prefix="/admin/api")


@bp.before_request
@permission_required("administer")
def _admins_only():
    """Administrators only (anonymous users were sent to log in)."""


class TokenForm(FlaskForm):
    name = StringField("令牌名称", validators=[InputRequired("请填写令牌名称（如“12345热线平台”）"),
                                           Length(max=40, message="令牌名称不能超过40个字")])
    unit = StringField("所属单位", validators=[InputRequired("请填写单位代码或全称")])


class RevokeForm(FlaskForm):
    pass


def _described(delivery) -> dict:
    """The status change a delivery carried, in the timeline's Chinese words."""
    body = json.loads(delivery.body)
    return describe_event(SimpleNamespace(action=body["event"], from_state=body["from_state"],
                                          to_state=body["to_state"]))


def _page(form: TokenForm, created: tuple[ApiToken, str] | None = None, status: int = 200):
    deliveries = webhooks.recent_deliveries()
    return render_template("admin/api_tokens.html", form=form, tokens=tokens.tokens(), created=created,
                           deliveries=[(d, _described(d)) for d in deliveries], revoke=RevokeForm()), status


@bp.route("/tokens", methods=["GET", "POST"])
def token_list():
    form = TokenForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        try:
            with unit_of_work():
                unit = unit_by_code_or_name(form.unit.data)
                created = tokens.create_token(current_user, unit, form.name.data)
        except InvalidInput as exc:
            getattr(form, exc.field or "name", form.name).errors.append(exc.message)
            return _page(form, status=400)
        # The token is shown on this answer only (no redirect): it is stored as its hash alone.
        resp = _page(TokenForm(formdata=None), created)
        return resp[0], 201, {"Cache-Control": "no-store"}
    return _page(form, status=400 if form.errors else 200)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def token_revoke(token_id: int):
    token = db.get_or_404(ApiToken, token_id)
    form = RevokeForm()
    if not form.validate():
        flash("页面已过期，请重新操作。", "warning")
        return redirect(url_for(".token_list"))
    done = form_operation(form, lambda: tokens.revoke_token(current_user, token),
                          lambda _: (f"已吊销接口令牌：{token.name}", url_for(".token_list")))
    if done is None:
        flash(form.form_errors[-1], "warning")
        return redirect(url_for(".token_list"))
    return done
