"""The staff workbench and citizen pages of issue 17: order page, notifications, administration, stepper."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.cases import intake, tracking
from caseflow.cases import operations as ops
from caseflow.cases.intake import PersonInput
from caseflow.models import AuditEntry, CaseState, ChaseStep, Notification, RegistrySource, Role, User
from caseflow.registry.lookup import FoundRecord, mismatched_fields
from tests.factories import add_unit, make_id_number, submit
from tests.web.formdata import valid_form
from tests.web.staff_support import Browser

# --- the order page ---------------------------------------------------------------------------------


def _issued(world, db):
    case, _code = submit(db)
    sup = world.user("supervisor", "410105")
    ops.accept_case(sup, case)
    [order] = ops.issue_verification(sup, case, [world.unit("4141000001")], "核实学籍注册情况")
    db.session.commit()
    return case, order


def _cards(html: str) -> list[tuple[str, str]]:
    """The action cards in page order: ("open" or "collapsed", their title)."""
    return [("collapsed" if tag == "details" else "open", re.sub(r"<[^>]+>", "", title).strip())
            for tag, title in re.findall(r'<(section|details) class="card action"[^>]*>\s*<(?:h3|summary)>(.*?)</(?:h3|summary)>',
                                         html, re.S)]


def test_order_page_opens_the_one_next_step_and_collapses_the_rarer(app, world, db):
    case, order = _issued(world, db)
    officer = Browser(app, world.user("officer", "4141000001"))
    html = officer.page(f"/orders/{order.number}")
    cards = _cards(html)
    assert cards[0] == ("open", "下一步：签收")
    assert [kind for kind, _t in cards[1:]] == ["collapsed"] * (len(cards) - 1)
    assert any(t.startswith("退回") for _k, t in cards) and any(t.startswith("上传附件") for _k, t in cards)
    # The complaint and the student come before the first action; the lookup for this student is one click.
    assert html.index("核实学籍注册情况") < html.index("下一步：签收")
    assert html.index(case.student.name) < html.index("下一步：签收")
    assert f'action="/cases/{case.number}/registry"' in html and "查询该学生学籍" in html
    # Breadcrumbs: the case list, the case, the order.
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group()
    assert f'href="/cases/{case.number}"' in crumbs and 'aria-current="page">核查单' in crumbs

    officer.act(f"/orders/{order.number}/sign", "sign", order.version_id, acting_person="张老师",
                acting_phone="13800000000")
    db.session.refresh(order)
    cards = _cards(officer.page(f"/orders/{order.number}"))
    assert cards[0] == ("open", "下一步：报送核查情况")
    assert ("collapsed", "申请延期") in [(k, t.split()[0]) for k, t in cards]


def test_a_refused_rare_action_opens_its_card(app, world, db):
    _case, order = _issued(world, db)
    officer = Browser(app, world.user("officer", "4141000001"))
    resp = officer.post(f"/orders/{order.number}/return", data={"return-version": str(order.version_id),
                                                               "return-reason": ""})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert re.search(r'<details class="card action" id="act-return" open>', html)


def test_student_lookup_from_the_case_runs_for_the_cases_student(app, world, db):
    case, _order = _issued(world, db)
    officer = Browser(app, world.user("officer", "4141000001"))
    resp = officer.post(f"/cases/{case.number}/registry", data={"student": "1"})
    assert resp.status_code == 200 and "查询结果" in resp.get_data(as_text=True)
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "registry_lookup")).one()
    assert entry.target_ref == case.number


def _record(source, **kw) -> FoundRecord:
    base = dict(source=source, as_of=date(2026, 11, 1), registry_no="G4101**", registry_key=7, id_number="4101**",
                id_key=1, name="张小明", sex="male", birth_date=date(2015, 3, 8), ethnicity="汉族",
                school_code="4141000001", school_name="一小", school_path="", grade="三年级", class_name="1班",
                status="enrolled", guardian_name=None, guardian_phone=None, import_id=1, line_no=1)
    return FoundRecord(**{**base, **kw})


def test_the_fields_the_two_systems_disagree_on():
    records = [_record(RegistrySource.NATIONAL), _record(RegistrySource.PROVINCIAL, name="张晓明",
                                                         school_code="4141000002"),
               _record(RegistrySource.NATIONAL, registry_key=8)]
    assert mismatched_fields(records) == {7: {"name", "school_code"}}


# --- notifications ----------------------------------------------------------------------------------

def test_notifications_link_the_order_and_say_the_title_once(app, world, db):
    _case, order = _issued(world, db)
    officer = world.user("officer", "4141000001")
    step = ChaseStep(subject=f"order:{order.id}", step="remind", deadline="complete", due_on=date(2026, 12, 1),
                     case_id=order.case_id, order_id=order.id, target_unit_id=officer.unit_id, reason="请尽快办理。")
    db.session.add(step)
    db.session.flush()
    db.session.add(Notification(user_id=officer.id, kind="remind", title="【催办】请尽快办理。", body="请尽快办理。",
                                case_id=order.case_id, chase_step_id=step.id))
    db.session.commit()
    html = Browser(app, officer).page("/notifications")
    assert f'href="/orders/{order.number}"' in html
    assert html.count("请尽快办理。") == 1
    assert "全部标为已读" in html


# --- administrators -------------------------------------------------------------------------------------

@pytest.fixture
def admin(app, world):
    return Browser(app, world.user("admin", "410000"))


def test_creating_a_user_preselects_no_role(admin):
    html = admin.page("/admin/users")
    select = re.search(r'<select id="role" name="role"[^>]*>.*?</select>', html, re.S)
    assert select and "selected" not in select.group() and "请选择角色" in select.group()
    resp = admin.post("/admin/users", data={"username": "wang.wu", "name": "王五", "unit": "410105",
                                            "password": "Zk8#mq2!Lp4x", "password2": "Zk8#mq2!Lp4x"})
    assert resp.status_code == 400 and "请选择角色" in resp.get_data(as_text=True)


def test_a_user_is_edited_with_the_creations_checks(app, admin, world, db):
    user = world.user("officer", "4141000001")
    url = f"/admin/users/{user.id}"
    html = admin.page(url)
    assert "修改账号信息" in html and 'value="4141000001"' in html
    # The same rule as creation: a school cannot have a supervisor.
    resp = admin.post(url, data={"name": "李四", "role": "supervisor", "unit": "4141000001"})
    assert resp.status_code == 400 and "学校不是处理责任单位" in resp.get_data(as_text=True)
    resp = admin.post(url, data={"name": "李 四", "role": "officer", "unit": "4141000001", "email": "bad"})
    assert resp.status_code == 400 and "电子邮箱格式不正确" in resp.get_data(as_text=True)
    version = user.session_version
    phone = user.phone
    resp = admin.post(url, data={"name": "李四", "role": "supervisor", "unit": "410105", "phone": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.role, user.unit.code, user.phone) == ("李四", Role.SUPERVISOR, "410105", phone)
    assert user.session_version == version + 1  # new rights: old sessions end
    assert db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_ref == user.username)).all()
    me = world.user("admin", "410000")
    resp = admin.post(f"/admin/users/{me.id}", data={"name": me.name, "role": "officer", "unit": "410000"})
    assert resp.status_code == 400 and "不能更改自己的角色" in resp.get_data(as_text=True)


def test_units_tree_opens_one_level_a_page_at_a_time(admin, world, db):
    county = world.unit("410105")
    for i in range(130):
        add_unit(db, f"41419{i:05d}", f"金水区测试学校{i:03d}", "school", county)
    db.session.commit()
    html = admin.page("/admin/units")  # opens at the deployment's province
    assert "郑州市教育局" in html and 'href="/admin/units?open=410100"' in html
    html = admin.page("/admin/units?open=410105")
    assert "金水区测试学校000" in html and "金水区测试学校129" not in html  # a page of 100
    assert "第 1 / 2 页" in html and 'href="/admin/units?open=410100"' in html  # up (collapse) is a link
    html = admin.page("/admin/units?open=410105&page=2")
    assert "金水区测试学校129" in html
    fragment = admin.page("/admin/units?open=410105&fragment=1")  # what units-tree.js puts in place
    assert "<html" not in fragment and "金水区测试学校000" in fragment and "共132个下级单位，查看全部" in fragment
    html = admin.page("/admin/units?open=")
    assert "教育部" in html or "000000" in html
    html = admin.page("/admin/units?q=测试学校12")
    assert "金水区测试学校120" in html and "在单位树中查看" in html


def test_calendar_month_grids_and_confirm_not_ticked(admin, db):
    html = admin.page("/admin/calendar?year=2026")
    assert html.count('class="cal-month"') == 12
    # 2026-10-01 is a holiday (Thursday); 2026-10-10 (Saturday) is a make-up working day.
    october = re.findall(r"<caption>10月</caption>.*?</table>", html, re.S)[0]
    assert re.search(r'class="cal-off[^"]*">1<small>休</small>', october)
    assert re.search(r'class="cal-work[^"]*">10<small>班</small>', october)
    confirm = re.search(r'<input[^>]*name="confirm"[^>]*>', html).group()
    assert "checked" not in confirm


# --- citizens -------------------------------------------------------------------------------------------

def test_stepper_says_the_step_whose_turn_and_the_deadline(client, world, db):
    world.unit("410105").address = "郑州市金水区文化路1号"
    case, code = submit(db)
    assert client.post("/track", data={"number": case.number, "code": code}).status_code == 302
    html = client.get(f"/track/{case.number}").get_data(as_text=True)
    stepper = re.search(r'<ol class="stepper".*?</ol>', html, re.S).group()
    assert re.search(r'class="step-current" aria-current="step">.*?受理', stepper, re.S)
    assert "现在：等待金水区教育局受理您的投诉" in html
    unit = world.unit("410105")
    assert unit.hotline or unit.phone
    assert (unit.hotline or unit.phone) in html  # the responsible unit's complaint phone and address
    assert "受理地址" in html and "郑州市金水区文化路1号" in html


def test_receipt_has_the_units_phone_and_address(client, world, db):
    world.unit("410105").address = "郑州市金水区文化路1号"
    db.session.commit()
    client.post("/complaints/new", data=valid_form())
    html = client.get("/complaints/receipt").get_data(as_text=True)
    assert "投诉电话" in html and world.unit("410105").phone in html and "郑州市金水区文化路1号" in html


@pytest.mark.parametrize(("state", "current", "turn"), [
    (CaseState.SUBMITTED, "受理", "受理您的投诉"), (CaseState.REGISTERED, "核查", "下发核查单"),
    (CaseState.VERIFYING, "核查", "核实情况"), (CaseState.DECIDING, "督办", "研究处理意见"),
    (CaseState.HANDLING, "督办", "按督办单办理"), (CaseState.CONCLUDING, "办结", "答复您"),
    (CaseState.CLOSED, "评价", "评价"),
])
def test_progress_for_every_open_state(world, db, state, current, turn):
    case, _code = submit(db)
    with db.session.no_autoflush:  # the state alone, not a legal history: nothing is written
        case.state = state
        p = tracking.progress(case)
    db.session.rollback()
    assert [label for label, st in p.steps if st == "current"] == [current]
    assert turn in p.turn


def test_finished_cases_end_the_steps(world, db):
    case, _code = submit(db)
    ops.reject_case(world.user("supervisor", "410105"), case, "不属于学籍问题，请向当地教育局招生办咨询。")
    p = tracking.progress(case)
    assert p.ended == "不予受理" and p.turn is None and ("受理", "stopped") in p.steps


def test_id_checksum_error_and_sex_mismatch_in_one_round():
    good = make_id_number(seq=123)  # odd sequence: male
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    problems = intake.Problems()
    intake.check_person(PersonInput(name="张三", sex="female", age="11", ethnicity="汉族", id_number=wrong_check,
                                    phone="13800000000"), "complainant", date(2026, 12, 1), problems)
    fields = dict(problems)
    assert "校验位" in fields["complainant_id_number"]
    assert "性别与身份证号不一致" in fields["complainant_sex"]


def test_footer_names_the_sponsor_and_the_filing_settings(app, client):
    app.config.update(SITE_SPONSOR="河南省教育厅", SITE_HOTLINE="12345", SITE_ID_CODE="4100000001",
                      SITE_ICP="豫ICP备00000000号")
    html = client.get("/").get_data(as_text=True)
    footer = re.search(r"<footer.*?</footer>", html, re.S).group()
    assert "主办单位：河南省教育厅" in footer and "12345" in footer
    assert "网站标识码：4100000001" in footer and "豫ICP备00000000号" in footer


def test_static_urls_carry_a_hash_and_are_cached_long(client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html).group(1)
    assert 'rel="icon"' in html and 'media="print"' in html
    with client.get(css) as resp:
        assert resp.status_code == 200 and "max-age=31536000" in resp.headers["Cache-Control"]
        assert "immutable" in resp.headers["Cache-Control"]


def test_import_progress_and_lookup_date_errors_are_chinese(app, world):
    from caseflow.registry.importer import Progress

    line = Progress(rows_done=1200, rows_total=5000, rate=800.0, eta_seconds=4.6).line()
    assert line == "已处理 1200/约5000 行，每秒 800 行，约还需 5 秒"
    officer = Browser(app, world.user("officer", "410105"))
    resp = officer.post("/registry/lookup", data={"name": "张三", "birth_date": "2015-13-45"})
    html = resp.get_data(as_text=True)
    assert "日期格式不正确" in html and "Not a valid" not in html


def test_timeline_notes_name_dates_in_chinese(world, db):
    case, order = _issued(world, db)
    note = next(e.note for e in case.events if e.action == "order_issue")
    assert f"完成时限{order.due_on.year}年{order.due_on.month}月{order.due_on.day}日" in note
    assert not re.search(r"\d{4}-\d{2}-\d{2}", note)
