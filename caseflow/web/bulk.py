"""Actions on several orders at once (签收, 催办), and the single 催办 of the order page.

Each order is loaded, checked and changed in its own transaction, exactly as one at a time: one
refused order (signed meanwhile, not ours, finished) is reported with its reason and does not stop
the others.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_login import current_user

from caseflow.cases import access, operations
from caseflow.chase import remind
from caseflow.errors import DomainError, InvalidInput
from caseflow.extensions import unit_of_work
from caseflow.models import Order
from caseflow.web import staff_forms as forms
from caseflow.web.auth import permission_required

bp = Blueprint("bulk", __name__)

MAX_ORDERS = 100


@dataclass
class Outcome:
    """Which orders the action was done on, and which were refused, each with the reason."""

    title: str
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _numbers() -> list[str]:
    """The order numbers posted (``orders``, repeated), once each, in the order given."""
    numbers = list(dict.fromkeys(n.strip().upper() for n in request.form.getlist("orders") if n.strip()))
    if not numbers:
        raise InvalidInput("请至少选择一张单据。")
    if len(numbers) > MAX_ORDERS:
        raise InvalidInput(f"一次最多处理{MAX_ORDERS}张单据。")
    return [n[:40] for n in numbers]


def _each(title: str, numbers: list[str], run: Callable[[Order], object]) -> Outcome:
    """Run ``run`` on each visible order in a transaction of its own; collect successes and refusals."""
    outcome = Outcome(title)
    for number in numbers:
        try:
            with unit_of_work():
                run(access.get_order(current_user, number))
        except DomainError as exc:
            outcome.refused.append((number, exc.message))
        else:
            outcome.done.append(number)
    return outcome


def _form() -> forms.FlaskForm:
    form = forms.FlaskForm()
    if not form.validate_on_submit():  # the CSRF token
        abort(400)
    return form


@bp.post("/orders/bulk/sign")
@permission_required("work_inbox")
def sign():
    """签收 several orders; the acting person is the officer signing."""
    _form()
    outcome = _each("批量签收", _numbers(), lambda order: operations.sign_order(
        current_user, order, current_user.name, current_user.phone))
    return render_template("staff/bulk_result.html", outcome=outcome)


@bp.post("/orders/bulk/remind")
@permission_required("supervise_units")
def remind_many():
    """催办 several orders with one message."""
    _form()
    message = request.form.get("message", "")
    outcome = _each("批量催办", _numbers(), lambda order: remind.remind_order(current_user, order, message))
    return render_template("staff/bulk_result.html", outcome=outcome)


@bp.post("/orders/<number>/remind")
@permission_required("work_cases")  # outside the jurisdiction 404 first, as every order page; then the rule
def remind_one(number: str):
    """催办 one order from its page."""
    _form()
    order = access.get_order(current_user, number)
    with unit_of_work():
        remind.remind_order(current_user, order, request.form.get("message", ""))
    flash("已催办，接收单位将收到通知。", "success")
    return redirect(f"/orders/{order.number}")
