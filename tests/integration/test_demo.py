"""The demo loader builds the Henan hierarchy, working accounts and cases in every state."""
import sqlalchemy as sa

from caseflow.cases.numbering import access_code_matches
from caseflow.deadlines import status
from caseflow.demo import DEMO_ACCESS_CODE, SEED_000_UNITS, load_demo
from caseflow.identity import parse_id_number
from caseflow.models import Case, CaseEvent, CaseState, Order, Unit, UnitKind, User
from caseflow.timeutil import local_today


def test_demo_load_covers_every_state_and_logs_in(app, db, client):
    load_demo(reset=True)
    accounts = load_demo(reset=True)  # loading twice works and gives the same data

    states = set(db.session.scalars(sa.select(Case.state)))
    assert states == set(CaseState)
    assert db.session.scalar(sa.select(sa.func.count(Case.id))) >= 12
    rated = db.session.scalars(sa.select(Case).where(Case.state == CaseState.CLOSED)).all()
    assert {c.rating is None for c in rated} == {True, False}
    for case in db.session.scalars(sa.select(Case)):
        assert case.events  # a real history written by the operations
        assert access_code_matches(case.number, DEMO_ACCESS_CODE, case.access_code_hash)
        for person in (case.complainant, case.student):
            assert parse_id_number(person.id_number).number == person.id_number

    today = local_today()
    overdue_orders = db.session.scalars(
        sa.select(Order).where(status.order_overdue(Order, today))).all()
    assert len(overdue_orders) >= 2
    overdue_cases = db.session.scalars(sa.select(Case).where(status.action_overdue(Case, today))).all()
    assert overdue_cases
    # Timelines were moved back consistently: nothing happened before the complaint arrived.
    for event in db.session.scalars(sa.select(CaseEvent)):
        assert event.created_at >= event.case.received_at

    units = {u.code: u for u in db.session.scalars(sa.select(Unit))}
    for code, seed_name in SEED_000_UNITS:
        assert code in units, code
        assert seed_name in units[code].name
        assert units[code].parent.code == "410000"
    for code in ("410181", "410225", "410482", "410526", "410728", "411381", "411481", "411525",
                 "411628", "411729"):
        assert units[code].kind is UnitKind.COUNTY and units[code].directly_administered
    assert units["410100"].name == "郑州市教育局" and units["410105"].name == "金水区教育局"
    assert units["410728"].name == "长垣县教育局"
    assert units["130102"].path == "000000/130000/130100/130102/"
    schools = [u for u in units.values() if u.kind is UnitKind.SCHOOL]
    assert all(len(s.code) == 10 and s.code.isdigit() for s in schools)
    assert any(s.parent.kind is UnitKind.CITY for s in schools)

    assert {role for _u, _p, role, _unit in accounts} >= {"受理员", "承办人", "责任人", "系统管理员"}
    for username, password, _role, unit_name in accounts:
        assert len(password) >= 12
        user = db.session.scalars(sa.select(User).where(User.username == username)).one()
        assert user.unit.name == unit_name
        client.post("/logout")
        resp = client.post("/login?next=/", data={"username": username, "password": password})
        assert resp.status_code == 302 and resp.headers["Location"] == "/", username
