"""Dashboard figures and the monthly report, checked against a hand-computed fixture."""
import io
from datetime import date

import pytest
import time_machine
from openpyxl import load_workbook

from caseflow.cases import operations as ops
from caseflow.chase.report import get_or_generate, render_pdf, render_xlsx
from caseflow.chase.scan import run_scan
from caseflow.chase.stats import dashboard, monthly_rows
from caseflow.models import CaseState, Rating, Verdict
from tests.factories import submit


def _at(when):
    return time_machine.travel(f"{when} +0800", tick=False)


def _closed_case(world, db, school, *, late=False, rating=None):
    """A case about ``school`` taken through one verification order to closing in October 2026."""
    county = world.unit(school).parent
    sup, off = world.user("supervisor", county.code), world.user("officer", school)
    with _at("2026-10-12 09:00"):
        case, _ = submit(db, schools=(school,))
        ops.accept_case(sup, case)
        (order,) = ops.issue_verification(sup, case, [world.unit(school)])  # sign by 10-13, due 10-19
        db.session.commit()
    with _at("2026-10-20 10:00" if late else "2026-10-13 10:00"):
        ops.sign_order(off, order)
        ops.report_order(off, order, text="经核实情况属实。", verdict=Verdict.TRUE)
        ops.accept_report(sup, order)
        ops.close_case(sup, case, "已处理。")
        db.session.commit()
    if rating:
        with _at("2026-10-21 10:00"):
            ops.rate_case(case, rating, "意见" if rating is Rating.UNSATISFIED else None)
            db.session.commit()
    return case, order


@pytest.fixture
def october(world, db):
    """Jinshui: 2 cases (1 late, ratings 满意 + 不满意); Erqi: 1 case on time, 基本满意; Luoyang: 1 open."""
    _closed_case(world, db, "4141000001", rating=Rating.SATISFIED)
    _closed_case(world, db, "4141000002", late=True, rating=Rating.UNSATISFIED)
    _closed_case(world, db, "4141000003", rating=Rating.BASICALLY)
    with _at("2026-10-12 09:00"):
        case, _ = submit(db, schools=("4141000004",))
        db.session.commit()
    with _at("2026-10-22 08:00"):
        run_scan()  # the Luoyang case missed its 3-day deadline (10-15): overdue and escalated
        db.session.commit()
    return case


def test_monthly_report_rows_by_city_and_county(world, db, october):
    rows = {r.code: r for r in monthly_rows(world.unit("410000"), "2026-10")}
    zz, ly = rows["410100"], rows["410300"]
    assert (zz.received, zz.closed, zz.on_time) == (3, 3, 2)
    assert (zz.satisfaction.hits, zz.satisfaction.total) == (2, 3)
    assert (ly.received, ly.closed, ly.overdue, ly.escalated) == (1, 0, 1, 1)
    county_rows = {r.code: r for r in monthly_rows(world.unit("410100"), "2026-10")}
    assert county_rows["410105"].received == 2 and county_rows["410103"].received == 1
    assert county_rows["410105"].satisfaction.percent == "50.0%"


def test_monthly_report_is_frozen_and_its_xlsx_adds_up(world, db, october, tmp_path):
    with _at("2026-11-02 09:00"):
        report = get_or_generate(world.unit("410100"), "2026-10")
        db.session.commit()
    wb = load_workbook(io.BytesIO(render_xlsx(report)))
    ws = wb.active
    header = [c.value for c in ws[2]]
    assert header[:2] == ["单位", "受理投诉数"]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    *units, total = body
    assert total[0] == "合计"
    for col in range(1, 6):
        assert total[col] == sum(u[col] for u in units)
    assert total[1] == 3
    # A later case in October's data range cannot change the stored report.
    with _at("2026-10-30 09:00"):
        submit(db, schools=("4141000001",))
    with _at("2026-11-03 09:00"):
        again = get_or_generate(world.unit("410100"), "2026-10")
    assert again.id == report.id and again.data["total"]["received"] == 3
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF")


def test_dashboard_matches_hand_computed_figures(world, db, october):
    with _at("2026-10-30 09:00"):
        d = dashboard(world.unit("410100"), since=date(2026, 10, 1))
    assert d.state_counts[CaseState.CLOSED] == 2  # the unsatisfied case was reopened
    assert d.state_counts[CaseState.REGISTERED] == 1
    assert (d.sign_rate.hits, d.sign_rate.total) == (2, 3)  # the late one signed after 10-13
    assert (d.completion_rate.hits, d.completion_rate.total) == (2, 3)
    assert (d.satisfaction_rate.hits, d.satisfaction_rate.total) == (2, 3)
    assert d.stage_days["sign"] == pytest.approx((1 + 1 + 6) / 3)  # 10-12 → 10-13 twice, → 10-20
    province = dashboard(world.unit("410000"), since=date(2026, 10, 1), today=date(2026, 10, 30))
    assert province.overdue_by_unit == []  # no open order is overdue; the Luoyang lateness is the case's own
    assert len(province.trend) == 12 and province.trend[-1]["month"] == "2026-10"
    assert province.trend[-1]["received"] == 4


def test_report_cli(world, db, october, app, tmp_path):
    out = tmp_path / "r.xlsx"
    with _at("2026-11-02 09:00"):
        result = app.test_cli_runner().invoke(
            args=["report", "monthly", "--unit", "410000", "--month", "2026-10", "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out).active["A1"].value.startswith("河南省教育厅")
    bad = app.test_cli_runner().invoke(
        args=["report", "monthly", "--unit", "410000", "--month", "2026-13", "-o", str(out)])
    assert bad.exit_code != 0


def test_reports_are_generated_on_the_first_working_day_only(world, db, october):
    from caseflow.chase.report import generate_due_reports
    from caseflow.models import MonthlyReport

    with _at("2026-11-02 01:30"):  # 11-01 is a Sunday: Monday 11-02 is the first working day
        assert generate_due_reports(date(2026, 11, 3)) == 0
        created = generate_due_reports(date(2026, 11, 2))
        db.session.commit()
    assert created == db.session.scalar(db.select(db.func.count(MonthlyReport.id))) > 0
    with _at("2026-11-02 02:30"):
        assert generate_due_reports(date(2026, 11, 2)) == 0  # already there: nothing twice
