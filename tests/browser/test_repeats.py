"""Journey: a clerk registers a second parent's call about a student already complained about; the county
supervisor sees the match on the case page and merges it; the second parent tracks it with their own code."""
from __future__ import annotations

import pytest

from caseflow.cases import operations as ops
from caseflow.cases.operations import PersonData
from caseflow.models import CaseSource, CaseState, Sex
from tests.browser.support import fresh
from tests.factories import complaint_data, submit

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_supervisor_sees_the_repeat_and_merges_it(journey, db, world):
    earlier, _ = submit(db)
    call = complaint_data(complainant=PersonData(name="李娜", sex=Sex.FEMALE, age=36, phone="13900001111"))
    later, code = ops.submit_complaint(call, source=CaseSource.PHONE, actor=world.user("intake", "410105"))
    db.session.commit()

    j = journey("repeats")
    page = j.page()
    j.login(page, world.user("supervisor", "410105"))
    page.goto(f"/cases/{later.number}")
    panel = page.locator("#repeats")
    assert earlier.number in panel.inner_text() and "同一身份证号" in panel.inner_text()
    j.shot(page, "match")
    j.axe(page, "case page with a possible repeat")

    page.click("#act-merge summary")
    page.check(f"input[name=merge-other][value='{earlier.number}']")
    page.fill("#merge-note", "同一学生同一问题，并入办理。")
    page.click("#act-merge button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "已并案办理" in page.inner_text("#merged")
    assert fresh(db, later).state is CaseState.MERGED
    j.shot(page, "merged")
    j.axe(page, "merged case page")

    # The second parent tracks their own number with their own code and sees the merged case's progress.
    citizen = j.page()
    citizen.goto("/track")
    citizen.fill("#number", later.number)
    citizen.fill("#code", code)
    citizen.click("button:has-text('查询')")
    citizen.wait_for_url(f"**/track/{later.number}")
    assert f"编号为{earlier.number}的投诉反映同一问题，已合并办理" in citizen.inner_text("#merged-note")
    j.shot(citizen, "tracking")
    j.axe(citizen, "merged case tracking page")
