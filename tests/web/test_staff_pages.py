"""The officials' lists, the unit chooser and the forms' error handling."""
from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.cases import operations
from caseflow.deadlines.settings import current_rules
from caseflow.models import Case, CaseState, Category, Order, OrderState
from caseflow.timeutil import local_today
from tests.conftest import TEST_PASSWORD
from tests.factories import submit
from tests.web.staff_support import Browser, fresh

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def issue(db, world, n: int = 1, school: str = "4141000001") -> list[Order]:
    """``n`` cases of 金水区, each with a verification order to ``school``."""
    sup = world.user("supervisor", "410105")
    orders = []
    for _ in range(n):
        case, _ = submit(db, schools=(school,))
        operations.accept_case(sup, case)
        orders += operations.issue_verification(sup, case, [world.unit(school)], "核实学籍。")
        db.session.commit()
    return orders


def rows(html: str, prefix: str) -> list[str]:
    """The order or case numbers linked in a list, in page order."""
    return re.findall(rf'<td><a href="/(?:orders|cases)/({prefix}\d{{4}}-\d{{6}})">', html)


@pytest.mark.parametrize(("role", "code", "target"), [
    ("officer", "410105", "/inbox"), ("supervisor", "410105", "/dashboard"), ("intake", "410105", "/intake/new"),
    ("officer", "4141000001", "/inbox"), ("admin", "410000", "/admin"),
])
def test_home_sends_each_role_to_its_work(app, client, world, role, code, target):
    """/staff and the log-in itself send each role where its work is: a supervisor to the dashboard."""
    resp = Browser(app, world.user(role, code)).get("/staff")
    assert resp.status_code == 302 and resp.headers["Location"] == target
    resp = client.post("/login", data={"username": world.user(role, code).username, "password": TEST_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == target


def test_nav_marks_the_current_area_and_offers_the_password_change(app, world):
    for role, code in (("officer", "410105"), ("supervisor", "410105"), ("intake", "410105"), ("admin", "410000")):
        html = Browser(app, world.user(role, code)).page("/account/password")
        assert '<a href="/account/password" aria-current="page">修改密码</a>' in html, role
    html = Browser(app, world.user("supervisor", "410105")).page("/cases?state=closed")
    assert '<a href="/cases" aria-current="page">投诉</a>' in html
    assert '<a href="/inbox">待办</a>' in html


def test_nav_links_by_role(app, world):
    html = Browser(app, world.user("supervisor", "410105")).page("/cases")
    assert all(f'href="{p}"' in html for p in ("/inbox", "/cases", "/intake/new", "/registry/lookup"))
    html = Browser(app, world.user("officer", "4141000001")).page("/inbox")
    assert 'href="/intake/new"' not in html and 'href="/registry/lookup"' in html
    html = Browser(app, world.user("intake", "410105")).page("/cases")
    assert 'href="/inbox"' not in html and 'href="/intake/new"' in html
    assert Browser(app, world.user("intake", "410105")).get("/inbox").status_code == 403


def test_inbox_overdue_first_filters_sort_and_pages(app, db, world):
    orders = issue(db, world, 22)
    # Two orders were sent long ago: they are overdue and come first, the older first.
    today = local_today()
    late, later = orders[5], orders[9]
    for order, days in ((late, 20), (later, 10)):
        order.due_on, order.sign_due_on = today - timedelta(days=days), today - timedelta(days=days + 4)
    db.session.commit()
    school = Browser(app, world.user("officer", "4141000001"))
    html = school.page("/inbox")
    first = rows(html, "HC")
    assert first[:2] == [late.number, later.number] and len(first) == 22  # the inbox pages by 50
    assert "共 22 项" in html and "is-overdue" in html and "已逾期" in html
    assert rows(school.page("/inbox?page=2"), "HC") == first  # past the end: the last page
    assert rows(school.page("/inbox?overdue=y"), "HC") == [late.number, later.number]
    numbers = rows(school.page("/inbox?sort=number"), "HC")
    assert numbers == sorted(numbers)
    assert rows(school.page("/inbox?sort=sent"), "HC")[0] == orders[-1].number
    assert rows(school.page("/inbox?kind=supervision"), "HC") == []
    assert len(rows(school.page("/inbox?state=sent&kind=verification"), "HC")) == 22
    assert rows(school.page("/inbox?state=signed"), "HC") == []
    # Nonsense in the query string is set aside with a message, never an error page.
    assert len(rows(school.page("/inbox?state=bogus&sort=bogus&page=x"), "HC")) == 22


def test_inbox_shows_reports_and_extensions_to_the_issuer(app, db, world):
    first, second = issue(db, world, 2)
    school = world.user("officer", "4141000001")
    for order in (first, second):
        operations.sign_order(school, order)
    operations.report_order(school, first, text="已核实。", verdict=operations.Verdict.TRUE)
    operations.request_extension(school, second, current_rules().after(second.due_on, "sign_days").on, "需要时间。")
    db.session.commit()
    html = Browser(app, world.user("supervisor", "410105")).page("/inbox")
    assert first.number in html and "待审核" in html
    assert second.number in html and "待审批延期申请" in html
    # The county's officer does not review orders its supervisor issued at the top of a chain.
    html = Browser(app, world.user("officer", "410105")).page("/inbox")
    assert first.number not in html


def test_case_list_filters_sort_counts_and_pages(app, db, world):
    issue(db, world, 2)
    other, _ = submit(db, schools=("4141000002",), category=Category.TRANSFER)
    city_case, _ = submit(db, schools=("4141000001", "4141000003"))
    late, _ = submit(db)
    late.action_due_on = local_today() - timedelta(days=3)
    db.session.commit()
    sup = Browser(app, world.user("supervisor", "410105"))
    html = sup.page("/cases?mine=1")
    assert city_case.number not in html and other.number in html
    assert "待受理 <b>2</b>" in html and "核查中 <b>2</b>" in html
    assert rows(sup.page("/cases?state=verifying"), "XJ") == rows(sup.page("/cases?mine=1&state=verifying"), "XJ")
    assert rows(sup.page("/cases?category=transfer"), "XJ") == [other.number]
    assert rows(sup.page("/cases?overdue=y"), "XJ") == [late.number]
    assert rows(sup.page(f"/cases?q={other.number}"), "XJ") == [other.number]
    assert rows(sup.page("/cases?number=%25"), "XJ") == []
    numbers = rows(sup.page("/cases?sort=number"), "XJ")
    assert numbers == sorted(numbers) and len(numbers) == 4
    assert rows(sup.page("/cases?sort=due"), "XJ")[0] == late.number
    # The city sees its own case and the districts' cases below it.
    assert len(rows(Browser(app, world.user("supervisor", "410100")).page("/cases"), "XJ")) == 5


def test_case_list_pages(app, db, world):
    for _ in range(21):
        submit(db)
    sup = Browser(app, world.user("intake", "410105"))
    assert len(rows(sup.page("/cases"), "XJ")) == 20
    assert len(rows(sup.page("/cases?page=2"), "XJ")) == 1


def test_unit_search_json(app, world):
    b = Browser(app, world.user("supervisor", "410100"))

    def search(query):
        resp = b.get("/units/search?" + query)
        assert resp.status_code == 200 and resp.mimetype == "application/json"
        return [u["code"] for u in json.loads(resp.data)]

    assert search("q=金水区") == ["410105", "4141000001", "4141000002"]
    assert search("q=4103") == ["410300", "410303"]
    assert search("q=&children_of=410100") == ["410103", "410105", "4141000006"]
    assert search("q=小学&under=410105") == ["4141000001", "4141000002"]
    assert search("q=教育局&bureaus=1&under=410300") == ["410300", "410303"]
    assert search("q=%25") == [] and search("q=_") == []
    assert search("q=x&children_of=999999") == []
    assert len(search("q=")) == 18
    assert Browser(app).get("/units/search?q=金水").status_code == 302  # log-in required


def test_unit_search_at_most_twenty(app, db, world):
    from tests.factories import add_unit

    parent = world.unit("410105")
    for i in range(25):
        add_unit(db, f"41410009{i:02d}", f"金水区测试学校{i}", "school", parent)
    db.session.commit()
    resp = Browser(app, world.user("officer", "410105")).get("/units/search?q=测试学校")
    assert len(json.loads(resp.data)) == 20


def test_no_js_unit_chooser_offers_matches_to_choose(app, db, world):
    # A city case relayed by the county: the county chooses among its schools by name.
    case, _ = submit(db, schools=("4141000001", "4141000003"))
    city = world.user("supervisor", "410100")
    operations.accept_case(city, case)
    (root,) = operations.issue_verification(city, case, [world.unit("410105")], "核实。")
    operations.sign_order(world.user("officer", "410105"), root)
    db.session.commit()
    county = Browser(app, world.user("officer", "410105"))
    resp = county.post(f"/orders/{root.number}/relay", data={"relay-version": fresh(db, root).version_id,
                                                             "relay-unit_text": "小学", "relay-note": "请核实。"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "有2个单位与“小学”相符" in html and "请核实。" in html
    assert 'value="4141000001"' in html and 'value="4141000002"' in html
    county.act(f"/orders/{root.number}/relay", "relay", fresh(db, root).version_id, unit="4141000002",
               note="请核实。")
    assert fresh(db, root).children[0].receiving_unit.code == "4141000002"


def test_uploads_checked_and_attached_to_order(app, db, world):
    (order,) = issue(db, world, 1)
    school = Browser(app, world.user("officer", "4141000001"))
    resp = school.post(f"/orders/{order.number}/attachments",
                       data={"attach-file": (io.BytesIO(b"just text"), "说明.txt")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "不是PDF、JPG或PNG文件" in resp.get_data(as_text=True)
    resp = school.post(f"/orders/{order.number}/attachments",
                       data={"attach-file": (io.BytesIO(PDF), "核查材料.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    order = fresh(db, order)
    (att,) = order.case.attachments
    assert att.order_id == order.id and att.uploaded_by_id == world.user("officer", "4141000001").id
    assert "核查材料.pdf" in school.page(f"/orders/{order.number}")
    assert "核查材料.pdf" in school.page(f"/cases/{order.case.number}")


def test_transfer_up_and_refer(app, db, world):
    case, _ = submit(db)
    county = Browser(app, world.user("supervisor", "410105"))
    resp = county.post(f"/cases/{case.number}/transfer", data={"transfer-version": case.version_id,
                                                               "transfer-unit_text": "4141000001",
                                                               "transfer-reason": "涉及市直属学校。"})
    assert resp.status_code == 400 and "找不到与“4141000001”相符的单位" in resp.get_data(as_text=True)
    page = county.page(f"/cases/{case.number}")
    assert "郑州市教育局（410100）" in page  # the parent bureau is offered
    county.act(f"/cases/{case.number}/transfer", "transfer", case.version_id, unit="410100",
               reason="涉及市直属学校。")
    case = fresh(db, case)
    assert case.responsible_unit.code == "410100" and case.state is CaseState.SUBMITTED
    assert "由金水区教育局转办" in case.routing_note
    # 金水区 no longer sees it; the city decides, and refers it up.
    assert county.get(f"/cases/{case.number}").status_code == 404
    city = Browser(app, world.user("supervisor", "410100"))
    city.act(f"/cases/{case.number}/refer", "refer", case.version_id, note="涉及外省学籍，报省厅协调。")
    assert fresh(db, case).state is CaseState.REFERRED


def test_supervision_needs_a_direct_child(app, db, world):
    (order,) = issue(db, world, 1)
    school = world.user("officer", "4141000001")
    operations.sign_order(school, order)
    operations.report_order(school, order, text="属实。", verdict=operations.Verdict.TRUE)
    operations.accept_report(world.user("supervisor", "410105"), order)
    db.session.commit()
    case = fresh(db, order).case
    assert case.state is CaseState.DECIDING
    sup = Browser(app, world.user("supervisor", "410105"))
    resp = sup.post(f"/cases/{case.number}/supervise", data={
        "supervise-version": case.version_id, "supervise-unit_text": "二七区实验小学",
        "supervise-content": "学籍未注册。", "supervise-opinion": "请学校立即注册。"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "须为金水区教育局的直属下级单位" in html and "请学校立即注册。" in html
    resp = sup.post(f"/cases/{case.number}/supervise", data={
        "supervise-version": case.version_id, "supervise-unit": "4141000001", "supervise-content": "学籍未注册。",
        "supervise-opinion": ""})
    assert resp.status_code == 400 and "请填写办理意见" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 1
    assert db.session.get(Case, case.id).state is CaseState.DECIDING


def test_action_forms_carry_working_csrf_tokens(app, db, world):
    (order,) = issue(db, world, 1)
    school = Browser(app, world.user("officer", "4141000001"))
    app.config["WTF_CSRF_ENABLED"] = True
    html = school.page(f"/orders/{order.number}")
    token = re.search(r'name="sign-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = {"sign-acting_person": "李老师", "sign-version": order.version_id}
    assert school.post(f"/orders/{order.number}/sign", data=data).status_code == 400
    assert fresh(db, order).state is OrderState.SENT
    assert school.post(f"/orders/{order.number}/sign", data={**data, "sign-csrf_token": token}).status_code == 302
    assert fresh(db, order).state is OrderState.SIGNED
    # The reveal buttons carry the token too.
    html = school.page(f"/cases/{order.case.number}")
    assert re.search(r'name="csrf_token" value="[^"]+"', html)


def test_the_inbox_reads_a_page_in_the_same_statements_however_many_rows(app, db, world):
    """Each row's task (签收 / 办理 / 待审核下级报送) comes with the page: no statement per row."""
    officer = Browser(app, world.user("officer", "4141000001"))

    def statements_of_inbox() -> tuple[int, str]:
        seen: list[str] = []

        def count(*args):
            seen.append(args[2])
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            html = officer.page("/inbox")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen), html

    issue(db, world, 2)
    few, html = statements_of_inbox()
    assert html.count("待签收") >= 2
    issue(db, world, 5)
    many, html = statements_of_inbox()
    assert html.count("待签收") >= 7
    assert many == few
