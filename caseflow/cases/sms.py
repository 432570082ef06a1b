"""Messages to complainants (SMS through a small gateway interface; logging by default)."""
from __future__ import annotations

import logging

from flask import current_app

from caseflow.extensions import db
from caseflow.identity import is_mobile, mask_phone
from caseflow.models import Case, NoticePreference, OutboxItem, SmsMessage
from caseflow.security import crypto

log = logging.getLogger("caseflow.sms")

SMS_TEMPLATES = {
    "registered": "【学籍投诉】您的投诉已收到，编号{number}。请凭编号和查询码在网上查询办理进度。",
    "closed": "【学籍投诉】您的投诉{number}已办结，请凭编号和查询码查看办理结果并评价。",
    "rejected": "【学籍投诉】您的投诉{number}不予受理，原因及办理渠道请凭编号和查询码查看。",
    "referred": "【学籍投诉】您的投诉{number}涉及外省，已上报上级教育行政部门处理。",
    "withdrawn": "【学籍投诉】您已撤回投诉{number}，办理结束。",
}


def wants_sms(case: Case) -> bool:
    """Whether the complainant is texted about the case: they chose texts and gave a mobile number."""
    return case.notice is NoticePreference.SMS and is_mobile(case.complainant.phone)


class LogGateway:
    """Writes the message to the log with the phone masked (development and tests)."""

    def send(self, phone: str, body: str) -> None:
        log.info("SMS to %s: %s", mask_phone(phone), body)


def gateway():
    backend = current_app.config.get("SMS_BACKEND", "log")
    if backend == "log":
        return LogGateway()
    raise RuntimeError(f"unknown SMS backend {backend!r}")


def deliver_sms(item: OutboxItem) -> None:
    """Send one SMS for an outbox item; the unique outbox id makes it at-most-once."""
    case = db.session.get_one(Case, item.payload["case_id"])
    phone = case.complainant.phone
    if not wants_sms(case):  # since queued, the number became a landline (or went) or texts were declined
        log.info("SMS for case %s skipped: no mobile number or no texts wanted", case.number)
        return
    body = SMS_TEMPLATES[item.payload["template"]].format(number=case.number)
    db.session.add(SmsMessage(outbox_id=item.id, case_id=case.id, phone_hash=crypto.lookup_hash(phone), body=body))
    db.session.flush()  # the unique outbox_id refuses a second delivery before anything is sent
    gateway().send(phone, body)
