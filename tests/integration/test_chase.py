"""Deadlines that chase themselves: reminder → overdue → escalation, exactly once each."""
import subprocess
import sys
from datetime import date, timedelta

import pytest
import time_machine

from caseflow.cases import operations as ops
from caseflow.chase.scan import run_scan
from caseflow.extensions import db
from caseflow.models import CaseEvent, ChaseStep, Notification
from tests.factories import submit


def _steps(db, **filters):
    query = db.select(ChaseStep).order_by(ChaseStep.id)
    for key, value in filters.items():
        query = query.where(getattr(ChaseStep, key) == value)
    return list(db.session.scalars(query))


def _scan_on(day: str) -> dict:
    with time_machine.travel(f"{day} 08:00 +0800", tick=False):
        counts = run_scan()
        db.session.commit()
        return counts


def _issue_to_school(world, db):
    """A web complaint about school 4141000001, accepted, with a verification order to the school."""
    case, _ = submit(db)
    sup = world.user("supervisor", "410105")
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")])
    db.session.commit()
    return order


@pytest.fixture
def signed_order(world, db):
    """A verification order from 金水区 to a school, sent Monday 2026-09-28 and signed the same day."""
    with time_machine.travel("2026-09-28 10:00 +0800", tick=False):
        order = _issue_to_school(world, db)
        ops.sign_order(world.user("officer", "4141000001"), order)
        db.session.commit()
    assert order.due_on == date(2026, 10, 10)  # across National Day, ending on a make-up Saturday
    return order


def test_reminder_overdue_escalation_across_holiday_and_make_up_day(world, db, signed_order):
    order = signed_order
    assert _scan_on("2026-09-30").get("complete_remind") is None
    # The last working day before the make-up Saturday: 催办 to the school.
    assert _scan_on("2026-10-09")["complete_remind"] == 1
    assert _scan_on("2026-10-09") == {}  # nothing twice
    (remind,) = _steps(db, step="remind")
    assert remind.target_unit.code == "4141000001" and "2026年10月10日" in remind.reason
    school_officer = world.user("officer", "4141000001")
    assert db.session.scalar(db.select(db.func.count(Notification.id))
                             .where(Notification.user_id == school_officer.id)) == 1

    assert _scan_on("2026-10-10") == {}  # due today (a working Saturday): not yet overdue
    assert _scan_on("2026-10-11") == {"complete_overdue": 1}  # Sunday: the due date has passed
    (overdue,) = _steps(db, step="overdue")
    assert overdue.target_unit.code == "410105"  # the issuer is told
    assert _scan_on("2026-10-12") == {}  # 1 working day overdue: not yet escalated
    assert _scan_on("2026-10-13") == {"complete_escalate": 1}  # 2 working days overdue
    (escalation,) = _steps(db, step="escalate")
    assert escalation.target_unit.code == "410100"  # the unit above the responsible unit
    assert "提请上级督办" in escalation.reason
    city_sup = world.user("supervisor", "410100")
    assert db.session.scalar(db.select(Notification.id).where(Notification.user_id == city_sup.id))
    actions = [e.action for e in db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.case_id == order.case_id).order_by(CaseEvent.id))]
    assert actions[-3:] == ["chase_remind", "chase_overdue", "chase_escalate"]
    assert _scan_on("2026-10-20") == {}


def test_extension_moves_the_deadline_and_restarts_the_chase(world, db, signed_order):
    order = signed_order
    assert _scan_on("2026-10-09")["complete_remind"] == 1
    with time_machine.travel("2026-10-09 11:00 +0800", tick=False):
        ext = ops.request_extension(world.user("officer", "4141000001"), order, date(2026, 10, 16), "需走访核实")
        ops.decide_extension(world.user("supervisor", "410105"), ext, True)
        db.session.commit()
    assert order.chase_level == 0
    assert _scan_on("2026-10-12") == {}  # the old deadline no longer counts
    assert _scan_on("2026-10-15") == {"complete_remind": 1}
    assert [s.due_on for s in _steps(db, step="remind")] == [date(2026, 10, 10), date(2026, 10, 16)]


def test_sign_deadline_is_chased_too(world, db):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        _issue_to_school(world, db)
    assert _scan_on("2026-11-23") == {"sign_remind": 1}
    assert _scan_on("2026-11-25") == {"sign_overdue": 1}


def test_case_action_deadline(world, db):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        submit(db)
    # 3 working days to send verification orders: due 11-26.
    assert _scan_on("2026-11-25") == {"action_remind": 1}
    assert _scan_on("2026-11-27") == {"action_overdue": 1}
    assert _scan_on("2026-12-01") == {"action_escalate": 1}


@pytest.mark.postgres
@pytest.mark.redis
def test_two_workers_scanning_at_once_notify_exactly_once(world, db, rq_app):
    """Real worker processes, each running scan jobs concurrently, on real overdue data."""
    from caseflow.jobs import queue, tasks

    today = date.today()
    for _ in range(3):
        order = _issue_to_school(world, db)
        order.sign_due_on = order.due_on = today - timedelta(days=20)  # long overdue
        db.session.commit()
    q = queue()
    for _ in range(6):
        q.enqueue(tasks.scheduled_scan)
    cmd = [sys.executable, "-m", "flask", "--app", "caseflow", "worker", "--burst"]
    import os

    env = dict(os.environ, REDIS_URL=rq_app.config["REDIS_URL"])
    workers = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for w in workers:
        _out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err.decode()[-2000:]
    db.session.expire_all()
    steps = _steps(db)
    kinds = sorted((s.subject, s.step, s.deadline) for s in steps)
    assert len(kinds) == len(set(kinds))
    # Per order: sign overdue, complete overdue, complete escalate; per case the action chase ended at issue.
    assert sum(1 for s in steps if s.order_id) == 9
    notes = db.session.scalars(db.select(Notification)).all()
    assert len({(n.user_id, n.chase_step_id) for n in notes}) == len(notes)


def test_email_reaches_a_real_smtp_server(world, db, app):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        officer = world.user("officer", "4141000001")
        officer.email = "teacher@school.example"
        db.session.commit()
        with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
            _issue_to_school(world, db)
        _scan_on("2026-11-23")  # sign reminder → in-app + email (jobs in-process)
    finally:
        controller.stop()
    assert [e.rcpt_tos for e in received] == [["teacher@school.example"]]
    assert "催办".encode() in received[0].content or b"=?utf-8?" in received[0].content
    note = db.session.scalars(db.select(Notification).where(Notification.user_id == officer.id)).one()
    assert note.email_state == "sent"


@pytest.mark.postgres
@pytest.mark.redis
def test_the_chase_through_a_real_worker_across_the_holiday(world, db, rq_app, signed_order, run_worker):
    """The same walk as above, each scan a job run by a real RQ worker process on the scan date."""
    from caseflow.jobs import queue, tasks

    expected = {"2026-10-09": {"complete_remind": 1}, "2026-10-10": {}, "2026-10-11": {"complete_overdue": 1},
                "2026-10-12": {}, "2026-10-13": {"complete_escalate": 1}}
    jobs_by_day = {day: queue().enqueue(tasks.scheduled_scan, day) for day in expected}
    run_worker()  # one worker process takes the queued scans in order
    for day, counts in expected.items():
        assert jobs_by_day[day].return_value() == counts, day
    db.session.expire_all()
    assert [s.step for s in _steps(db)] == ["remind", "overdue", "escalate"]
    assert _steps(db, step="escalate")[0].target_unit.code == "410100"
