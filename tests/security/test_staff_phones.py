"""Issue 20 item 2: officials' phones are personal data: sealed with keyed hashes, shown in full only to the
two ends of an order."""
from __future__ import annotations

from caseflow.cases import operations as ops
from caseflow.security import crypto
from tests.factories import submit
from tests.web.staff_support import Browser


def test_staff_phones_sealed_and_shown_to_the_ends_of_the_order(app, db, world):
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    sup.phone = "13700001111"
    db.session.commit()
    case, _ = submit(db)
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")], "请核实。")
    ops.sign_order(officer, order, "李老师", "13922223333")
    db.session.commit()
    raw = db.session.execute(db.text(
        "SELECT u.phone, u.phone_hash, o.responsible_phone, o.responsible_phone_hash, o.acting_phone, "
        "o.acting_phone_hash FROM users u, orders o WHERE u.id = :u AND o.id = :o"), {"u": sup.id, "o": order.id}).one()
    assert "13700001111" not in str(raw) and "13922223333" not in str(raw)
    assert crypto.decrypt(raw[0]) == "13700001111" and raw[1] == crypto.lookup_hash("13700001111")
    assert crypto.decrypt(raw[2]) == "13700001111" and raw[3] == crypto.lookup_hash("13700001111")
    assert crypto.decrypt(raw[4]) == "13922223333" and raw[5] == crypto.lookup_hash("13922223333")
    for user in (sup, officer):  # the issuing and the receiving unit call each other
        page = Browser(app, user).page(f"/orders/{order.number}")
        assert "13700001111" in page and "13922223333" in page
    city = Browser(app, world.user("supervisor", "410100")).page(f"/orders/{order.number}")
    assert "137****1111" in city and "139****3333" in city
    assert "13700001111" not in city and "13922223333" not in city
