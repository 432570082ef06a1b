"""Receipt, tracking by number + access code (with the slow-down), the public timeline and the rating."""
from __future__ import annotations

import re

from caseflow.cases import operations as ops
from caseflow.extensions import db
from caseflow.models import Case, CaseState, Rating, ThrottleCounter, Verdict
from tests.factories import submit
from tests.web.formdata import valid_form


def _track(client, number, code, addr="203.0.113.7"):
    return client.post("/track", data={"number": number, "code": code}, environ_base={"REMOTE_ADDR": addr})


def test_receipt_shows_number_code_and_masked_data(client, world, db):
    client.post("/complaints/new", data=valid_form())
    html = client.get("/complaints/receipt").get_data(as_text=True)
    case = db.session.scalars(db.select(Case)).one()
    code = re.search(r'class="code-big access-code">([A-Z0-9-]+)<', html).group(1)
    assert case.number in html and "请妥善保存" in html
    assert "金水区教育局" in html and "3个工作日内" in html
    assert case.complainant.id_number not in html and case.complainant.phone not in html
    assert "138****5678" in html
    # The receipt's code opens the case; the browser that submitted already holds a grant.
    assert client.get(f"/track/{case.number}").status_code == 200
    other = client.application.test_client()
    assert _track(other, case.number, code.lower().replace("-", " ")).status_code == 302


def test_receipt_without_submission_redirects(client, world):
    assert client.get("/complaints/receipt").headers["Location"] == "/track"


def test_correct_code_grants_access_without_code_in_url(client, world, db):
    case, code = submit(db)
    assert client.get(f"/track/{case.number}").headers["Location"].startswith("/track?number=")
    resp = _track(client, case.number, code)
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/track/{case.number}"
    assert code not in resp.headers["Location"]
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    assert "待受理" in html and "金水区教育局" in html and "投诉已提交，等待受理" in html


def test_wrong_code_and_unknown_number_look_the_same(client, world, db):
    case, code = submit(db)
    wrong = _track(client, case.number, "AAAA-AAAA").get_data(as_text=True)
    unknown = _track(client, "XJ2026-999999", code, addr="198.51.100.1").get_data(as_text=True)
    message = "投诉编号或查询码不正确，请核对后重新输入。"
    assert message in wrong and message in unknown
    assert "待受理" not in wrong and "金水区教育局" not in wrong
    assert client.get(f"/track/{case.number}").status_code == 302  # still no grant
    # Only keyed hashes of the keys are stored.
    keys = db.session.scalars(db.select(ThrottleCounter.key)).all()
    assert keys and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    assert not any(case.number in k or "203.0.113" in k for k in keys)


def test_wrong_codes_from_other_clients_never_refuse_the_right_code(client, world, db):
    """Targeted lock-out: five (or fifty) wrong codes for a case from elsewhere do not stop its holder."""
    case, code = submit(db)
    for i in range(5):
        assert _track(client, case.number, "WRONG-CODE", addr=f"192.0.2.{i}").status_code == 200
    for _ in range(10):
        _track(client, case.number, "WRONG-CODE", addr="192.0.2.66")
    assert _track(client, case.number, code, addr="192.0.2.99").status_code == 302


def test_sixth_try_from_the_failing_client_waits_even_with_the_right_code(client, world, db):
    case, code = submit(db)
    for _ in range(5):
        assert _track(client, case.number, "WRONG-CODE", addr="192.0.2.7").status_code == 200
    resp = _track(client, case.number, code, addr="192.0.2.7")
    assert resp.status_code == 429
    assert re.search(r"请\d+分钟后再试", resp.get_data(as_text=True))
    assert client.get(f"/track/{case.number}").status_code == 302


def test_parallel_wrong_codes_are_counted_atomically(app, world, db):
    """40 wrong codes at once from one client: exactly 5 are checked, the other 35 wait."""
    import threading

    import pytest

    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs parallel connections")
    case, _ = submit(db)
    number, barrier, statuses = case.number, threading.Barrier(40), []

    def guess(i):
        c = app.test_client()
        barrier.wait()
        statuses.append(_track(c, number, f"WRONG-{i:04d}", addr="198.51.100.40").status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(statuses) == [200] * 5 + [429] * 35


def test_sixth_try_from_one_address_is_refused(client, world, db):
    case, code = submit(db)
    for i in range(5):
        _track(client, f"XJ2026-00010{i}", "WRONG-CODE", addr="192.0.2.50")
    assert _track(client, case.number, code, addr="192.0.2.50").status_code == 429
    assert _track(client, case.number, code, addr="192.0.2.51").status_code == 302


def test_empty_fields_are_asked_for(client, world):
    html = client.post("/track", data={"number": "", "code": ""}).get_data(as_text=True)
    assert '<div class="err" id="number-err">请填写投诉编号</div>' in html
    assert '<div class="err" id="code-err">请填写查询码</div>' in html


def _open(client, case, code):
    assert _track(client, case.number, code).status_code == 302


def _work_to_closed(world, case):
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    ops.accept_case(sup, case)
    [order] = ops.issue_verification(sup, case, [world.unit("4141000001")], "核实学籍注册情况")
    ops.sign_order(officer, order)
    ops.report_order(officer, order, text="经核实，学校承办人王某某未及时注册。", verdict=Verdict.TRUE)
    ops.accept_report(sup, order)
    ops.close_case(sup, case, "学校已为学生补办学籍注册。")
    db.session.commit()


def test_tracking_shows_public_events_only_without_officials(client, world, db):
    case, code = submit(db)
    _work_to_closed(world, case)
    _open(client, case, code)
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    for public in ("投诉已提交，等待受理", "投诉已受理", "已向有关单位下发核查单，正在核实",
                   "核查完毕，正在研究处理意见", "已办结"):
        assert public in html
    assert "学校已为学生补办学籍注册。" in html  # the reply
    for official in (world.user("supervisor", "410105"), world.user("officer", "4141000001")):
        assert official.name not in html and official.username not in html
    assert "王某某" not in html and "核实学籍注册情况" not in html  # notes and order contents stay inside
    assert case.complainant.phone not in html and "138****5678" in html


def test_rejection_reason_is_shown(client, world, db):
    case, code = submit(db)
    ops.reject_case(world.user("supervisor", "410105"), case, "不属于学籍问题，请向当地教育局招生办咨询。")
    db.session.commit()
    _open(client, case, code)
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    assert "不予受理" in html and "请向当地教育局招生办咨询" in html


def test_rating_satisfied(client, world, db):
    case, code = submit(db)
    _work_to_closed(world, case)
    _open(client, case, code)
    assert "您对办理结果是否满意" in client.get(f"/track/{case.number}").get_data(as_text=True)
    resp = client.post(f"/track/{case.number}/rate", data={"rating": "satisfied"})
    assert resp.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.rating is Rating.SATISFIED and case.state is CaseState.CLOSED
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    assert "您的评价：满意" in html and "您对办理结果是否满意" not in html


def test_unsatisfied_needs_a_comment_then_reopens(client, world, db):
    case, code = submit(db)
    _work_to_closed(world, case)
    _open(client, case, code)
    resp = client.post(f"/track/{case.number}/rate", data={"rating": "meh"})
    assert '<div class="err" id="rating-err">请选择满意程度</div>' in resp.get_data(as_text=True)
    resp = client.post(f"/track/{case.number}/rate", data={"rating": "unsatisfied", "comment": ""})
    assert resp.status_code == 200
    assert '<div class="err" id="comment-err">请说明不满意的原因</div>' in resp.get_data(as_text=True)
    resp = client.post(f"/track/{case.number}/rate", data={"rating": "unsatisfied", "comment": "学籍号仍然查不到"})
    assert resp.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state is CaseState.REGISTERED and case.round == 2
    assert "您对结果不满意，已重新办理" in client.get(f"/track/{case.number}").get_data(as_text=True)


def test_rating_needs_a_grant(client, world, db):
    case, _ = submit(db)
    resp = client.post(f"/track/{case.number}/rate", data={"rating": "satisfied"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/track?")


def test_grants_keep_the_last_ten(client, world, db):
    cases = [submit(db) for _ in range(11)]
    for case, code in cases:
        _open(client, case, code)
    from caseflow.security import citizen_sessions

    with client.session_transaction() as sess:
        assert citizen_sessions.load(sess["citizen"])["track_grants"] == [c.number for c, _ in cases[1:]]


def test_the_wait_ends_after_the_window(client, world, db):
    from datetime import timedelta

    import time_machine

    from caseflow.timeutil import utcnow

    case, code = submit(db)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            _track(client, case.number, "WRONG-CODE")
        resp = _track(client, case.number, code)
        assert resp.status_code == 429 and "请15分钟后再试" in resp.get_data(as_text=True)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert "请5分钟后再试" in _track(client, case.number, code).get_data(as_text=True)
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert _track(client, case.number, code).status_code == 302
    # The client fails five times again: after a full window the next one is twice as long (a backoff),
    # 30 minutes from 15:01, so at 31:00 it still waits (without the backoff it would have ended at 30:01).
    again = start + timedelta(minutes=16)
    with time_machine.travel(again, tick=False):
        for _ in range(5):
            assert _track(client, case.number, "WRONG-CODE").status_code == 200
    with time_machine.travel(again + timedelta(minutes=15), tick=False):
        resp = _track(client, case.number, code)
        assert resp.status_code == 429 and "请15分钟后再试" in resp.get_data(as_text=True)  # 14 min 1 s
