"""The complainant after submitting: more material (补充材料), withdrawal (撤诉), and SMS or none.

The complainant holds no account; the tracking page reaches a case through the
access code, and asks ``permissions.complainant_check`` (the state half of each
action) as these operations do.  Each operation writes its event, tells the
units handling the case, flushes; the view commits once.
"""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import permissions
from caseflow.cases.attachments import store
from caseflow.cases.intake import DESCRIPTION_MAX
from caseflow.cases.operations import _cancel_open_orders, _event, _move_case, _text_complainant, flush
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.identity import is_mobile
from caseflow.jobs import add_outbox
from caseflow.models import Case, CaseEvent, NoticePreference, Notification, OrderState, Role, User
from caseflow.security.text import strip_bidi
from caseflow.timeutil import utcnow

REASON_MAX = 2000
# The officials told of the complainant's actions: those who work the case or an order of it.
AUDIENCE = (Role.SUPERVISOR, Role.OFFICER)
NOTIFICATION_KIND = "complainant"
MATERIAL = "complainant_material"  # the event of added material
# The events the complainant makes, from submitting on (the staff timeline names them as the actor).
ACTIONS = ("submit", "rate", "reopen", "withdraw", MATERIAL, "notice_changed")


def _clean(text: str | None) -> str:
    return strip_bidi(text or "").strip()


def _handlers(case: Case) -> list[tuple[int, str]]:
    """(unit id, link) of each unit handling the case: the responsible unit, and the receiver of every
    order still being worked (its own order page), each once."""
    out = {case.responsible_unit_id: f"/cases/{case.number}"}
    for order in case.orders:
        if order.state in OrderState.WORKING:
            out.setdefault(order.receiving_unit_id, f"/orders/{order.number}")
    return list(out.items())


def _tell_handlers(case: Case, handlers: list[tuple[int, str]], title: str, body: str) -> None:
    """An in-app message (and email, where there is an address) to the officials of each handling unit.

    The complainant's words stay on the case page (masked there): a message or an email never carries them.
    """
    links = dict(handlers)
    readers = db.session.execute(sa.select(User.id, User.email, User.unit_id).where(
        User.unit_id.in_(links), User.active, User.role.in_(AUDIENCE))).all()
    db.session.add_all(Notification(user_id=u.id, kind=NOTIFICATION_KIND, title=title[:200], body=body,
                                    case_id=case.id, link=links[u.unit_id],
                                    email_state="pending" if u.email else None) for u in readers)
    if any(u.email for u in readers):
        add_outbox("email_notifications")


def material(case: Case) -> list[CaseEvent]:
    """The complainant's added material on ``case``, oldest first (shown on its case and order pages)."""
    return [e for e in case.events if e.action == MATERIAL]


def add_material(case: Case, text: str | None, files: list[tuple[bytes, str]]) -> CaseEvent:
    """补充材料: text and/or files (checked as the complaint form's) become an event; the units are told.

    ``files`` are (content, file name) already counted by the form; each is checked again on storing.
    """
    permissions.complainant_check("add_material", case)
    text = _clean(text)
    if not text and not files:
        raise InvalidInput("请填写补充说明或选择要上传的附件", field="text")
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(f"补充说明不能超过{DESCRIPTION_MAX}字（现为{len(text)}字），可将材料作为附件上传",
                           field="text")
    stored = [store(case, data, filename) for data, filename in files]
    names = "、".join(a.original_name for a in stored)
    note = "\n".join(part for part in (text, f"附件：{names}" if names else "") if part)
    event = _event(case, MATERIAL, None, note=note, public=True)
    what = "、".join(part for part in (f"说明{len(text)}字" if text else "", f"附件{len(stored)}个" if stored else "")
                     if part)
    _tell_handlers(case, _handlers(case), f"投诉人补充材料：投诉{case.number}",
                   f"通过查询页面补充了材料（{what}），请在投诉页面查看。")
    flush()
    return event


def withdrawal_reason(case: Case, reason: str | None) -> str:
    """The reason for a withdrawal of ``case`` now, cleaned; or why not (the confirmation step asks first)."""
    permissions.complainant_check("withdraw", case)
    reason = _clean(reason)
    if not reason:
        raise InvalidInput("请填写撤诉的理由", field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"撤诉理由不能超过{REASON_MAX}字（现为{len(reason)}字）", field="reason")
    return reason


def withdraw(case: Case, reason: str | None) -> None:
    """撤诉: the complaint ends as withdrawn (never counted as resolved); open orders are cancelled."""
    reason = withdrawal_reason(case, reason)
    handlers = _handlers(case)  # before the orders are cancelled
    _move_case(case, "withdraw", None, note=reason, withdrawal_reason=reason, withdrawn_at=utcnow(),
               action_due_on=None)
    _cancel_open_orders(case, None)
    _tell_handlers(case, handlers, f"投诉人已撤诉：投诉{case.number}",
                   "相关单据已撤销，撤诉理由请在投诉页面查看。")
    flush()
    _text_complainant(case, "withdrawn")


def choose_notice(case: Case, notice: NoticePreference) -> None:
    """Text messages about the case, or none; SMS needs a mobile number."""
    permissions.complainant_check("choose_notice", case)
    if notice is case.notice:
        return
    if notice is NoticePreference.SMS and not is_mobile(case.complainant.phone):
        raise InvalidInput("您登记的联系电话不是手机号码，无法接收短信", field="notice")
    case.notice = notice
    _event(case, "notice_changed", None, note=f"投诉人选择：{notice.label}")
    flush()
