"""Domain steps the journeys take outside the browser (another official's work), committed."""
from __future__ import annotations

from caseflow.cases import operations
from caseflow.extensions import db
from caseflow.models import Case, Order, OrderKind, Verdict

FINDINGS = "经核实，该生在校就读，学校未办理学籍注册，现已补办。"
RESULT = "已完成学籍注册，学籍号已生成。"

# A tiny but real PDF (the attachment check looks at the magic bytes).
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def fresh(db, obj):
    """The row as the database has it now (the server committed in its own session)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def case_by_number(db, number: str) -> Case:
    db.session.expire_all()
    return db.session.execute(db.select(Case).where(Case.number == number)).scalar_one()


def open_orders(db, case: Case, kind: OrderKind) -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Order).where(Order.case_id == case.id, Order.kind == kind)
                                   .order_by(Order.id)))


def send_verification(world, case: Case, school: str = "4141000001") -> Order:
    """The responsible county accepts the case and sends a verification order to the school."""
    boss = world.user("supervisor", case.responsible_unit.code)
    operations.accept_case(boss, case)
    (order,) = operations.issue_verification(boss, case, [world.unit(school)], "核实该生的学籍注册情况。")
    db.session.commit()
    return order


def work_order(world, order: Order, text: str, verdict: Verdict | None = None) -> None:
    """The receiving unit's officer signs the order and reports back."""
    officer = world.user("officer", order.receiving_unit.code)
    operations.sign_order(officer, order, acting_person="李老师")
    operations.report_order(officer, order, text=text, verdict=verdict)
    db.session.commit()


def accept(world, order: Order) -> None:
    operations.accept_report(world.user("supervisor", order.issuing_unit.code), order)
    db.session.commit()


def close_case(db, world, case: Case) -> None:
    """The whole handling path through the domain, ending with the case closed."""
    order = send_verification(world, case)
    work_order(world, order, FINDINGS, Verdict.TRUE)
    accept(world, order)
    boss = world.user("supervisor", case.responsible_unit.code)
    sup = operations.issue_supervision(boss, fresh(db, case), order.receiving_unit, "请学校三日内完成学籍注册。")
    db.session.commit()
    work_order(world, sup, RESULT)
    accept(world, sup)
    operations.close_case(boss, fresh(db, case), "经核实，学校未及时办理学籍注册，现已补办完成。")
    db.session.commit()
