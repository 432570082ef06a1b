"""The 回访 pages: the list in the staff navigation, the call form, the audited phone reveal."""
import time_machine

from caseflow.cases import followups
from caseflow.models import AuditEntry, CaseSource, CaseState, FollowUpState
from tests.integration.test_follow_ups import closed_case


def _at(when):
    return time_machine.travel(f"{when} +0800", tick=False)


def test_list_call_form_and_phone_reveal(client, world, db, login):
    case = closed_case(world, db, "4141000001")  # a phone complaint: due for a call at once
    waiting = closed_case(world, db, "4141000002", CaseSource.WEB)  # waits for the online rating
    task = followups.pending_for(case)
    officer = world.user("officer", "410105")
    with _at("2026-10-14 10:00"):
        login(officer)
        assert 'href="/follow-ups"' in client.get("/inbox").get_data(as_text=True)  # in the staff navigation
        page = client.get("/follow-ups").get_data(as_text=True)
        assert case.number in page and waiting.number not in page
        assert "待回访 <b>1</b>" in page and "等待在线评价 <b>1</b>" in page and "剩4个工作日" in page
        page = client.get(f"/follow-ups/{task.case.number}").get_data(as_text=True)
        assert "138****5678" in page and "13812345678" not in page and "记录回访" in page
        page = client.post(f"/follow-ups/{task.case.number}/phone").get_data(as_text=True)
        assert 'href="tel:13812345678"' in page and "本次查看已记录" in page
        audit = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "reveal")).one()
        assert audit.user_id == officer.id and audit.target_ref == case.number and audit.detail == "complainant.phone"

        # A reached call without its answers: a message by each field, the typed note kept.
        resp = client.post(f"/follow-ups/{task.case.number}/call", data={"reached": "yes", "note": "家长说已注册"})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 400 and "请选择投诉人所说的解决情况" in page and "家长说已注册" in page
        assert "请选择投诉人的满意度" in page and "请修改以下2处问题后再提交" in page
        resp = client.post(f"/follow-ups/{task.case.number}/call", data={"reached": "yes", "resolution": "unsolved",
                                                                  "rating": "unsatisfied"})
        assert resp.status_code == 400 and "投诉人不满意时，请记录不满意的原因" in resp.get_data(as_text=True)
        resp = client.post(f"/follow-ups/{task.case.number}/call", data={})
        assert resp.status_code == 400 and "请选择电话是否接通" in resp.get_data(as_text=True)

        resp = client.post(f"/follow-ups/{task.case.number}/call", data={"reached": "no", "note": "无人接听"})
        assert resp.status_code == 302
        assert "未接通次数" in client.get("/follow-ups").get_data(as_text=True)
        resp = client.post(f"/follow-ups/{task.case.number}/call", data={"reached": "yes", "resolution": "unsolved",
                                                                  "rating": "unsatisfied", "note": "仍未注册"})
        assert resp.status_code == 302
        timeline = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "电话回访" in timeline and "电话回访：不满意：仍未注册" in timeline
    db.session.refresh(task)
    db.session.refresh(case)
    assert task.state is FollowUpState.CALLED and task.failed_calls == 1
    assert case.state is CaseState.REGISTERED and case.round == 2


def test_other_units_and_roles_cannot_reach_a_task(client, world, db, login):
    case = closed_case(world, db, "4141000003")
    task = followups.pending_for(case)
    login(world.user("officer", "410105"))
    assert client.get(f"/follow-ups/{task.case.number}").status_code == 404
    assert client.post(f"/follow-ups/{task.case.number}/call", data={"reached": "no"}).status_code == 404
    assert client.post(f"/follow-ups/{task.case.number}/phone").status_code == 404
    login(world.user("intake", "410103"))
    assert client.get("/follow-ups").status_code == 403
    assert 'href="/follow-ups"' not in client.get("/intake/new").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "reveal")) == 0
