"""List exports (issue 16): the filtered list the user sees, as CSV and XLSX, masked unless revealed."""
from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa
from openpyxl import load_workbook

from caseflow.cases import operations
from caseflow.models import AuditEntry
from tests.factories import add_unit, make_id_number, submit
from tests.web.staff_support import Browser
from tests.web.test_staff_pages import issue, rows

HYPERLINK = '=HYPERLINK("http://evil.example/","点我")'


def read_csv(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def read_xlsx(resp) -> list[list]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    book = load_workbook(io.BytesIO(resp.get_data()))
    return [[c.value for c in row] for row in book.worksheets[0].iter_rows()]


def _hostile_case(db, world):
    """A case about a school named "@SUM(1)" whose complainant is called like a formula."""
    school = add_unit(db, "4141000009", "@SUM(1)", "school", world.unit("410105"))
    db.session.commit()
    case, _ = submit(db, schools=(school.code,))
    case.complainant.name = HYPERLINK  # as another channel (an import, an upper authority) may bring it
    db.session.commit()
    return case


def test_case_list_exports_as_csv_and_xlsx_with_the_rows_masked_and_formulas_neutralised(app, db, world):
    hostile = _hostile_case(db, world)
    other, _ = submit(db, schools=("4141000003",))  # 二七区: not visible to 金水区
    mine, _ = submit(db)
    sup = Browser(app, world.user("supervisor", "410105"))
    shown = rows(sup.page("/cases"), "XJ")
    assert set(shown) == {hostile.number, mine.number} and other.number not in shown

    table = read_csv(sup.get("/cases/export.csv"))
    assert table[0][:4] == ["投诉编号", "问题类别", "状态", "投诉人"]
    assert [r[0] for r in table[1:]] == shown  # the same rows, in the page's order
    row = {r[0]: r for r in table[1:]}[hostile.number]
    assert row[3] == "'" + HYPERLINK and row[7] == "'@SUM(1)"
    student_id = make_id_number("410105", date(2015, 3, 8), 123)
    assert row[4] == "138****5678" and row[6] == student_id[:6] + "********" + student_id[-4:]
    assert row[8] == "金水区教育局"

    sheet = read_xlsx(sup.get("/cases/export.xlsx"))
    assert sheet[0] == table[0]
    assert [r[0] for r in sheet[1:]] == shown
    xrow = {r[0]: r for r in sheet[1:]}[hostile.number]
    assert xrow[3] == "'" + HYPERLINK and xrow[7] == "'@SUM(1)" and xrow[4] == "138****5678"


def test_filters_of_the_page_apply_to_the_export(app, db, world):
    orders = issue(db, world, 2)
    waiting, _ = submit(db)
    sup = Browser(app, world.user("supervisor", "410105"))
    table = read_csv(sup.get("/cases/export.csv?state=submitted"))
    assert [r[0] for r in table[1:]] == [waiting.number]
    assert rows(sup.page("/cases?state=submitted"), "XJ") == [waiting.number]
    table = read_csv(sup.get(f"/cases/export.csv?number={orders[0].case.number}"))
    assert [r[0] for r in table[1:]] == [orders[0].case.number]


def test_inbox_and_order_exports_hold_the_listed_orders_only(app, db, world):
    jinshui = issue(db, world, 2)
    case, _ = submit(db, schools=("4141000003",))
    operations.accept_case(world.user("supervisor", "410103"), case)
    (erqi,) = operations.issue_verification(world.user("supervisor", "410103"), case, [world.unit("4141000003")])
    db.session.commit()
    officer = Browser(app, world.user("officer", "4141000001"))
    inbox = rows(officer.page("/inbox"), "HC")
    assert set(inbox) == {o.number for o in jinshui}
    table = read_csv(officer.get("/inbox/export.csv"))
    assert [r[0] for r in table[1:]] == inbox
    assert table[1][2] in {o.case.number for o in jinshui} and table[1][-1] == "否"
    sheet = read_xlsx(officer.get("/orders/export.xlsx"))
    assert {r[0] for r in sheet[1:]} == {o.number for o in jinshui}
    assert erqi.number not in {r[0] for r in sheet[1:]}


def test_a_user_cannot_export_what_they_cannot_see(app, db, world):
    issue(db, world, 2)
    luoyang = Browser(app, world.user("supervisor", "410300"))
    assert read_csv(luoyang.get("/cases/export.csv"))[1:] == []
    assert read_xlsx(luoyang.get("/orders/export.xlsx"))[1:] == []
    other_school = Browser(app, world.user("officer", "4141000002"))
    assert read_csv(other_school.get("/inbox/export.csv"))[1:] == []
    admin = Browser(app, world.user("admin", "410000"))
    assert admin.get("/cases/export.csv").status_code == 403
    assert Browser(app).get("/cases/export.csv").status_code in (302, 401, 403)


def test_full_export_shows_complete_numbers_and_every_export_is_audited(app, db, world):
    case, _ = submit(db)
    sup = Browser(app, world.user("supervisor", "410105"))
    masked = read_csv(sup.get("/cases/export.csv?state=submitted"))
    full = read_csv(sup.get("/cases/export.csv?state=submitted&full=1"))
    assert masked[1][4] == "138****5678" and full[1][4] == "13812345678"
    assert full[1][6] == case.student.id_number and "*" in masked[1][6]
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.target_type, e.target_ref) for e in entries] == [
        ("export", "case_list", "cases"), ("export_full", "case_list", "cases")]
    assert entries[1].detail == "共1行；筛选：state=submitted"
    assert entries[1].user_id == world.user("supervisor", "410105").id


def test_list_pages_link_their_exports_with_their_filters_and_the_inbox_selects_orders(app, db, world):
    (order,) = issue(db, world, 1)
    officer = Browser(app, world.user("officer", "4141000001"))
    html = officer.page("/inbox?kind=verification&sort=number&page=1")
    assert 'href="/inbox/export.xlsx?kind=verification&amp;sort=number"' in html
    assert 'href="/inbox/export.csv?kind=verification&amp;sort=number&amp;full=1"' in html
    assert f'name="orders" value="{order.number}"' in html  # the lists' bulk bar (staff/_list.html)
    assert 'formaction="/orders/bulk/sign"' in html
    sup = Browser(app, world.user("supervisor", "410105"))
    assert 'href="/cases/export.csv?state=verifying"' in sup.page("/cases?state=verifying")
