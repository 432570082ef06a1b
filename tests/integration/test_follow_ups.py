"""Follow-up calls (回访) and the three rates, against a hand-computed fixture (issue 18)."""
from datetime import date

import pytest
import time_machine

from caseflow.cases import followups
from caseflow.cases import operations as ops
from caseflow.cases.followups import CallResult
from caseflow.chase import rates
from caseflow.chase.stats import three_rates, three_rates_rows
from caseflow.errors import IllegalTransition, InvalidInput, NotAllowed
from caseflow.models import (
    AuditEntry,
    CaseEvent,
    CaseSource,
    CaseState,
    FollowUpState,
    Rating,
    Resolution,
    Verdict,
)
from tests.factories import complaint_data, report_and_close

S, B, U = Rating.SATISFIED, Rating.BASICALLY, Rating.UNSATISFIED
SOLVED, PARTLY, UNSOLVED = Resolution.SOLVED, Resolution.PARTLY, Resolution.UNSOLVED


def _at(when):
    return time_machine.travel(f"{when} +0800", tick=False)


def closed_case(world, db, school, source=CaseSource.PHONE):
    """A case about ``school`` closed on Tuesday 2026-10-13 (online window to 10-15, call due 10-20)."""
    county = world.unit(school).parent
    sup, off = world.user("supervisor", county.code), world.user("officer", school)
    with _at("2026-10-12 09:00"):
        if source is CaseSource.WEB:
            case, _ = ops.submit_complaint(complaint_data((school,)))
            ops.accept_case(sup, case)
        else:
            case, _ = ops.submit_complaint(complaint_data((school,)), source=source,
                                           actor=world.user("intake", county.code))
        (order,) = ops.issue_verification(sup, case, [world.unit(school)])
        db.session.commit()
    with _at("2026-10-13 10:00"):
        report_and_close(db, off, sup, case, order, "已为学生办理学籍注册。")
    return case


def call(world, db, case, when, result, officer=None):
    officer = officer or world.user("officer", case.responsible_unit.code)
    with _at(when):
        ops.record_call(officer, followups.pending_for(case), result)
        db.session.commit()


def rate(db, case, when, rating, comment=None):
    with _at(when):
        ops.rate_case(case, rating, comment)
        db.session.commit()


def reached(resolution, rating, note=None):
    return CallResult(True, resolution, rating, note)


UNREACHED = CallResult(False, note="无人接听")


@pytest.fixture
def october(world, db):
    """Jinshui (410105): A, B rated online in time; C, D called (D late); E unreachable three times (invalid);
    F web, not rated, called and 不满意; G one unanswered call, still open. Erqi (410103): H called, 已解决 满意."""
    c = {}
    c["A"] = closed_case(world, db, "4141000001", CaseSource.WEB)
    rate(db, c["A"], "2026-10-14 09:00", S)
    c["B"] = closed_case(world, db, "4141000002", CaseSource.WEB)
    rate(db, c["B"], "2026-10-15 20:00", B)
    c["C"] = closed_case(world, db, "4141000001")
    call(world, db, c["C"], "2026-10-16 10:00", reached(SOLVED, S))
    c["D"] = closed_case(world, db, "4141000002", CaseSource.LETTER)
    call(world, db, c["D"], "2026-10-21 10:00", reached(PARTLY, B))
    c["E"] = closed_case(world, db, "4141000001")
    for day in ("2026-10-14", "2026-10-15", "2026-10-16"):
        call(world, db, c["E"], f"{day} 10:00", UNREACHED)
    c["F"] = closed_case(world, db, "4141000002", CaseSource.WEB)
    call(world, db, c["F"], "2026-10-19 10:00", reached(UNSOLVED, U, "学籍仍未注册。"))
    c["G"] = closed_case(world, db, "4141000001")
    call(world, db, c["G"], "2026-10-16 10:00", UNREACHED)
    c["H"] = closed_case(world, db, "4141000003")
    call(world, db, c["H"], "2026-10-16 11:00", reached(SOLVED, S))
    return c


def _pct(rate_value):
    return round(rate_value * 100, 1)


def test_the_three_rates_match_hand_computed_values_then_changed_weights(world, db, october):
    weights = rates.current_weights()
    assert weights == {"rate_weight_basically": 0.9, "rate_weight_partly": 0.0}
    rows = three_rates_rows(world.unit("410100"), "2026-10", weights)
    jinshui, erqi = rows["410105"], rows["410103"]
    # Jinshui: valid A B C D F = 5 (E invalid, G open); in time A B C F; solved A C, partly B D;
    # satisfied A C, basically B D.
    assert jinshui.counts == {"valid": 5, "in_time": 4, "solved": 2, "partly": 2, "satisfied": 2, "basically": 2}
    assert _pct(jinshui.response) == 80.0
    assert _pct(jinshui.resolution) == 40.0                       # 2 / 5
    assert _pct(jinshui.satisfaction) == 76.0                     # (2 + 0.9 × 2) / 5
    assert (_pct(erqi.response), _pct(erqi.resolution), _pct(erqi.satisfaction)) == (100.0, 100.0, 100.0)
    with _at("2026-10-30 09:00"):
        total, trend = three_rates(world.unit("410100"), date(2026, 10, 30), weights)
    assert total.counts["valid"] == 6 and trend[-1]["month"] == "2026-10" and trend[-1]["valid"] == 6
    assert _pct(total.response) == 83.3                           # 5 / 6
    assert _pct(total.resolution) == 50.0                         # 3 / 6
    assert _pct(total.satisfaction) == 80.0                       # (3 + 0.9 × 2) / 6

    # The administrator changes both weights once: 基本满意 0.5, 部分解决 0.5.
    rates.save_weights(world.user("admin", "410000"), {"rate_weight_basically": 0.5, "rate_weight_partly": 0.5})
    db.session.commit()
    weights = rates.current_weights()
    jinshui = three_rates_rows(world.unit("410100"), "2026-10", weights)["410105"]
    assert _pct(jinshui.resolution) == 60.0                       # (2 + 0.5 × 2) / 5
    assert _pct(jinshui.satisfaction) == 60.0                     # (2 + 0.5 × 2) / 5
    assert _pct(jinshui.response) == 80.0                         # no weight in it
    total, _ = three_rates(world.unit("410100"), date(2026, 10, 30), weights)
    assert _pct(total.resolution) == pytest.approx(66.7)          # (3 + 0.5 × 2) / 6
    assert _pct(total.satisfaction) == pytest.approx(66.7)
    assert ("满意率", "（满意 + 0.5 × 基本满意）÷ 有效回访数") in rates.definitions(weights)
    saved = db.session.scalars(db.select(AuditEntry).where(AuditEntry.target_ref == "rates")).one()
    assert "rate_weight_basically=0.5" in saved.detail


def test_bad_weights_are_refused_with_a_message(world, db):
    with pytest.raises(InvalidInput) as exc:
        rates.save_weights(None, {"rate_weight_basically": 1.5})
    assert exc.value.field == "rate_weight_basically" and "0到1" in exc.value.message


def test_an_online_rating_within_the_window_drops_the_call(world, db, october):
    a = october["A"]
    task = db.session.scalars(db.select(followups.FollowUp).where(followups.FollowUp.case_id == a.id)).one()
    assert task.state is FollowUpState.ONLINE and task.in_time and task.resolution is SOLVED
    assert task.rate_until == date(2026, 10, 15) and task.due_on == date(2026, 10, 20)
    actions = [e.action for e in a.events]
    assert actions[-2:] == ["rate", "follow_up_online"]
    # No call is listed for it; the open ones are G (phone, one failed call) only.
    due = followups.due_calls(world.unit("410105").id, date(2026, 10, 16))
    assert [t.case_id for t in due] == [october["G"].id]
    with pytest.raises(IllegalTransition):
        ops.record_call(world.user("officer", "410105"), task, reached(SOLVED, S))


def test_a_web_case_is_called_only_after_its_online_window(world, db):
    case = closed_case(world, db, "4141000001", CaseSource.WEB)
    task = followups.pending_for(case)
    officer = world.user("officer", "410105")
    with _at("2026-10-15 16:00"), pytest.raises(IllegalTransition) as exc:  # the window's last day
        ops.record_call(officer, task, reached(SOLVED, S))
    assert "在线评价的期限尚未届满" in exc.value.message
    assert followups.counts(officer.unit_id, date(2026, 10, 15)).waiting_online == 1
    assert followups.due_calls(officer.unit_id, date(2026, 10, 16))[0].id == task.id
    counts = followups.counts(officer.unit_id, date(2026, 10, 21))
    assert (counts.due, counts.overdue, counts.due_today, counts.waiting_online) == (1, 1, 0, 0)
    assert followups.deadline(task, date(2026, 10, 21)).text == "已逾期1个工作日"


def test_unsatisfied_on_the_call_reopens_the_case_as_online(world, db, october):
    f = october["F"]
    assert f.state is CaseState.REGISTERED and f.round == 2 and f.rating is None
    assert f.action_due_on is not None
    moves = [(e.action, e.actor_id is not None) for e in f.events][-3:]
    assert moves == [("follow_up_call", True), ("rate", True), ("reopen", True)]
    rate_event = f.events[-2]
    assert rate_event.value == "unsatisfied" and rate_event.note == "电话回访：不满意：学籍仍未注册。"
    task = db.session.scalars(db.select(followups.FollowUp).where(followups.FollowUp.case_id == f.id)).one()
    assert task.state is FollowUpState.CALLED and task.round == 1 and task.note == "学籍仍未注册。"
    # The same path as an online 不满意: a new round, the same reopen move and deadline.
    online = closed_case(world, db, "4141000002", CaseSource.WEB)
    rate(db, online, "2026-10-19 10:00", U, "没有解决。")
    assert (online.state, online.round, online.action_due_on) == (f.state, f.round, f.action_due_on)


def test_unanswered_calls_then_invalid(world, db, october):
    e = october["E"]
    task = db.session.scalars(db.select(followups.FollowUp).where(followups.FollowUp.case_id == e.id)).one()
    assert task.state is FollowUpState.INVALID and task.failed_calls == followups.MAX_FAILED_CALLS
    notes = [ev.note for ev in e.events if ev.action == "follow_up_call"]
    assert notes[0] == "回访电话未接通（第1次）：无人接听" and notes[-1].startswith("多次未接通，回访无效（第3次）")
    assert e.state is CaseState.CLOSED and e.rating is None


def test_who_may_call_and_what_a_call_needs(world, db):
    case = closed_case(world, db, "4141000003")
    task = followups.pending_for(case)
    with _at("2026-10-14 10:00"):
        with pytest.raises(NotAllowed):
            ops.record_call(world.user("officer", "410105"), task, reached(SOLVED, S))  # another county
        with pytest.raises(NotAllowed):
            ops.record_call(world.user("officer", "4141000003"), task, reached(SOLVED, S))  # the school
        with pytest.raises(InvalidInput) as exc:
            ops.record_call(world.user("officer", "410103"), task, CallResult(True, SOLVED, None))
        assert exc.value.field == "rating"
        with pytest.raises(InvalidInput) as exc:
            ops.record_call(world.user("officer", "410103"), task, reached(UNSOLVED, U))
        assert exc.value.field == "note"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "follow_up_call")) == 0


def test_a_reopened_case_closed_again_gets_a_new_follow_up(world, db, october):
    f = october["F"]
    sup = world.user("supervisor", "410105")
    with _at("2026-10-20 10:00"):
        (order,) = ops.issue_verification(sup, f, [world.unit("4141000002")])
        ops.sign_order(world.user("officer", "4141000002"), order)
        ops.report_order(world.user("officer", "4141000002"), order, text="已注册。", verdict=Verdict.TRUE)
        ops.accept_report(sup, order)
        ops.close_case(sup, f, "已注册学籍。")
        db.session.commit()
    task = followups.pending_for(f)
    assert task.round == 2 and task.rate_until == date(2026, 10, 22)


def test_the_monthly_report_shows_the_three_rates_in_html_xlsx_and_pdf(world, db, october, tmp_path):
    import io
    import subprocess

    from openpyxl import load_workbook

    from caseflow.chase.report import get_or_generate, render_html, render_pdf, render_xlsx

    with _at("2026-11-02 09:00"):
        report = get_or_generate(world.unit("410100"), "2026-10")
        db.session.commit()
    rows = {r["code"]: r for r in report.data["rows"]}
    assert (rows["410105"]["follow_ups"], rows["410105"]["response_rate"], rows["410105"]["resolution_rate"],
            rows["410105"]["follow_up_satisfaction"]) == (5, "80.0%", "40.0%", "76.0%")
    total = report.data["total"]
    assert (total["follow_ups"], total["response_rate"], total["resolution_rate"],
            total["follow_up_satisfaction"]) == (6, "83.3%", "50.0%", "80.0%")
    html = str(render_html(report))
    assert "响应率" in html and "（满意 + 0.9 × 基本满意）÷ 有效回访数" in html

    ws = load_workbook(io.BytesIO(render_xlsx(report))).active
    header = [c.value for c in ws[2]]
    body = {row[0].value: [c.value for c in row] for row in ws.iter_rows(min_row=3)}
    assert header[-4:] == ["有效回访数", "响应率", "解决率", "回访满意率"]
    assert body["金水区教育局"][-4:] == [5, "80.0%", "40.0%", "76.0%"]
    assert body["合计"][-4:] == [6, "83.3%", "50.0%", "80.0%"]

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(report))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "响应率" in text and "解决率" in text and "回访满意率" in text
    jinshui = next(line for line in text.splitlines() if "金水区教育局" in line)
    assert "80.0%" in jinshui and "40.0%" in jinshui and "76.0%" in jinshui
    assert "0.9 × 基本满意" in text


def test_the_dashboard_shows_the_rates_their_definitions_and_trend(client, world, db, october, login):
    with _at("2026-10-30 09:00"):
        login(world.user("supervisor", "410100"))
        page = client.get("/dashboard").get_data(as_text=True)
    assert "回访三率" in page and "83.3%" in page and "50.0%" in page and "80.0%" in page
    assert "（满意 + 0.9 × 基本满意）÷ 有效回访数" in page and "近12个月回访响应率、解决率与满意率" in page
    with _at("2026-10-30 09:05"):
        login(world.user("admin", "410000"))
        resp = client.post("/admin/settings/rates", data={"rate_weight_basically": "1.2", "rate_weight_partly": "0.5"})
        assert resp.status_code == 400 and "请填写0到1之间的数" in resp.get_data(as_text=True)
        assert 'value="0.5"' in resp.get_data(as_text=True)  # what was typed is kept
        resp = client.post("/admin/settings/rates", data={"rate_weight_basically": "0.5", "rate_weight_partly": "0.5"})
        assert resp.status_code == 302
        login(world.user("supervisor", "410100"))
        page = client.get("/dashboard").get_data(as_text=True)
    assert "66.7%" in page and "（已解决 + 0.5 × 部分解决）÷ 有效回访数" in page


def test_anonymising_a_case_removes_the_call_note_and_keeps_the_rates(world, db, october):
    from caseflow import retention

    d = october["D"]
    task = db.session.scalars(db.select(followups.FollowUp).where(followups.FollowUp.case_id == d.id)).one()
    task.note = "家长说学籍号是G410105201503081234"
    db.session.commit()
    before = three_rates_rows(world.unit("410100"), "2026-10", rates.current_weights())["410105"].counts
    retention.anonymise(d)
    db.session.commit()
    db.session.refresh(task)
    assert task.note is None and (task.resolution, task.rating) == (PARTLY, B)
    assert three_rates_rows(world.unit("410100"), "2026-10", rates.current_weights())["410105"].counts == before


def test_the_call_deadline_is_chased_like_the_others(world, db):
    from caseflow.chase.scan import run_scan
    from caseflow.chase.stats import monthly_rows
    from caseflow.models import ChaseStep, Notification

    owed = closed_case(world, db, "4141000001")  # due 10-20
    rated = closed_case(world, db, "4141000002", CaseSource.WEB)
    rate(db, rated, "2026-10-14 09:00", S)
    called = closed_case(world, db, "4141000001", CaseSource.LETTER)
    call(world, db, called, "2026-10-14 10:00", reached(SOLVED, S))
    task = followups.pending_for(owed)

    def steps():
        return [(s.step, s.deadline, s.target_unit_id, s.reason) for s in
                db.session.scalars(db.select(ChaseStep).where(ChaseStep.subject.like("follow_up:%"))
                                   .order_by(ChaseStep.id))]

    for day in ("2026-10-16", "2026-10-19", "2026-10-19", "2026-10-21", "2026-10-22"):
        with _at(f"{day} 08:00"):
            run_scan()
            db.session.commit()
        if day == "2026-10-16":
            assert steps() == []  # not due soon yet
    county = world.unit("410105").id
    assert steps() == [("remind", "action", county, f"投诉{owed.number}应于2026年10月20日前完成回访。"),
                       ("overdue", "action", county, f"投诉{owed.number}已超过回访时限2026年10月20日。")]
    db.session.refresh(task)
    assert task.chase_level == 2
    told = db.session.scalars(db.select(Notification.user_id).where(
        Notification.body.like(f"投诉{owed.number}已超过回访时限%"))).all()
    assert set(told) == {world.user("officer", "410105").id, world.user("supervisor", "410105").id}
    assert [e.action for e in owed.events][-2:] == ["chase_remind", "chase_overdue"]
    # A late call is the unit's own lateness on the follow-up, not a late order or case in the report.
    assert {r.code: r.overdue for r in monthly_rows(world.unit("410100"), "2026-10")}["410105"] == 0
