"""Repeat complaints on the pages: the match panel, the 并单 / 关联 / 撤销并单 buttons, the second
complainant's tracking page, the citizen's resubmission, and the rate on the dashboard and the report."""
from __future__ import annotations

import re

import time_machine

from caseflow.cases import merging
from caseflow.cases import operations as ops
from caseflow.cases.operations import PersonData
from caseflow.models import Case, CaseState, Sex
from tests.factories import submit
from tests.web.formdata import STUDENT_ID, valid_form
from tests.web.staff_support import Browser, errors_of, form_data, fresh

OTHER_PARENT = {"complainant": PersonData(name="李娜", sex=Sex.FEMALE, age=36, phone="13900001111")}


def _pair(db):
    earlier, _ = submit(db)
    later, code = submit(db, **OTHER_PARENT)
    return earlier, later, code


def test_the_responsible_supervisor_sees_the_match_and_merges_then_unmerges(app, world, db):
    earlier, later, _ = _pair(db)
    sup = Browser(app, world.user("supervisor", "410105"))
    html = sup.page(f"/cases/{later.number}")
    panel = html[html.index('id="repeats"'):]
    assert "可能的重复投诉" in panel and earlier.number in panel and "同一身份证号" in panel
    assert f'action="/cases/{later.number}/merge"' in html and f'action="/cases/{later.number}/link"' in html

    sup.act(f"/cases/{later.number}/merge", "merge", later.version_id, other=earlier.number, note="同一问题")
    later = fresh(db, later)
    assert later.state is CaseState.MERGED and later.merged_into_id == earlier.id
    html = sup.page(f"/cases/{later.number}")
    assert "已并案办理" in html and f'action="/cases/{later.number}/unmerge"' in html
    assert f'action="/cases/{later.number}/merge"' not in html
    primary = sup.page(f"/cases/{earlier.number}")
    assert "重复投诉并入本投诉" in primary and "已并入本投诉" in primary

    sup.act(f"/cases/{later.number}/unmerge", "unmerge", later.version_id)
    later = fresh(db, later)
    assert later.state is CaseState.SUBMITTED and later.merged_into_id is None
    assert "重复投诉撤销并单" in sup.page(f"/cases/{earlier.number}")


def test_others_see_no_buttons_and_are_refused(app, world, db):
    earlier, later, _ = _pair(db)
    officer = Browser(app, world.user("officer", "410105"))
    html = officer.page(f"/cases/{later.number}")
    assert earlier.number in html and "/merge" not in html and "由处理责任单位的责任人决定" in html
    resp = officer.post(f"/cases/{later.number}/merge", data=form_data("merge", later.version_id, other=earlier.number))
    assert resp.status_code == 403
    assert fresh(db, later).state is CaseState.SUBMITTED


def test_merging_into_a_case_that_is_not_a_match_is_refused_by_the_field(app, world, db):
    _earlier, later, _ = _pair(db)
    sup = Browser(app, world.user("supervisor", "410105"))
    resp = sup.post(f"/cases/{later.number}/merge", data=form_data("merge", later.version_id, other="XJ2026-999999"))
    assert resp.status_code == 400
    assert "请从系统提示的可能重复的投诉中选择。" in errors_of(resp.get_data(as_text=True))
    assert fresh(db, later).state is CaseState.SUBMITTED


def test_linking_keeps_both_cases_and_shows_on_both(app, world, db):
    earlier, later, _ = _pair(db)
    sup = Browser(app, world.user("supervisor", "410105"))
    sup.act(f"/cases/{later.number}/link", "link", later.version_id, other=earlier.number)
    assert fresh(db, later).state is CaseState.SUBMITTED
    assert "已关联" in sup.page(f"/cases/{later.number}") and "关联投诉" in sup.page(f"/cases/{earlier.number}")


def test_the_second_complainant_tracks_the_merged_case_with_their_own_code(app, client, world, db):
    earlier, later, code = _pair(db)
    sup = world.user("supervisor", "410105")
    merging.merge_case(sup, later, earlier)
    ops.accept_case(sup, earlier)
    ops.issue_verification(sup, earlier, [world.unit("4141000001")])
    db.session.commit()
    resp = client.post("/track", data={"number": later.number, "code": code})
    assert resp.headers["Location"] == f"/track/{later.number}"
    html = client.get(f"/track/{later.number}").get_data(as_text=True)
    assert f"您的投诉与编号为{earlier.number}的投诉反映同一问题，已合并办理，办理进展如下。" in html
    assert "已并案" in html and "您的投诉与此前另一件投诉反映同一问题，已合并办理" in html
    assert "已向有关单位下发核查单，正在核实" in html and "投诉已受理" in html  # the primary's progress
    assert html.count("投诉已提交，等待受理") == 1  # their own submission, not the other one's
    assert "张伟" not in html  # the primary's complainant stays theirs


def test_the_same_citizen_submitting_twice_is_told_the_first_case(client, world, db):
    client.post("/complaints/new", data=valid_form())
    first = db.session.scalars(db.select(Case)).one()
    resp = client.post("/complaints/new", data=valid_form(token="tok-" + "b" * 20))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and db.session.scalar(db.select(db.func.count(Case.id))) == 1
    assert f"提交过同一学生的同类投诉（编号{first.number}），目前状态：待受理。如需补充材料，请在查询页面补充。" in html
    assert 'value="张伟"' in html  # nothing typed is lost
    # Another phone: another complainant, a new case (matched for the staff, nothing told to them).
    other = client.application.test_client()
    other.post("/complaints/new", data=valid_form(token="tok-" + "c" * 20, complainant_phone="13900001111"))
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 2


def test_the_clerk_is_told_of_the_match_on_registering(app, world, db):
    earlier, _ = submit(db, student=PersonData(name="张小红", id_number=STUDENT_ID))
    clerk = Browser(app, world.user("intake", "410105"))
    resp = clerk.post("/intake/new", data=valid_form(source="phone", complainant_phone="13900001111"))
    assert resp.status_code == 302
    html = clerk.page(resp.headers["Location"])
    assert re.search(rf"发现1件可能的重复投诉（{earlier.number}，同一身份证号）", html)


@time_machine.travel("2026-11-03 09:00 +0800", tick=False)
def test_the_dashboard_and_the_monthly_report_show_the_repeat_rate(app, world, db):
    with time_machine.travel("2026-10-12 09:00 +0800", tick=False):
        earlier, later, _ = _pair(db)
        merging.merge_case(world.user("supervisor", "410105"), later, earlier)
        db.session.commit()
    sup = Browser(app, world.user("supervisor", "410100"))
    html = sup.page("/dashboard")
    block = html[html.index('id="repeat-rates"'):]
    assert "重复投诉率：50.0%" in block and "金水区教育局" in block and "÷ 本期收到的投诉件数" in block
    report = sup.page("/reports/monthly?month=2026-10")
    assert "重复投诉率" in report and "50.0%" in report and 'id="repeat-definition"' in report


def test_the_case_list_counts_a_merged_case_once(app, world, db):
    earlier, later, _ = _pair(db)
    merging.merge_case(world.user("supervisor", "410105"), later, earlier)
    db.session.commit()
    sup = Browser(app, world.user("supervisor", "410105"))
    html = sup.page("/cases")
    assert re.search(r"全部 <b>1</b>", html) and re.search(r"已并案 <b>1</b>", html)
    assert earlier.number in html and f"/cases/{later.number}" not in html
    merged = sup.page("/cases?state=merged")
    assert f"/cases/{later.number}" in merged
    export = sup.get("/cases/export.csv").get_data(as_text=True)
    assert earlier.number in export and later.number not in export
