"""The lists' search and filters (/cases, /orders, /inbox): the URL contract of ``ListFilters``."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from caseflow.cases import operations
from caseflow.cases.operations import PersonData
from caseflow.cases.queries import ListFilters
from caseflow.models import Category, ChaseStep, SavedFilter, Sex
from caseflow.timeutil import local_today, utcnow
from tests.factories import make_id_number, submit
from tests.web.staff_support import Browser

pytestmark = pytest.mark.postgres


def rows(html: str, prefix: str = "XJ") -> list[str]:
    """The case or order numbers linked in a list, in page order."""
    return re.findall(rf'<td><a href="/(?:orders|cases)/({prefix}\d{{4}}-\d{{6}})">', html)


def person(name: str, *, born: date, seq: int, phone: str | None = None, registry: bool = False) -> PersonData:
    number = make_id_number("410105", born, seq)
    return PersonData(name=name, sex=Sex.MALE if seq % 2 else Sex.FEMALE, age=10, ethnicity="汉族", id_number=number,
                      phone=phone, registry_no=("G" + number) if registry else None)


@pytest.fixture
def scene(db, world):
    """Three cases in 郑州市: A (金水区一小), B (金水区二小, transfer), C (二七区, transfer, received 40 days ago)."""
    a, _ = submit(db, schools=("4141000001",),
                  complainant=person("欧阳明", born=date(1985, 1, 2), seq=311, phone="13900000001"),
                  student=person("李小龙", born=date(2015, 3, 8), seq=123, registry=True))
    b, _ = submit(db, schools=("4141000002",), category=Category.TRANSFER,
                  complainant=person("王芳", born=date(1986, 2, 3), seq=422, phone="13900000002"),
                  student=person("张三丰", born=date(2014, 4, 9), seq=235))
    c, _ = submit(db, schools=("4141000003",), category=Category.TRANSFER,
                  complainant=person("赵", born=date(1987, 3, 4), seq=533, phone="13900000003"),
                  student=person("王", born=date(2013, 5, 10), seq=346))
    c.received_at = utcnow() - timedelta(days=40)
    db.session.commit()
    return a, b, c


@pytest.fixture(params=[(5_000, 100_000), (0, 100_000), (5_000, 0)],
                ids=["ids as a literal array", "ids as one value", "people left in the database"])
def people_ids(request, monkeypatch):
    """Every way the matching people reach the list's statements (``queries._LITERAL_IDS``, ``_PEOPLE_IN_HAND``)."""
    from caseflow.cases import queries

    monkeypatch.setattr(queries, "_LITERAL_IDS", request.param[0])
    monkeypatch.setattr(queries, "_PEOPLE_IN_HAND", request.param[1])


def test_each_filter_alone_and_combined(app, db, world, scene, people_ids):
    a, b, c = scene
    city = Browser(app, world.user("supervisor", "410100"))

    def found(query: str) -> set[str]:
        return set(rows(city.page(f"/cases?{query}")))

    everything = {a.number, b.number, c.number}
    assert found("") == everything
    # Names: three characters, two, one (the search tokens with the scope); complainant or student.
    assert found("q=欧阳明") == {a.number}
    assert found("q=张三丰") == {b.number}
    assert found("q=小龙") == {a.number}
    assert found("q=王") == {b.number, c.number}
    assert found("q=赵") == {c.number}
    assert found("q=没有这人") == set()
    assert found("q=芳张") == set()  # one case's characters, but in no one name in a row
    assert found("q=芳王") == set()
    # Exact identifiers through the keyed hashes, typed as people type them.
    assert found(f"q={a.complainant.id_number.lower()}") == {a.number}
    assert found(f"q={a.student.id_number}") == {a.number}
    assert found(f"q=G{a.student.id_number}") == {a.number}
    assert found("q=139 0000 0002") == {b.number}
    assert found("q=13900000004") == set()
    # Case numbers: exact or prefix, never a substring from the middle.
    assert found(f"q={b.number}") == {b.number}
    assert found(f"q={b.number[:-1]}") >= {b.number}
    assert found(f"q={b.number[-6:]}") == set()
    # School (code or name), unit subtree, category, state, received dates.
    assert found("school=4141000002") == {b.number}
    assert found("school=金水区第二") == {b.number}
    assert found("school=小学") == everything
    assert found("unit=410103") == {c.number}
    assert found("unit=410105") == {a.number, b.number}
    assert found("unit=410100") == everything
    assert found("category=transfer") == {b.number, c.number}
    operations.accept_case(world.user("supervisor", "410105"), a)
    db.session.commit()
    assert found("state=registered") == {a.number}
    assert found("state=submitted") == {b.number, c.number}
    today = local_today()
    assert found(f"to={(today - timedelta(days=30)).isoformat()}") == {c.number}
    assert found(f"from={(today - timedelta(days=1)).isoformat()}&to={today.isoformat()}") == {a.number, b.number}
    # Deadlines: overdue, due today, escalated (the chase's 督办 still waiting).
    b.action_due_on, c.action_due_on = today - timedelta(days=3), today
    db.session.add(ChaseStep(subject=f"case:{b.id}", step="escalate", deadline="action", due_on=b.action_due_on,
                             case_id=b.id, target_unit_id=world.unit("410100").id, reason="逾期提请上级督办"))
    db.session.commit()
    assert found("overdue=1") == {b.number}
    assert found("due_today=1") == {c.number}
    assert found("escalated=1") == {b.number}
    # Combined: every condition holds at once.
    assert found("category=transfer&unit=410105") == {b.number}
    assert found("category=transfer&q=王&state=submitted") == {b.number, c.number}
    assert found("category=transfer&q=王&overdue=1") == {b.number}
    assert found("q=王&unit=410103&school=二七区") == {c.number}
    assert found("q=王&unit=410105&category=unregistered") == set()


def test_a_name_is_found_through_search_tokens_that_follow_every_commit(app, db, world, scene):
    """On PostgreSQL a name and the user's scope are read together from each case's search tokens: they follow
    the case into a unit's reach and its anonymised people out of the search."""
    from caseflow import retention
    from caseflow.cases import search_tokens

    a, b, _c = scene
    school = Browser(app, world.user("officer", "4141000001"))
    county = Browser(app, world.user("officer", "410105"))
    erqi = Browser(app, world.user("officer", "410103"))
    assert rows(county.page("/cases?q=欧阳")) == [a.number]
    assert rows(school.page("/cases?q=欧阳")) == []  # the county's, until an order goes to the school
    assert rows(erqi.page("/cases?q=欧阳")) == []
    # A verification order to 金水区一小 brings A within its reach, and into its searches; B stays out.
    supervisor = world.user("supervisor", "410105")
    operations.accept_case(supervisor, a)
    operations.issue_verification(supervisor, a, [world.unit("4141000001")])
    db.session.commit()
    assert rows(school.page("/cases?q=欧阳")) == [a.number]
    assert rows(school.page("/cases?q=王")) == []
    assert rows(county.page("/cases?q=王")) == [b.number]
    # A person's name changed alone (the case untouched) moves the case's tokens with it.
    b.student.name = "张君宝"
    db.session.commit()
    assert rows(county.page("/cases?q=君宝")) == [b.number]
    assert rows(county.page("/cases?q=三丰")) == []
    # Anonymised, A's people are no longer found by their names, nor are their characters kept.
    retention.anonymise(a)
    db.session.commit()
    assert rows(county.page("/cases?q=欧阳")) == []
    assert rows(school.page("/cases?q=欧阳")) == []
    stored = db.session.scalar(sa.select(sa.text("search_tokens")).select_from(sa.text("cases"))
                               .where(sa.text("id = :id")).params(id=a.id))
    assert not set(search_tokens.name_tokens("欧阳明李小龙")) & set(stored)
    assert world.unit("4141000001").id in stored


def test_counts_per_state_are_filters_keeping_the_others(app, db, world, scene):
    a, b, c = scene
    operations.accept_case(world.user("supervisor", "410105"), a)
    db.session.commit()
    html = Browser(app, world.user("supervisor", "410100")).page("/cases?category=transfer")
    assert re.search(r'href="/cases\?category=transfer&amp;state=submitted"[^>]*>待受理 <b>2</b>', html)
    assert re.search(r'href="/cases\?category=transfer"[^>]*>全部 <b>2</b>', html)
    assert "已受理 <b>" not in html  # a state with nothing in it is not offered


def test_counts_above_the_cap_say_so(app, db, world, monkeypatch):
    from caseflow.cases import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    cases = [submit(db)[0] for _ in range(5)]
    operations.accept_case(world.user("supervisor", "410105"), cases[0])
    db.session.commit()
    county = Browser(app, world.user("supervisor", "410105"))
    html = county.page("/cases")
    assert "共 3+ 件" in html and "全部 <b>3+</b>" in html
    assert re.search(r'state=registered"[^>]*>已受理</a>', html)  # offered, but no partial number
    html = county.page("/cases?state=submitted")
    assert "共 3+ 件" in html
    html = county.page("/cases?state=registered")  # the chosen state is counted on its own
    assert "共 1 件" in html and rows(html) == [cases[0].number]


def test_id_number_and_phone_search_only_finds_what_the_user_may_see(app, db, world, scene, people_ids):
    a, b, _c = scene
    sup = world.user("supervisor", "410105")
    operations.accept_case(sup, a)
    (order,) = operations.issue_verification(sup, a, [world.unit("4141000001")], "核实学籍。")
    db.session.commit()
    for q in (a.complainant.id_number, "13900000001", a.student.id_number):
        for code, role, sees in (("410105", "supervisor", True), ("410000", "supervisor", True),
                                 ("4141000001", "officer", True), ("4141000002", "officer", False),
                                 ("410303", "supervisor", False), ("130102", "supervisor", False)):
            b_ = Browser(app, world.user(role, code))
            assert (a.number in rows(b_.page(f"/cases?q={q}"))) is sees, (q, code)
            assert (order.number in rows(b_.page(f"/orders?q={q}"), "HC")) is sees, (q, code)
    # The full numbers never appear in the rows, only their masks (the search box and links keep what was typed).
    html = Browser(app, world.user("supervisor", "410105")).page(f"/cases?q={a.complainant.id_number}")
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert a.complainant.id_number not in table and "13900000001" not in table and "139****0001" in table
    # A search for a person's number is not saved: the filter would keep the number in clear.
    resp = Browser(app, sup).post("/filters", data={"list": "cases", "name": "某人", "q": "13900000001"})
    assert resp.status_code == 302 and db.session.scalar(sa.select(sa.func.count()).select_from(SavedFilter)) == 0


def test_paging_keeps_the_filters_and_never_fails(app, db, world):
    for _ in range(23):
        submit(db, category=Category.TRANSFER)
    submit(db)
    county = Browser(app, world.user("supervisor", "410105"))
    html = county.page("/cases?category=transfer&q=张")
    assert len(rows(html)) == 20 and "共 23 件" in html
    assert 'href="/cases?q=%E5%BC%A0&amp;category=transfer&amp;page=2"' in html
    second = county.page("/cases?q=%E5%BC%A0&category=transfer&page=2")
    assert len(rows(second)) == 3 and "第 2 / 2 页" in second
    assert 'value="transfer" selected' in second and 'value="张"' in second
    # Past the end: the last page; nonsense: the first page and a message.
    assert rows(county.page("/cases?category=transfer&page=99999999")) == rows(second)
    first = county.page("/cases?category=transfer&page=abc")
    assert len(rows(first)) == 20 and "页码应为正整数" in first
    assert county.get("/cases?page=" + "9" * 40).status_code == 400  # no column holds it: refused at the edge


def test_bad_filter_values_are_explained_by_the_field(app, db, world, scene):
    county = Browser(app, world.user("supervisor", "410100"))
    for url, message in (("/cases?from=2026-13-01", "开始日期应为年-月-日"),
                         ("/cases?to=yesterday", "结束日期应为年-月-日"),
                         ("/cases?from=2026-12-05&to=2026-12-01", "结束日期不能早于开始日期"),
                         ("/cases?state=bogus", "没有这个状态"),
                         ("/orders?state=submitted", "没有这个状态"),
                         ("/orders?kind=bogus", "没有这个单据类型"),
                         ("/cases?category=bogus", "没有这个问题类别"),
                         ("/cases?unit=999999", "找不到代码为“999999”的单位"),
                         ("/cases?sort=bogus", "没有这种排序方式"),
                         ("/cases?q=" + "张" * 80, "搜索内容不能超过60个字")):
        resp = county.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert message in html and 'aria-invalid="true"' in html or "sort" in url, url
    # The other, valid filters still apply.
    assert set(rows(county.page("/cases?state=bogus&category=transfer"))) == {scene[1].number, scene[2].number}
    assert rows(county.page("/cases?unit=999999")) == []


def test_saved_filters_belong_to_their_user(app, db, world, scene):
    owner, other = world.user("supervisor", "410105"), world.user("supervisor", "410100")
    mine = Browser(app, owner)
    resp = mine.post("/filters", data={"list": "cases", "name": "金水区转学", "category": "transfer",
                                       "unit": "410105", "page": "3"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases?unit=410105&category=transfer"
    (saved,) = db.session.scalars(sa.select(SavedFilter)).all()
    assert (saved.user_id, saved.list, saved.name) == (owner.id, "cases", "金水区转学")
    assert 'href="/cases?unit=410105&amp;category=transfer">金水区转学</a>' in mine.page("/inbox")
    theirs = Browser(app, other)
    assert "金水区转学" not in theirs.page("/cases")
    # The same name again replaces it; another user may use the same name.
    mine.post("/filters", data={"list": "orders", "name": "金水区转学", "kind": "verification"})
    theirs.post("/filters", data={"list": "inbox", "name": "金水区转学", "overdue": "1"})
    db.session.expire_all()
    assert sorted((f.user_id, f.list, f.query) for f in db.session.scalars(sa.select(SavedFilter))) == sorted(
        [(owner.id, "orders", "kind=verification"), (other.id, "inbox", "overdue=1")])
    mine_id = db.session.scalars(sa.select(SavedFilter.id).where(SavedFilter.user_id == owner.id)).one()
    assert theirs.post("/filters/delete", data={"id": mine_id}).status_code == 404
    assert theirs.post("/filters/delete", data={"id": "x"}).status_code == 400
    assert mine.post("/filters", data={"list": "cases", "name": " "}).status_code == 302
    assert mine.post("/filters/delete", data={"id": mine_id, "next": "/orders"}).headers["Location"] == "/orders"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedFilter)) == 1


def test_inbox_counts_bar_rows_and_bulk_form(app, db, world):
    sup = world.user("supervisor", "410105")
    school = world.unit("4141000001")
    orders = []
    for _ in range(4):
        case, _ = submit(db)
        operations.accept_case(sup, case)
        orders += operations.issue_verification(sup, case, [school], "核实该生学籍注册情况。")
    db.session.commit()
    today = local_today()
    orders[0].due_on, orders[0].sign_due_on = today - timedelta(days=9), today - timedelta(days=12)
    orders[1].sign_due_on = today
    operations.sign_order(world.user("officer", "4141000001"), orders[3])
    db.session.commit()
    officer = Browser(app, world.user("officer", "4141000001"))
    html = officer.page("/inbox")
    assert re.search(r'href="/inbox\?overdue=1"[^>]*>逾期 <b>1</b>', html)
    assert re.search(r'href="/inbox\?due_today=1"[^>]*>今天到期 <b>1</b>', html)
    assert re.search(r'href="/inbox\?state=sent"[^>]*>待签收 <b>3</b>', html)
    assert re.search(r'>待审核 <b>0</b>', html) and re.search(r'>延期待批 <b>0</b>', html)
    # The most urgent first: the overdue one, then the one due today; a row carries the student and summary.
    assert rows(html, "HC")[:2] == [orders[0].number, orders[1].number]
    assert "张小明" in html and "核实该生学籍注册情况" in html and "已逾期" in html and "due-soon" in html
    assert rows(officer.page("/inbox?overdue=1"), "HC") == [orders[0].number]
    assert rows(officer.page("/inbox?due_today=1"), "HC") == [orders[1].number]
    # One checkbox a row inside the bulk form; the officer may sign in bulk, not remind.
    assert len(re.findall(r'<input type="checkbox" name="orders" value="HC', html)) == 4
    assert 'formaction="/orders/bulk/sign"' in html and "批量签收" in html
    assert "/orders/bulk/remind" not in html
    # The supervisor reminds from the list of the orders it issued (the overdue ones, say).
    html = Browser(app, sup).page("/orders?overdue=1")
    assert rows(html, "HC") == [orders[0].number] and 'name="orders" value="' + orders[0].number in html
    assert 'formaction="/orders/bulk/remind"' in html and "批量催办" in html and 'name="message"' in html


def test_orders_list_filters(app, db, world, scene):
    a, b, _c = scene
    sup = world.user("supervisor", "410105")
    for case in (a, b):
        operations.accept_case(sup, case)
    (first,) = operations.issue_verification(sup, a, [world.unit("4141000001")], "核实。")
    (second,) = operations.issue_verification(sup, b, [world.unit("4141000002")], "核实。")
    db.session.commit()
    city = Browser(app, world.user("supervisor", "410100"))
    assert set(rows(city.page("/orders"), "HC")) == {first.number, second.number}
    assert rows(city.page("/orders?unit=4141000002"), "HC") == [second.number]
    assert rows(city.page("/orders?q=张三丰"), "HC") == [second.number]
    assert rows(city.page(f"/orders?q={a.number}"), "HC") == [first.number]
    assert rows(city.page(f"/orders?q={first.number}"), "HC") == [first.number]
    assert rows(city.page("/orders?category=transfer&state=sent&kind=verification"), "HC") == [second.number]
    assert rows(city.page("/orders?kind=supervision"), "HC") == []
    # A school officer sees its own orders only.
    assert rows(Browser(app, world.user("officer", "4141000001")).page("/orders"), "HC") == [first.number]


def test_list_filters_round_trip_through_the_query_string():
    args = {"q": " 张  伟 ", "school": "4141000001", "unit": "410105", "category": "transfer", "state": "sent",
            "kind": "verification", "from": "2026-11-01", "to": "2026-11-30", "overdue": "1", "due_today": "y",
            "escalated": "on", "sort": "sent", "page": "2"}
    f = ListFilters.from_args(args, "orders")
    assert not f.errors and f.q == "张 伟" and f.received_to == date(2026, 11, 30)
    again = ListFilters.from_args(f.to_args(), "orders")
    assert again == f and again.to_args()["page"] == "2"
    assert ListFilters.from_args({}, "cases").to_args() == {}
    assert ListFilters.from_args({"kind": "verification", "state": "sent"}, "cases").errors == {"state": "没有这个状态"}
