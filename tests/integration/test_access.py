"""One access rule for lists, pages, downloads and actions: outside your part of the tree is 404."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from caseflow.models import AuditEntry, CaseState, Order, OrderState
from tests.factories import add_user, submit
from tests.web.staff_support import Browser, fresh

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def handled(app, db, world):
    """A case of 金水区 (410105) with a verification order to its school and a proof attached."""
    case, _ = submit(db)
    sup = Browser(app, world.user("supervisor", "410105"))
    sup.act(f"/cases/{case.number}/accept", "accept", case.version_id)
    sup.act(f"/cases/{case.number}/verify", "verify", fresh(db, case).version_id, units=["4141000001"],
            content="核实学籍。")
    resp = sup.post(f"/cases/{case.number}/attachments",
                    data={"attach-file": (io.BytesIO(PDF), "证明.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    case = fresh(db, case)
    order = db.session.scalars(sa.select(Order).where(Order.case_id == case.id)).one()
    return case, order, case.attachments[0]


OUTSIDERS = [("officer", "410103"), ("supervisor", "410103"), ("intake", "410103"),
             ("officer", "4141000003"), ("officer", "4141000002"), ("supervisor", "410300"),
             ("officer", "4141000004")]


@pytest.mark.parametrize(("role", "code"), OUTSIDERS)
def test_outsiders_get_404_everywhere(app, world, handled, role, code):
    case, order, att = handled
    b = Browser(app, world.user(role, code))
    for url in (f"/cases/{case.number}", f"/orders/{order.number}", f"/attachments/{att.public_id}"):
        assert b.get(url).status_code == 404, url
    assert b.post(f"/cases/{case.number}/reveal", data={"person": "student", "field": "id_number"}).status_code == 404
    assert b.post(f"/orders/{order.number}/sign", data={"sign-acting_person": "x",
                                                         "sign-version": order.version_id}).status_code == 404
    assert case.number not in b.page("/cases")
    if role != "intake":
        assert order.number not in b.page("/inbox")


@pytest.mark.parametrize(("role", "code"), [("supervisor", "410100"), ("officer", "410100"), ("intake", "410000"),
                                            ("officer", "410105"), ("officer", "4141000001")])
def test_own_and_parent_units_see_it(app, world, handled, role, code):
    case, order, att = handled
    b = Browser(app, world.user(role, code))
    assert case.number in b.page(f"/cases/{case.number}")
    assert order.number in b.page(f"/orders/{order.number}")
    assert case.number in b.page("/cases")
    resp = b.get(f"/attachments/{att.public_id}")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_admin_has_no_case_pages(app, world, handled):
    if "admin.index" not in app.view_functions:
        pytest.skip("the admin blueprint (where administrators log in to) is not merged yet")
    case, order, _ = handled
    b = Browser(app, world.user("admin", "410000"))
    for url in ("/cases", f"/cases/{case.number}", f"/orders/{order.number}", "/inbox"):
        assert b.get(url).status_code == 403, url


def test_values_masked_in_lists_and_page_and_reveal_is_audited(app, db, world, handled):
    case, _, _ = handled
    student_id, phone = case.student.id_number, case.complainant.phone
    b = Browser(app, world.user("supervisor", "410105"))
    for url in ("/cases", "/cases?mine=1", f"/cases/{case.number}"):
        html = b.page(url)
        assert student_id not in html and phone not in html and case.complainant.id_number not in html
    html = b.page(f"/cases/{case.number}")
    assert student_id[:6] + "********" + student_id[-4:] in html and "138****5678" in html
    assert case.student.registry_no not in html

    resp = b.post(f"/cases/{case.number}/reveal", data={"person": "student", "field": "id_number"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and student_id in html and phone not in html
    assert resp.headers["Cache-Control"] == "no-store"
    entry = db.session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.target_ref, entry.detail) == ("reveal", case.number, "student.id_number")
    assert entry.user_id == world.user("supervisor", "410105").id
    # The next plain view is masked again.
    assert student_id not in b.page(f"/cases/{case.number}")
    # Only the four known values can be revealed; anything else is refused and not recorded.
    assert b.post(f"/cases/{case.number}/reveal", data={"person": "student", "field": "name"}).status_code == 400
    assert b.post(f"/cases/{case.number}/reveal", data={"person": "created_by", "field": "phone"}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 1


def test_officer_cannot_act_on_order_addressed_elsewhere(app, db, world, handled):
    _, order, _ = handled
    # 金水区 issued the order, so its officer sees it, but may not sign for the school.
    county = Browser(app, world.user("officer", "410105"))
    page = county.page(f"/orders/{order.number}")
    assert f'action="/orders/{order.number}/sign"' not in page
    resp = county.post(f"/orders/{order.number}/sign", data={"sign-acting_person": "王",
                                                              "sign-version": order.version_id})
    assert resp.status_code == 403
    assert fresh(db, order).state is OrderState.SENT


def test_signing_twice_is_refused_with_a_message(app, db, world, handled):
    _, order, _ = handled
    school = Browser(app, world.user("officer", "4141000001"))
    school.act(f"/orders/{order.number}/sign", "sign", order.version_id, acting_person="李老师")
    signed = fresh(db, order)
    resp = school.post(f"/orders/{order.number}/sign", data={"sign-acting_person": "另一位老师",
                                                              "sign-version": signed.version_id})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "不能执行该操作" in html and "另一位老师" in html
    again = fresh(db, order)
    assert again.acting_person == "李老师" and again.version_id == signed.version_id


def test_case_action_refused_after_state_moved_on(app, db, world, handled):
    case, _, _ = handled
    sup = Browser(app, world.user("supervisor", "410105"))
    resp = sup.post(f"/cases/{case.number}/accept", data={"accept-version": case.version_id})
    assert resp.status_code == 409 and "不能执行该操作" in resp.get_data(as_text=True)
    assert fresh(db, case).state is CaseState.VERIFYING
    # An officer may not decide about the case at all.
    officer = Browser(app, world.user("officer", "410105"))
    assert officer.post(f"/cases/{case.number}/reject", data={"reject-reason": "x"}).status_code == 403


def test_two_officials_submit_the_same_form(app, db, world, password_hash, handled):
    """Both load the order form; one signs, the other's return (made from the old page) is refused."""
    _, order, _ = handled
    second = add_user(db, password_hash, "officer", world.unit("4141000001"), username="officer2-4141000001")
    db.session.commit()
    first_b = Browser(app, world.user("officer", "4141000001"))
    second_b = Browser(app, second)
    loaded = order.version_id
    for b in (first_b, second_b):
        assert f'action="/orders/{order.number}/return"' in b.page(f"/orders/{order.number}")
    first_b.act(f"/orders/{order.number}/sign", "sign", loaded, acting_person="李老师")
    resp = second_b.post(f"/orders/{order.number}/return", data={"return-version": loaded,
                                                                  "return-reason": "本校查无此学生，请核对。"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "已被他人修改" in html and "本校查无此学生，请核对。" in html
    now = fresh(db, order)
    assert now.state is OrderState.SIGNED and now.acting_person == "李老师"
    # Resubmitting from the re-shown form (it carries the current version) goes through.
    resp = second_b.post(f"/orders/{order.number}/return", data={"return-version": now.version_id,
                                                                  "return-reason": "本校查无此学生，请核对。"})
    assert resp.status_code == 302
    assert fresh(db, order).state is OrderState.RETURN_PENDING


def test_order_attachment_hidden_from_a_sibling_hop(app, db, world):
    """Both districts work the city's case; one district's proof on its order stays its own."""
    case, _ = submit(db, schools=("4141000001", "4141000003"))
    city = Browser(app, world.user("supervisor", "410100"))
    city.act(f"/cases/{case.number}/accept", "accept", case.version_id)
    city.act(f"/cases/{case.number}/verify", "verify", fresh(db, case).version_id, units=["410105", "410103"],
             content="核实。")
    jinshui = next(o for o in fresh(db, case).orders if o.receiving_unit.code == "410105")
    resp = Browser(app, world.user("officer", "410105")).post(
        f"/orders/{jinshui.number}/attachments", data={"attach-file": (io.BytesIO(PDF), "金水区核查.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    att = fresh(db, case).attachments[0]
    erqi = Browser(app, world.user("officer", "410103"))
    assert "金水区核查.pdf" not in erqi.page(f"/cases/{case.number}")
    assert erqi.get(f"/orders/{jinshui.number}").status_code == 404
    assert erqi.get(f"/attachments/{att.public_id}").status_code == 404
    assert "金水区核查.pdf" in city.page(f"/cases/{case.number}")
    assert city.get(f"/attachments/{att.public_id}").status_code == 200


def test_every_shape_of_the_access_rule_selects_the_same_rows(app, db, world, handled, monkeypatch):
    """ROW (EXISTS), SET and INDEX (a narrow scope's sets and id arrays) and TOKENS (the cases' search tokens)
    select the cases and orders EXISTS selects at every scope, for every unit of the tree."""
    from caseflow.cases import access
    from caseflow.models import Case, Role, Unit, User

    case, order, _ = handled
    submit(db, schools=("4141000003",))  # a case of another county: each unit must keep it out or in alike

    def selected(user, shape) -> tuple[list[int], list[int]]:
        return (sorted(db.session.scalars(access.visible_cases(user, shape=shape).with_only_columns(Case.id))),
                sorted(db.session.scalars(access.visible_orders(user, shape=shape).with_only_columns(Order.id))))

    units = list(db.session.scalars(sa.select(Unit).order_by(Unit.path)))
    with monkeypatch.context() as m:
        m.setattr(access, "_NARROW", frozenset())  # every scope as EXISTS: the reference
        reference = {unit.code: selected(User(role=Role.OFFICER, unit=unit), access.ROW) for unit in units}
    narrow_seeing = 0
    for unit in units:
        user = User(role=Role.OFFICER, unit=unit)
        for shape in (access.ROW, access.SET, access.INDEX, access.TOKENS):
            assert selected(user, shape) == reference[unit.code], (unit.code, shape)
        narrow_seeing += unit.kind in access._NARROW and bool(reference[unit.code][0])
        # An order goes to a unit directly below its issuer: whoever sees an order sees its case (the orders'
        # name search looks among those cases alone).
        cases_of_orders = set(db.session.scalars(sa.select(Order.case_id).where(Order.id.in_(reference[unit.code][1]))))
        assert cases_of_orders <= set(reference[unit.code][0]), unit.code
    # The school the order went to sees the case through the order alone, and its county through the case.
    assert reference["4141000001"] == ([case.id], [order.id])
    assert case.id in reference["410105"][0]
    db.session.rollback()
    assert narrow_seeing >= 3, "too few counties and schools see a case for the comparison to mean anything"
