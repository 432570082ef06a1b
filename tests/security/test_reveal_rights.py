"""Issue 20 item 4: who may reveal, in the access-matrix style (every case role at every unit relation).

The complainant belongs to the responsible bureau (金水区教育局, 410105), never to
the school the complaint is about, nor to units above or beside; the student's
full data also to a unit working an order of the case, until it returns that order.
"""
from __future__ import annotations

from caseflow.cases import operations
from caseflow.models import AuditEntry
from tests.security.test_access_matrix import CASE_ROLES, RELATIONS, scene  # noqa: F401 - the fixture
from tests.web.staff_support import Browser, fresh

COMPLAINANT = {"own"}
STUDENT = {"own", "child"}


def _reveal(b, case, person, field):
    return b.post(f"/cases/{case.number}/reveal", data={"person": person, "field": field}).status_code


def test_reveal_matrix(app, db, scene):  # noqa: F811 - the fixture
    case, order, _atts, users = scene
    failures = []
    for relation in RELATIONS:
        for role in CASE_ROLES:
            b = Browser(app, users[(role, relation)])
            sees = relation in {"own", "child", "parent"}
            for person, allowed in (("complainant", COMPLAINANT), ("student", STUDENT), ("text", COMPLAINANT)):
                field = "all" if person == "text" else "phone"
                want = (200 if relation in allowed else 403) if sees else 404
                got = _reveal(b, case, person, field)
                if got != want:
                    failures.append((role, relation, person, got, want))
            # The unmasked print of the order follows the complainant's rule.
            if sees:
                got = b.get(f"/orders/{order.number}/pdf?full=1").status_code
                want = 200 if relation in COMPLAINANT else 403
                if got != want:
                    failures.append((role, relation, "pdf full", got, want))
                page = b.page(f"/cases/{case.number}")
                if ("显示完整" in page) != (relation in STUDENT):
                    failures.append((role, relation, "button", "显示完整" in page))
    assert not failures, "\n".join(map(str, failures))
    # Refusals are not recorded as looks.
    assert {(e.user_id, e.detail) for e in db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.action == "reveal"))} <= {(users[(r, "own")].id, d) for r in CASE_ROLES
                                            for d in ("complainant.phone", "student.phone", "text.all")} | {
        (users[(r, "child")].id, "student.phone") for r in CASE_ROLES}


def test_a_unit_that_returned_its_order_may_no_longer_reveal(app, db, scene):  # noqa: F811 - the fixture
    case, order, _atts, users = scene
    school = Browser(app, users[("officer", "child")])
    assert _reveal(school, case, "student", "id_number") == 200
    operations.return_order(users[("officer", "child")], fresh(db, order), "不是本校学生。")
    db.session.commit()
    assert _reveal(school, case, "student", "id_number") == 200  # until the return is confirmed
    operations.confirm_return(users[("supervisor", "own")], fresh(db, order))
    db.session.commit()
    for role in CASE_ROLES:
        b = Browser(app, users[(role, "child")])
        assert _reveal(b, case, "student", "id_number") in (403, 404)
        assert _reveal(b, case, "complainant", "id_number") in (403, 404)
    assert _reveal(Browser(app, users[("supervisor", "own")]), case, "complainant", "id_number") == 200
