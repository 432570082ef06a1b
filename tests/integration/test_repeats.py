"""Repeat complaints (issue 18): matched at intake, merged, unmerged, linked, and counted once."""
import io
import subprocess
from datetime import date

import pytest
import time_machine
from openpyxl import load_workbook

from caseflow.cases import merging, permissions, repeats
from caseflow.cases import operations as ops
from caseflow.cases.operations import PersonData
from caseflow.chase.report import get_or_generate, render_pdf, render_xlsx
from caseflow.chase.stats import dashboard, monthly_rows, totals
from caseflow.errors import InvalidInput, NotAllowed
from caseflow.models import CaseEvent, CaseSource, CaseState, Category, MatchReason, OrderState, Sex
from tests.factories import complaint_data, make_id_number, submit

START = "2026-10-12 09:00 +0800"
STUDENT_ID = make_id_number("410105", date(2015, 3, 8), 123)


def _other_parent(**student):
    """A second complainant (another phone) about the student described by ``student``."""
    return {"complainant": PersonData(name="李娜", sex=Sex.FEMALE, age=36, phone="13900001111"),
            **({"student": PersonData(**student)} if student else {})}


def _actions(db, case):
    return [e.action for e in db.session.scalars(db.select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                 .order_by(CaseEvent.id))]


@time_machine.travel(START, tick=False)
@pytest.mark.parametrize(("first", "second", "reason"), [
    ({"id_number": STUDENT_ID}, {"id_number": STUDENT_ID}, MatchReason.ID_NUMBER),
    ({"registry_no": "L4101052015001"}, {"registry_no": "L4101052015001"}, MatchReason.REGISTRY_NO),
    ({"birth_date": date(2015, 3, 8)}, {"birth_date": date(2015, 3, 8)}, MatchReason.NAME_BIRTH_SCHOOL),
])
def test_a_second_complaint_about_the_same_student_is_offered_for_merging(world, db, first, second, reason):
    earlier, _ = submit(db, student=PersonData(name="张小明", **first))
    later, _ = submit(db, **_other_parent(name="张小明", **second))
    sup = world.user("supervisor", "410105")
    (match,) = repeats.matches_of(later)
    assert match.case.id == earlier.id and match.reason is reason and not match.linked
    assert [m.case.id for m in repeats.repeats_of(earlier)] == [later.id]
    assert "repeat_found" in _actions(db, later)
    assert {"merge", "link_related"} <= permissions.allowed_actions(sup, later)
    assert "merge" not in permissions.allowed_actions(sup, earlier)  # nothing earlier to merge it into
    assert not permissions.can(world.user("officer", "410105"), "merge", later)


@time_machine.travel(START, tick=False)
def test_no_match_for_another_student_another_school_or_a_case_closed_long_ago(world, db):
    submit(db, student=PersonData(name="张小明", birth_date=date(2015, 3, 8)))
    other_school, _ = submit(db, schools=("4141000002",), **_other_parent(name="张小明", birth_date=date(2015, 3, 8)))
    other_student, _ = submit(db, **_other_parent(name="王小红", id_number=make_id_number(seq=222)))
    assert repeats.matches_of(other_school) == [] and repeats.matches_of(other_student) == []
    sup = world.user("supervisor", "410105")
    old, _ = submit(db, student=PersonData(name="赵小强", id_number=make_id_number(seq=333)))
    ops.accept_case(sup, old)
    ops.reject_case(sup, old, "不属于学籍问题。")
    db.session.commit()
    with time_machine.travel("2026-12-20 09:00 +0800", tick=False):
        late, _ = submit(db, **_other_parent(name="赵小强", id_number=make_id_number(seq=333)))
    assert repeats.matches_of(late) == []


@time_machine.travel(START, tick=False)
def test_merge_cancels_orders_writes_both_timelines_and_unmerge_restores_both(world, db):
    sup = world.user("supervisor", "410105")
    earlier, _ = submit(db)
    ops.accept_case(sup, earlier)
    ops.issue_verification(sup, earlier, [world.unit("4141000001")])
    later, _ = submit(db, **_other_parent())
    ops.accept_case(sup, later)
    (order,) = ops.issue_verification(sup, later, [world.unit("4141000001")])
    db.session.commit()
    earlier_state = earlier.state

    merging.merge_case(sup, later, earlier, "同一学生同一问题")
    db.session.commit()
    assert later.state is CaseState.MERGED and later.merged_into is earlier
    assert order.state is OrderState.CANCELLED and later.action_due_on is None
    assert _actions(db, later)[-2:] == ["order_cancel", "merge"] and _actions(db, earlier)[-1] == "merge_in"
    assert permissions.allowed_actions(sup, later) & {"merge", "link_related", "unmerge"} == {"unmerge"}

    merging.unmerge_case(sup, later, "并单有误")
    db.session.commit()
    assert later.state is CaseState.VERIFYING and later.merged_into is None and later.state_before_merge is None
    assert earlier.state is earlier_state
    assert _actions(db, later)[-1] == "unmerge" and _actions(db, earlier)[-1] == "unmerge_out"
    unmerged = db.session.scalars(db.select(CaseEvent).where(CaseEvent.case_id == later.id,
                                                             CaseEvent.action == "unmerge")).one()
    assert (unmerged.from_state, unmerged.to_state) == ("merged", "verifying")


@time_machine.travel(START, tick=False)
def test_merge_refuses_other_units_and_unrecorded_cases(world, db):
    sup = world.user("supervisor", "410105")
    earlier, _ = submit(db)
    unrelated, _ = submit(db, **_other_parent(name="王小红", id_number=make_id_number(seq=222)))
    later, _ = submit(db, **_other_parent())
    with pytest.raises(InvalidInput, match="系统提示的可能重复"):
        merging.merge_case(sup, later, unrelated)
    with pytest.raises(NotAllowed):
        merging.merge_case(world.user("supervisor", "410103"), later, earlier)
    third, _ = submit(db, **_other_parent(name="张小明", registry_no="G" + STUDENT_ID))
    merging.merge_case(sup, third, later)
    with pytest.raises(InvalidInput, match="不能再并入其他投诉"):  # no chains: the citizen sees one primary
        merging.merge_case(sup, later, earlier)
    merging.link_cases(sup, later, earlier)
    db.session.commit()
    assert repeats.matches_of(later)[0].linked and _actions(db, earlier)[-1] == "link_related"
    assert not permissions.can(sup, "link_related", later)  # its one match is linked already


@time_machine.travel(START, tick=False)
def test_merged_cases_count_once_and_the_repeat_rate(world, db):
    sup = world.user("supervisor", "410105")
    earlier, _ = submit(db)
    merged, _ = submit(db, **_other_parent())
    linked, _ = submit(db, **_other_parent(name="张小明", registry_no="G" + STUDENT_ID))
    submit(db, **_other_parent(name="王小红", id_number=make_id_number(seq=222)))
    merging.merge_case(sup, merged, earlier)
    merging.link_cases(sup, linked, earlier)
    db.session.commit()

    d = dashboard(world.unit("410100"))
    assert sum(d.state_counts.values()) == 3 and CaseState.MERGED not in d.state_counts
    assert (d.repeat_rate.hits, d.repeat_rate.total) == (2, 4)
    by_unit = {code: rate for code, _name, rate in d.repeats_by_unit}
    assert (by_unit["410105"].hits, by_unit["410105"].total) == (2, 4) and by_unit["410103"].total == 0

    rows = {r.code: r for r in monthly_rows(world.unit("410100"), "2026-10")}
    assert rows["410105"].received == 3 and rows["410105"].repeats.percent == "50.0%"
    total = totals(list(rows.values()))
    assert total.received == 3 and (total.repeats.hits, total.repeats.total) == (2, 4)

    merging.unmerge_case(sup, merged)
    db.session.commit()
    assert {r.code: r.received for r in monthly_rows(world.unit("410100"), "2026-10")}["410105"] == 4
    assert dashboard(world.unit("410100")).repeat_rate.hits == 1


@time_machine.travel(START, tick=False)
def test_the_same_citizen_sending_the_same_complaint_again_is_told_its_state(world, db):
    earlier, _ = submit(db)
    again = complaint_data()
    with pytest.raises(repeats.RepeatSubmission) as refused:
        repeats.refuse_complaint_resubmission(again)
    assert refused.value.message == (f"您已于2026年10月12日提交过同一学生的同类投诉（编号{earlier.number}），"
                                     "目前状态：待受理。如需补充材料，请在查询页面补充。")
    repeats.refuse_complaint_resubmission(complaint_data(**_other_parent()))  # another phone: a new complaint
    repeats.refuse_complaint_resubmission(complaint_data(category=Category.TRANSFER))  # another matter
    with time_machine.travel("2026-11-12 09:00 +0800", tick=False):
        repeats.refuse_complaint_resubmission(again)  # 31 days later
    # A clerk registering a call is never refused; the match is recorded for the unit instead.
    case, _ = ops.submit_complaint(complaint_data(), source=CaseSource.PHONE, actor=world.user("intake", "410105"))
    assert [m.case.id for m in repeats.matches_of(case)] == [earlier.id]


def test_the_monthly_report_carries_the_repeat_rate_in_xlsx_and_pdf(world, db):
    with time_machine.travel(START, tick=False):
        earlier, _ = submit(db)
        later, _ = submit(db, **_other_parent())
        merging.merge_case(world.user("supervisor", "410105"), later, earlier)
        db.session.commit()
    with time_machine.travel("2026-11-03 09:00 +0800", tick=False):
        report = get_or_generate(world.unit("410100"), "2026-10")
        db.session.commit()
    sheet = load_workbook(io.BytesIO(render_xlsx(report))).active
    header = [c.value for c in sheet[2]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["金水区教育局"]["受理投诉数"] == 1 and rows["金水区教育局"]["重复投诉率"] == "50.0%"
    assert rows["合计"]["重复投诉数"] == 1
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=render_pdf(report), capture_output=True,
                          check=True).stdout.decode()
    assert "重复投诉率" in text and "50.0%" in text and "本期收到的投诉件数" in text
