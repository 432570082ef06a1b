"""The dashboard's and the monthly report's figures on a fixture where each one is known by hand.

Written before the dashboard was rewritten to aggregate in SQL, and run against both versions:
the figures must not change.  The fixture spans two months and every level of the tree
(a city's own school, two counties of a city, a second city, a province-administered county).
"""
from datetime import date

import pytest
import time_machine

from caseflow.cases import operations as ops
from caseflow.chase.scan import run_scan
from caseflow.chase.stats import Rate, dashboard, monthly_rows, totals
from caseflow.models import CaseState, Rating, Verdict
from tests.factories import submit


def _at(when):
    return time_machine.travel(f"{when} +0800", tick=False)


def _case(world, db, school, *, day, done=None, close=True, rating=None, rated=None):
    """A case about ``school`` received on ``day`` 09:00 with one verification order, worked on ``done``."""
    unit = world.unit(school).parent
    sup, off = world.user("supervisor", unit.code), world.user("officer", school)
    with _at(f"{day} 09:00"):
        case, _ = submit(db, schools=(school,))
        ops.accept_case(sup, case)
        (order,) = ops.issue_verification(sup, case, [world.unit(school)])
        db.session.commit()
    if done:
        with _at(f"{done} 10:00"):
            ops.sign_order(off, order)
            ops.report_order(off, order, text="经核实情况属实。", verdict=Verdict.TRUE)
            ops.accept_report(sup, order)
            if close:
                ops.close_case(sup, case, "已处理。")
            db.session.commit()
    if rating:
        with _at(f"{rated} 10:00"):
            ops.rate_case(case, rating, "意见" if rating is Rating.UNSATISFIED else None)
            db.session.commit()
    return case, order


@pytest.fixture
def figures(world, db):
    """Every kind of fact, in September and October 2026 (calendar: 10-01..10-08 National Day holiday).

    - A (郑州市直属实验中学, city's own, 410100): received 09-14, signed, reported and closed 09-15, 满意 09-16.
    - B (金水一小, 410105): received 10-12, all on time 10-13 (1 working day), closed, 满意 10-21.
    - C (金水二小, 410105): received 10-12, signed and reported 10-20 (late: sign by 10-13, due 10-19;
      6 working days), closed, 不满意 10-21 (reopened: state registered again, with a new action deadline).
    - D (二七实验小学, 410103): received 10-12, all on time 10-13, closed, 基本满意 10-21.
    - E (西工一中, 410303 under 洛阳): submitted 10-12, never accepted: its own 3-day deadline (10-15) passes.
    - F (巩义一中, 410181, province-administered): received 10-12, verification order never signed
      (sign by 10-13, complete by 10-19): an overdue open order; its case is in verification.
    - G (金水一小, 410105): received 09-28, signed and reported 10-09: signed late (by 09-29), completed on
      time (due 10-10, a make-up Saturday); 4 working days (09-29, 09-30, 10-08, 10-09); the decision (due 10-15, 5 working days) never comes.
    The scan runs on 10-22: E and G are overdue and escalated (their own action), F's order too.
    """
    _case(world, db, "4141000006", day="2026-09-14", done="2026-09-15", rating=Rating.SATISFIED, rated="2026-09-16")
    _case(world, db, "4141000001", day="2026-10-12", done="2026-10-13", rating=Rating.SATISFIED, rated="2026-10-21")
    _case(world, db, "4141000002", day="2026-10-12", done="2026-10-20", rating=Rating.UNSATISFIED,
          rated="2026-10-21")
    _case(world, db, "4141000003", day="2026-10-12", done="2026-10-13", rating=Rating.BASICALLY, rated="2026-10-21")
    with _at("2026-10-12 09:00"):
        submit(db, schools=("4141000004",))
    _case(world, db, "4141000005", day="2026-10-12")
    _case(world, db, "4141000001", day="2026-09-28", done="2026-10-09", close=False)
    with _at("2026-10-22 08:00"):
        run_scan()
        db.session.commit()


def _row(rows, code):
    r = {x.code: x for x in rows}[code]
    return (r.received, r.closed, r.on_time, r.overdue, r.escalated, r.satisfaction.hits, r.satisfaction.total)


def test_monthly_rows_known_by_hand(world, db, figures):
    province = monthly_rows(world.unit("410000"), "2026-10")
    #                                  recv closed on_time overdue escalated sat rated
    assert _row(province, "410000") == (0, 0, 0, 0, 0, 0, 0)
    assert _row(province, "410100") == (3, 3, 3, 1, 1, 2, 3)  # B C D closed; B D G on time (C late); G undecided
    assert _row(province, "410300") == (1, 0, 0, 1, 1, 0, 0)  # E: its own action, overdue and escalated
    assert _row(province, "410181") == (1, 0, 0, 1, 1, 0, 0)  # F: the order to 巩义一中
    assert [r.code for r in province] == ["410000", "410100", "410181", "410300"]
    assert totals(province).received == 5
    september = monthly_rows(world.unit("410000"), "2026-09")
    assert _row(september, "410100") == (2, 1, 1, 0, 0, 1, 1)  # A and G received; A closed and rated
    city = monthly_rows(world.unit("410100"), "2026-10")
    assert _row(city, "410100") == (0, 0, 0, 0, 0, 0, 0)
    assert _row(city, "410105") == (2, 2, 2, 1, 1, 1, 2)  # B C; on time B and G (reported 10-09); G undecided
    assert _row(city, "410103") == (1, 1, 1, 0, 0, 1, 1)
    assert _row(city, "4141000006") == (0, 0, 0, 0, 0, 0, 0)  # the city's own school
    city_sept = monthly_rows(world.unit("410100"), "2026-09")
    assert _row(city_sept, "410100") == (1, 1, 0, 0, 0, 1, 1)  # A is the city's own case
    assert _row(city_sept, "4141000006") == (0, 0, 1, 0, 0, 0, 0)  # A's order went to the school
    county = monthly_rows(world.unit("410105"), "2026-10")
    assert _row(county, "410105") == (2, 2, 0, 1, 1, 1, 2)
    assert _row(county, "4141000001") == (0, 0, 2, 0, 0, 0, 0)  # B and G's orders
    assert _row(county, "4141000002") == (0, 0, 0, 0, 0, 0, 0)  # C's order was late


def test_dashboard_known_by_hand(world, db, figures):
    today = date(2026, 10, 30)
    with _at("2026-10-30 09:00"):
        d = dashboard(world.unit("410000"), since=date(2026, 9, 1), today=today)
    counts = {s: n for s, n in d.state_counts.items() if n}
    assert counts == {CaseState.CLOSED: 3, CaseState.REGISTERED: 1, CaseState.SUBMITTED: 1,
                      CaseState.VERIFYING: 1, CaseState.DECIDING: 1}
    assert (d.sign_rate.hits, d.sign_rate.total) == (3, 5)  # A B D on time; C and G late; F unsigned
    assert (d.completion_rate.hits, d.completion_rate.total) == (4, 5)  # C late
    assert (d.satisfaction_rate.hits, d.satisfaction_rate.total) == (3, 4)
    # Working days: A 09-14→09-15: 1; B, D 10-12→10-13: 1; C 10-12→10-20: 6; G 09-28→10-09: 4.
    assert d.stage_days["sign"] == pytest.approx((1 + 1 + 6 + 1 + 4) / 5)
    assert d.stage_days["verify"] == pytest.approx((1 + 1 + 6 + 1 + 4) / 5)
    assert d.stage_days["handle"] is None
    assert d.stage_days["close"] == pytest.approx((1 + 1 + 6 + 1) / 4)
    assert [(u.code if u else None, name, n) for u, name, n in d.overdue_by_unit] == [("410181", "巩义市教育局", 1)]
    assert [t["month"] for t in d.trend[-2:]] == ["2026-09", "2026-10"]
    assert d.trend[-2] == {"month": "2026-09", "received": 2, "closed": 1, "completion": 1.0, "satisfaction": 1.0,
                           "withdrawn": 0}
    assert d.trend[-1] == {"month": "2026-10", "received": 5, "closed": 3, "completion": 0.75,
                           "satisfaction": pytest.approx(2 / 3), "withdrawn": 0}
    assert all(t["received"] == 0 for t in d.trend[:-2])

    with _at("2026-10-30 09:00"):
        city = dashboard(world.unit("410100"), since=date(2026, 9, 1), today=today)
    assert {s: n for s, n in city.state_counts.items() if n} == {CaseState.CLOSED: 3, CaseState.REGISTERED: 1,
                                                                CaseState.DECIDING: 1}
    assert (city.sign_rate.hits, city.sign_rate.total) == (3, 5)
    assert city.overdue_by_unit == []
    with _at("2026-10-30 09:00"):
        county = dashboard(world.unit("410105"), since=date(2026, 10, 1), today=today)
    assert (county.sign_rate.hits, county.sign_rate.total) == (1, 2)  # G was sent in September
    assert (county.satisfaction_rate.hits, county.satisfaction_rate.total) == (1, 2)
    assert county.stage_days["close"] == pytest.approx((1 + 6) / 2)
    assert county.trend[-1]["received"] == 2



def test_a_repeat_comes_from_the_cache_and_a_change_is_seen_at_once(world, db, figures):
    import sqlalchemy as sa

    from caseflow.models import Order, OrderState

    statements = []

    def count(*args):
        statements.append(args[2])

    province, today = world.unit("410000"), date(2026, 10, 30)
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with _at("2026-10-30 09:00"):
            first = dashboard(province, since=date(2026, 9, 1), today=today)
            computed = len(statements)
            statements.clear()
            again = dashboard(province, since=date(2026, 9, 1), today=today)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 3 < computed  # the version, the child units (and nothing else)
    assert again.trend == first.trend and again.sign_rate == first.sign_rate == Rate(3, 5)
    assert [(r.code, r.overdue_orders) for r in again.now] == [(r.code, r.overdue_orders) for r in first.now]
    # F's order is signed (late): the very next request counts it.
    order = db.session.scalars(sa.select(Order).where(Order.state == OrderState.SENT)).one()
    with _at("2026-10-30 10:00"):
        ops.sign_order(world.user("officer", "4141000005"), order)
        db.session.commit()
        after = dashboard(province, since=date(2026, 9, 1), today=today)
    assert after.sign_rate == Rate(3, 6)
    assert after.stage_days["sign"] == pytest.approx((1 + 1 + 6 + 1 + 4 + 14) / 6)  # 10-12 → 10-30: 14 days


@pytest.mark.parametrize("per_case_limit", [10_000, -1], ids=["each case asked", "as sets"])
def test_the_now_figures_count_what_the_lists_filters_find(world, db, figures, monkeypatch, per_case_limit):
    """A province's late and escalated cases are counted as sets (late_cases, escalated_cases), a county's by
    asking each case; the lists ask each case (case_overdue, escalated): the same cases every way, per unit,
    on the fixture and days around it."""
    import sqlalchemy as sa
    from sqlalchemy.orm import aliased

    from caseflow.chase import stats
    from caseflow.chase.queries import escalated
    from caseflow.chase.stats import by_unit_now
    from caseflow.deadlines import status
    from caseflow.models import Case, Order

    monkeypatch.setattr(stats, "PER_CASE_LIMIT", per_case_limit)
    for day in (date(2026, 10, 14), date(2026, 10, 20), date(2026, 10, 30)):
        now = {r.code: (r.overdue_cases, r.escalated) for r in by_unit_now(world.unit("410000"), day)}
        asked = {}
        for code in now:
            unit = world.unit(code)
            within = Case.responsible_unit_id.in_(
                sa.select(type(unit).id).where(type(unit).path.startswith(unit.path)))
            if code == "410000":
                within = Case.responsible_unit_id == unit.id
            late = db.session.scalar(sa.select(sa.func.count()).where(
                within, Case.state.not_in(CaseState.FINISHED), status.case_overdue(Case, aliased(Order), day)))
            up = db.session.scalar(sa.select(sa.func.count()).where(within, escalated(Case)))
            asked[code] = (late, up)
        assert now == asked, day
        assert sum(late for late, _ in now.values()) >= (1 if day >= date(2026, 10, 20) else 0)
