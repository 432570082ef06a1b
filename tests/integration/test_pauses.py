"""Clock pauses (中止计时) and the return review's deadline, against the real scan and the fixed calendar.

The order of ``signed_order`` is sent and signed on Monday 2026-09-28 and due on Saturday 2026-10-10 (a
make-up working day after the National Day holiday, 10-01 to 10-07); 10-11 is a Sunday.
"""
from datetime import date

import pytest
import time_machine

from caseflow.cases import operations as ops
from caseflow.cases import tracking
from caseflow.deadlines.settings import current_rules, save_settings
from caseflow.errors import IllegalTransition, InvalidInput, NotAllowed
from caseflow.models import CaseEvent, ChaseStep, ExtensionState, OrderState, PauseReason, Verdict
from tests.factories import submit
from tests.integration.test_chase import _scan_on, signed_order  # noqa: F401 - the fixture

SCHOOL, DISTRICT = "4141000001", "410105"


def _at(moment: str):
    return time_machine.travel(f"{moment} +0800", tick=False)


def _pause(world, db, order, *, on: str, reason=PauseReason.AWAITING_COMPLAINANT):
    with _at(f"{on} 09:00"):
        pause = ops.request_pause(world.user("officer", SCHOOL), order, reason, "请家长提供转学证明")
        ops.decide_pause(world.user("supervisor", DISTRICT), pause, True)
        db.session.commit()
    return pause


def _steps(db):
    return list(db.session.scalars(db.select(ChaseStep).order_by(ChaseStep.id)))


def test_a_pause_of_three_working_days_moves_the_deadline_by_three_and_nothing_is_chased(world, db, signed_order):  # noqa: F811
    order = signed_order
    pause = _pause(world, db, order, on="2026-09-30")
    assert order.state is OrderState.PAUSED and pause.ends_by == current_rules().after(date(2026, 9, 30),
                                                                                       "pause_max_days").on
    # The day before the old deadline (a reminder was due) and the old deadline itself: nothing is chased.
    assert _scan_on("2026-10-09") == {} and _scan_on("2026-10-10") == {}
    assert _steps(db) == []
    # Resumed on the make-up Saturday 10-10: paused (09-30, 10-10] = 10-08, 10-09, 10-10 across the holiday.
    with _at("2026-10-10 10:00"):
        days = ops.resume_order(world.user("officer", SCHOOL), order)
        db.session.commit()
    assert days == 3 and pause.workdays == 3 and order.paused_workdays == 3
    assert order.state is OrderState.SIGNED
    assert order.due_on == date(2026, 10, 14) == current_rules().calendar.add(date(2026, 10, 10), 3).on
    notes = [e.note for e in db.session.scalars(db.select(CaseEvent).where(CaseEvent.order_id == order.id))]
    assert any("中止3个工作日" in (n or "") and "2026年10月14日" in (n or "") for n in notes)
    # The deadline moved over the Sunday by 3 working days (10-12, 10-13, 10-14); the chase runs on it.
    assert _scan_on("2026-10-11") == {}
    assert _scan_on("2026-10-13") == {"complete_remind": 1}
    assert [s.due_on for s in _steps(db)] == [date(2026, 10, 14)]
    # Reported on the moved deadline: on time, and the stage's working days leave the pause out.
    with _at("2026-10-14 16:00"):
        ops.report_order(world.user("officer", SCHOOL), order, text="已核实", verdict=Verdict.TRUE)
        db.session.commit()
    assert order.completed_on_time is True
    assert order.complete_workdays == current_rules().calendar.count(date(2026, 9, 28), date(2026, 10, 14)) - 3


def test_an_expired_pause_restarts_the_clock_by_the_scan(world, db, signed_order):  # noqa: F811
    order = signed_order
    save_settings(None, {"pause_max_days": 3})
    db.session.commit()
    pause = _pause(world, db, order, on="2026-09-30", reason=PauseReason.OTHER_AUTHORITY)
    assert pause.ends_by == date(2026, 10, 10)
    assert _scan_on("2026-10-09") == {} and order.state is OrderState.PAUSED
    assert _scan_on("2026-10-10") == {"pause_resumed": 1}
    db.session.refresh(order)
    assert order.state is OrderState.SIGNED and order.due_on == date(2026, 10, 14)
    assert pause.ended_by_id is None and pause.workdays == 3
    event = db.session.scalars(db.select(CaseEvent).where(CaseEvent.order_id == order.id,
                                                          CaseEvent.action == "order_resume")).one()
    assert event.actor_id is None and "中止计时期满，自动恢复计时" in event.note
    assert _scan_on("2026-10-10") == {}  # once


def test_a_late_scan_never_lengthens_a_pause_past_its_maximum(world, db, signed_order):  # noqa: F811
    order = signed_order
    save_settings(None, {"pause_max_days": 2})
    db.session.commit()
    _pause(world, db, order, on="2026-09-30")  # ends by 10-09 (10-08, 10-09)
    assert _scan_on("2026-10-12") == {"pause_resumed": 1, "complete_remind": 1}
    db.session.refresh(order)
    assert order.paused_workdays == 2 and order.due_on == date(2026, 10, 13)


def test_pause_requests_are_checked_and_decided_by_the_issuer(world, db, signed_order):  # noqa: F811
    order = signed_order
    school, district = world.user("officer", SCHOOL), world.user("supervisor", DISTRICT)
    with pytest.raises(InvalidInput) as missing:
        ops.request_pause(school, order, None)
    assert missing.value.field == "reason"
    with pytest.raises(InvalidInput) as bare_other:
        ops.request_pause(school, order, PauseReason.OTHER, "  ")
    assert bare_other.value.field == "detail"
    pause = ops.request_pause(school, order, PauseReason.OTHER, "等待公安户籍认定")
    db.session.commit()
    with pytest.raises(IllegalTransition):  # one request at a time
        ops.request_pause(school, order, PauseReason.AWAITING_COMPLAINANT)
    with pytest.raises(NotAllowed):  # the receiver does not approve its own pause
        ops.decide_pause(school, pause, True)
    db.session.rollback()
    due = order.due_on
    ops.decide_pause(district, pause, False, "请按期办理")
    db.session.commit()
    assert pause.state is ExtensionState.REFUSED and order.state is OrderState.SIGNED and order.due_on == due
    with pytest.raises(IllegalTransition):  # nothing to resume
        ops.resume_order(district, order)


def test_only_a_signed_order_may_be_paused(world, db):
    case, _ = submit(db)
    sup = world.user("supervisor", DISTRICT)
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit(SCHOOL)])
    db.session.commit()
    with pytest.raises(IllegalTransition):
        ops.request_pause(world.user("officer", SCHOOL), order, PauseReason.AWAITING_COMPLAINANT)


def test_the_tracking_page_says_why_in_public_words(world, db, signed_order):  # noqa: F811
    order = signed_order
    _pause(world, db, order, on="2026-09-30")
    progress = tracking.progress(order.case)
    assert progress.paused == tracking.PAUSE_PUBLIC[PauseReason.AWAITING_COMPLAINANT]
    assert "等待您补充材料" in progress.paused and "转学证明" not in progress.paused  # never the unit's note
    assert progress.due_on is None  # no running deadline to show
    with _at("2026-10-09 09:00"):
        ops.resume_order(world.user("supervisor", DISTRICT), order)
        db.session.commit()
    assert tracking.progress(order.case).paused is None


def test_a_pending_return_is_chased_at_its_reviewer(world, db):
    with _at("2026-09-28 10:00"):
        case, _ = submit(db)
        sup = world.user("supervisor", DISTRICT)
        ops.accept_case(sup, case)
        (order,) = ops.issue_verification(sup, case, [world.unit(SCHOOL)])
        ops.return_order(world.user("officer", SCHOOL), order, "不是本校学生")
        db.session.commit()
    assert order.review_due_on == date(2026, 9, 29)
    assert _scan_on("2026-09-28") == {"review_remind": 1}
    assert _scan_on("2026-09-30") == {"review_overdue": 1}
    remind, overdue = _steps(db)
    assert remind.target_unit.code == overdue.target_unit.code == DISTRICT
    assert "审核退回申请" in remind.reason and overdue.deadline == "review"
    # Nothing of the receiver's is chased meanwhile, and a decided return is no longer chased.
    with _at("2026-09-30 11:00"):
        ops.refuse_return(sup, order, "学籍在本校")
        db.session.commit()
    assert order.state is OrderState.SENT and order.review_due_on is None
    assert _scan_on("2026-10-09") == {"sign_overdue": 1, "complete_remind": 1}
