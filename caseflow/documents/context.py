"""Form data for the PDFs, built from orders and cases: plain values, masked by default.

The same data feeds the template and the content hash, so whatever changes the
printed form changes the hash, and nothing else does.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date

from caseflow.cases import receipts
from caseflow.deadlines.settings import setting_days
from caseflow.extensions import db
from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.models import Case, Order, OrderKind, Person
from caseflow.models.guidance import cited_rules
from caseflow.security.redact import redact

TITLES = {
    OrderKind.VERIFICATION: "群众投诉中小学生学籍管理问题核查单",
    OrderKind.SUPERVISION: "群众投诉中小学生学籍管理问题督办单",
}
RECEIPT_TITLE = "学籍投诉受理回执"


@dataclass(frozen=True)
class PersonBlock:
    """One person's row pair on the form; empty strings print as empty ruled cells."""

    name: str = ""
    sex: str = ""
    age: str = ""
    ethnicity: str = ""
    id_number: str = ""
    phone: str = ""
    registry_no: str = ""


@dataclass(frozen=True)
class OrderForm:
    """Everything printed on one 核查单 or 督办单, in the attachment's order."""

    kind: str
    title: str
    number: str
    complainant: PersonBlock
    student: PersonBlock
    content: str
    issuing_unit: str
    responsible_person: str
    responsible_phone: str
    acting_unit: str
    acting_person: str
    acting_phone: str
    sent_on: tuple[str, str, str]
    due_on: tuple[str, str, str]
    findings: str = ""
    handling_opinion: str = ""
    handling_result: str = ""
    rules: tuple[str, ...] = ()  # 政策依据: the cited article versions, "《source》article title"
    unmasked: bool = False

    @property
    def is_verification(self) -> bool:
        return self.kind == OrderKind.VERIFICATION.value

    def data_hash(self, salt: str = "") -> str:
        """SHA-256 of the printed data (plus ``salt``: the template's fingerprint)."""
        blob = json.dumps(asdict(self), ensure_ascii=False, sort_keys=True) + salt
        return hashlib.sha256(blob.encode()).hexdigest()


def _s(value) -> str:
    return "" if value is None else str(value)


def date_parts(d: date | None) -> tuple[str, str, str]:
    """("2026", "11", "23") for the 年 / 月 / 日 cells; blanks for no date."""
    return (str(d.year), str(d.month), str(d.day)) if d else ("", "", "")


def person_block(person: Person | None, *, unmasked: bool) -> PersonBlock:
    """A person as printed: full ID number and phone only when ``unmasked``."""
    if person is None:
        return PersonBlock()
    idn, phone, reg = person.id_number, person.phone, person.registry_no
    return PersonBlock(
        name=_s(person.name), sex=person.sex.label if person.sex else "", age=_s(person.age),
        ethnicity=_s(person.ethnicity),
        id_number=_s(idn) if unmasked else mask_id_number(idn),
        phone=_s(phone) if unmasked else mask_phone(phone),
        registry_no=_s(reg) if unmasked else mask_registry_number(reg),
    )


def order_form(order: Order, *, unmasked: bool = False) -> OrderForm:
    """The form data of one order hop (its issuer is the 处理责任单位 / 督办单位)."""
    from caseflow.timeutil import local_date

    case = order.case

    def text(value: str | None) -> str:
        """Free text as printed: numbers typed into it masked unless the print is unmasked."""
        return _s(value) if unmasked else redact(_s(value))

    return OrderForm(
        kind=order.kind.value, title=TITLES[order.kind], number=order.number,
        complainant=person_block(case.complainant, unmasked=unmasked),
        student=person_block(case.student, unmasked=unmasked),
        content=text(order.content),
        issuing_unit=order.issuing_unit.name, responsible_person=_s(order.responsible_person),
        responsible_phone=_s(order.responsible_phone),
        acting_unit=order.receiving_unit.name, acting_person=_s(order.acting_person),
        acting_phone=_s(order.acting_phone),
        sent_on=date_parts(local_date(order.sent_at) if order.sent_at else None),
        due_on=date_parts(order.due_on),
        findings=text(order.findings), handling_opinion=text(order.handling_opinion),
        handling_result=text(order.handling_result), unmasked=unmasked,
        rules=tuple(f"{r.citation} {r.title}" for r in db.session.scalars(cited_rules(order.id))),
    )


@dataclass(frozen=True)
class ReceiptStep:
    what: str
    limit: str


@dataclass(frozen=True)
class Receipt:
    """The citizen's 受理回执: what was received, the codes, what happens next and when."""

    title: str
    number: str
    access_code: str
    received_on: str
    state: str
    category: str
    schools: list[str]
    responsible_unit: str
    complainant: PersonBlock
    student: PersonBlock
    action_due_on: str
    steps: list[ReceiptStep] = field(default_factory=list)
    hotline: str = ""


def receipt(case: Case, access_code: str | None = None) -> Receipt:
    """Receipt data for a case, always masked (it is handed to the citizen)."""
    from caseflow.timeutil import format_date_cn

    steps = [
        ReceiptStep("责任单位受理投诉，并向有关单位下发核查单", f"受理后{setting_days('issue_verification_days')}个工作日内"),
        ReceiptStep("有关单位核实情况，报送经核实的情况", f"收到核查单后{setting_days('verification_days')}个工作日内"),
        ReceiptStep("责任单位研究提出办理意见，下发督办单", f"收到核查情况后{setting_days('decision_days')}个工作日内"),
        ReceiptStep("承办单位办理并报送办理情况", f"收到督办单后{setting_days('supervision_days')}个工作日内"),
        ReceiptStep("责任单位审核办结，告知您办理结果", "办理情况审核通过后"),
    ]
    if receipts.goes_to_ministry(case):
        steps = [ReceiptStep(receipts.ministry_note(case), "上报后由教育部协调")]
    unit = case.responsible_unit
    return Receipt(
        title=RECEIPT_TITLE, number=case.number, access_code=access_code or "",
        received_on=format_date_cn(case.received_at), state=case.state.label, category=case.category.label,
        schools=[s.name for s in case.schools], responsible_unit=unit.name,
        complainant=person_block(case.complainant, unmasked=False),
        student=person_block(case.student, unmasked=False),
        action_due_on=format_date_cn(case.action_due_on), steps=steps, hotline=_s(unit.hotline or unit.phone),
    )
