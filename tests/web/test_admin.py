"""Administration pages: only administrators, validation by the field, typed values kept."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from caseflow.deadlines.settings import setting_days
from caseflow.models import CalendarDay, CalendarYear, Role, Setting, Unit, UnitKind, User
from caseflow.security.passwords import verify_password
from tests.conftest import TEST_PASSWORD
from tests.factories import submit

ADMIN_PAGES = ["/admin", "/admin/calendar", "/admin/units", "/admin/users", "/admin/settings",
               "/admin/units/410105"]
ADMIN_POSTS = ["/admin/calendar/days", "/admin/calendar/import", "/admin/calendar/years/2027/confirm",
               "/admin/units", "/admin/users", "/admin/settings"]


@pytest.fixture
def admin(world, login):
    user = world.user("admin", "410000")
    login(user)
    return user


def _login(client, user) -> None:
    """Log in with an explicit target (the staff home page belongs to another blueprint)."""
    resp = client.post("/login?next=/", data={"username": user.username, "password": TEST_PASSWORD})
    assert resp.status_code == 302


@pytest.mark.parametrize("role,code", [("intake", "410100"), ("officer", "4141000001"),
                                       ("supervisor", "410000"), ("officer", "410105")])
def test_non_admins_get_403_everywhere(world, client, db, role, code):
    _login(client, world.user(role, code))
    for path in ADMIN_PAGES + [f"/admin/users/{world.user('admin', '410000').id}"]:
        assert client.get(path).status_code == 403, path
    for path in ADMIN_POSTS:
        assert client.post(path, data={"text": "2027-01-01 休 元旦"}).status_code == 403, path
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0


def test_anonymous_is_sent_to_login(world, client):
    for path in ADMIN_PAGES:
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_admin_pages_render(admin, client):
    for path in ADMIN_PAGES + [f"/admin/users/{admin.id}"]:
        resp = client.get(path)
        assert resp.status_code == 200, path
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "暂定（仅按周末计算）" in page and "系统内置国务院安排" in page and "2027年" in page


def test_calendar_bulk_form_with_a_bad_line_keeps_text_and_stores_nothing(admin, client, db):
    text = "2027-01-01 休 元旦\n2027-13-01 休 春节\n2027-02-06 班 春节调休"
    resp = client.post("/admin/calendar/import", data={"text": text, "confirm": "y"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "第2行" in page and "2027-13-01" in page
    assert "2027-02-06 班 春节调休" in page  # the pasted text is still in the textarea
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0
    assert db.session.get(CalendarYear, 2027) is None


def test_calendar_bulk_import_stores_confirms_and_reports(admin, client, db):
    text = "2027-01-01 休 元旦\n2027-02-06 班 春节调休"
    resp = client.post("/admin/calendar/import", data={"text": text, "confirm": "y"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "已导入2天的节假日安排" in page and "已确认2027年日历" in page
    assert db.session.get(CalendarDay, date(2027, 2, 6)).is_workday is True
    assert db.session.get(CalendarYear, 2027) is not None
    assert "管理员已确认" in page


def test_calendar_single_day_add_remove_and_confirm(admin, client, db):
    resp = client.post("/admin/calendar/days", data={"day": "2027-10-09", "kind": "work", "note": "国庆调休"},
                       follow_redirects=True)
    assert "已将2027年10月9日设为调休上班" in resp.get_data(as_text=True)
    assert db.session.get(CalendarDay, date(2027, 10, 9)).note == "国庆调休"

    resp = client.post("/admin/calendar/days", data={"day": "2027-10-40", "kind": "off", "note": "写错"})
    assert resp.status_code == 400 and "日期格式不正确，请按“2026-12-01”的格式填写" in resp.get_data(as_text=True)
    assert "写错" in resp.get_data(as_text=True)

    client.post("/admin/calendar/days/2027-10-09/delete", follow_redirects=True)
    assert db.session.get(CalendarDay, date(2027, 10, 9)) is None
    resp = client.post("/admin/calendar/years/2028/confirm", follow_redirects=True)
    assert "已确认2028年日历" in resp.get_data(as_text=True)


def test_units_create_validate_and_edit(admin, client, db):
    form = {"parent": "4141000001", "code": "4141000099", "name": "新学校", "is_school": "y"}
    page = client.post("/admin/units", data=form).get_data(as_text=True)
    assert "上级单位须为教育行政部门" in page and 'value="新学校"' in page

    form.update(parent="410105", code="41410000")
    assert "学校标识码应为10位数字" in client.post("/admin/units", data=form).get_data(as_text=True)
    form.update(code="4141000001")
    assert "已被其他单位使用" in client.post("/admin/units", data=form).get_data(as_text=True)
    form.update(code="4141000099", phone="12345")
    assert "联系电话格式不正确" in client.post("/admin/units", data=form).get_data(as_text=True)

    form.update(phone="0371-65901234")
    resp = client.post("/admin/units", data=form, follow_redirects=True)
    assert "已添加单位：4141000099 新学校" in resp.get_data(as_text=True)
    school = db.session.scalars(sa.select(Unit).where(Unit.code == "4141000099")).one()
    assert school.kind is UnitKind.SCHOOL and school.path == "000000/410000/410100/410105/4141000099/"

    bureau = {"parent": "410000", "code": "410482", "name": "汝州市教育局", "directly_administered": "y"}
    client.post("/admin/units", data=bureau)
    ruzhou = db.session.scalars(sa.select(Unit).where(Unit.code == "410482")).one()
    assert ruzhou.kind is UnitKind.COUNTY and ruzhou.directly_administered
    bad = {"parent": "410100", "code": "4101", "name": "错误"}
    assert "6位行政区划代码" in client.post("/admin/units", data=bad).get_data(as_text=True)
    bad.update(code="410302")
    assert "应以4101开头" in client.post("/admin/units", data=bad).get_data(as_text=True)
    bad.update(parent="410105", code="410199")
    assert "县级教育局下只能添加学校" in client.post("/admin/units", data=bad).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Unit.id)).where(Unit.name == "错误")) == 0

    resp = client.post("/admin/units/4141000099", data={"name": "", "phone": ""})
    assert resp.status_code == 400 and "请填写单位名称" in resp.get_data(as_text=True)
    client.post("/admin/units/4141000099", data={"name": "郑州市金水区新建小学", "hotline": "0371-65900001"})
    db.session.refresh(school)
    assert school.name == "郑州市金水区新建小学" and school.hotline == "0371-65900001"

    page = client.get("/admin/units?q=新建").get_data(as_text=True)
    assert "郑州市金水区新建小学" in page and "二七区教育局" not in page


def test_users_create_deactivate_and_reset_password(admin, client, db, app):
    form = {"username": "li.ming", "name": "李明", "role": "officer", "unit": "金水区教育局",
            "phone": "13800001111", "email": "li@example.cn", "password": "short", "password2": "short"}
    page = client.post("/admin/users", data=form).get_data(as_text=True)
    assert "密码至少12个字符" in page and 'value="li.ming"' in page

    form.update(password="a-long-password-1", password2="a-long-password-2")
    assert "两次输入的密码不一致" in client.post("/admin/users", data=form).get_data(as_text=True)
    form.update(password2="a-long-password-1", unit="999999")
    assert "找不到单位" in client.post("/admin/users", data=form).get_data(as_text=True)
    form.update(unit="4141000001", role="supervisor")
    assert "学校不是处理责任单位" in client.post("/admin/users", data=form).get_data(as_text=True)
    form.update(unit="410105", role="officer", username="officer-410105")
    assert "已被使用" in client.post("/admin/users", data=form).get_data(as_text=True)

    form.update(username="li.ming")
    resp = client.post("/admin/users", data=form, follow_redirects=True)
    assert "已创建账号：li.ming" in resp.get_data(as_text=True)
    user = db.session.scalars(sa.select(User).where(User.username == "li.ming")).one()
    assert user.role is Role.OFFICER and user.unit.code == "410105"
    assert user.password_hash.startswith("$argon2id$") and verify_password(user.password_hash, "a-long-password-1")
    assert "li.ming" in client.get("/admin/users?q=金水&role=officer").get_data(as_text=True)

    # The new official logs in on another client; deactivation ends that session.  The test app
    # context is shared by every request (and so is ``g``), so the other client gets its own.
    other = app.test_client()

    def as_other(method, path, **kw):
        with app.app_context():
            return getattr(other, method)(path, **kw)

    login_data = {"username": "li.ming", "password": "a-long-password-1"}
    assert as_other("post", "/login?next=/", data=login_data).status_code == 302
    assert as_other("get", "/admin").status_code == 403  # logged in, but not an administrator
    client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    db.session.refresh(user)
    assert user.active is False
    assert as_other("get", "/admin").status_code == 302  # the session has ended: sent to log in
    assert as_other("post", "/login?next=/", data=login_data).status_code == 200  # and refused

    client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert as_other("post", "/login?next=/", data=login_data).status_code == 302
    version = db.session.scalar(sa.select(User.session_version).where(User.id == user.id))
    page = client.post(f"/admin/users/{user.id}/password", data={"password": "x", "password2": "x"})
    assert page.status_code == 400 and "密码至少12个字符" in page.get_data(as_text=True)
    client.post(f"/admin/users/{user.id}/password",
                data={"password": "another-password-9", "password2": "another-password-9"})
    db.session.refresh(user)
    assert user.session_version > version and verify_password(user.password_hash, "another-password-9")
    assert as_other("get", "/admin").status_code == 302  # the old session no longer counts

    resp = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in resp.get_data(as_text=True)


def test_settings_validate_and_save(admin, client, db):
    data = {"issue_verification_days": "3", "verification_days": "0", "decision_days": "abc",
            "supervision_days": "5", "sign_days": "1", "escalate_after_days": "2",
            "escalate_after_days_verification": "2", "escalate_after_days_supervision": "3",
            "max_extension_days": "10", "pause_max_days": "20", "return_review_days": "1",
            "follow_up_rate_days": "2", "follow_up_call_days": "5", "repeat_window_days": "30",
            "repeat_resubmit_days": "30"}
    resp = client.post("/admin/settings", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请填写1到30之间的整数" in page and "请填写整数" in page
    assert db.session.get(Setting, "verification_days") is None

    data.update(verification_days="7", decision_days="6")
    client.post("/admin/settings", data=data)
    assert db.session.get(Setting, "verification_days").value == "7"
    assert setting_days("decision_days") == 6


def test_calendar_import_on_the_page_recomputes_provisional_deadlines(admin, client, db, login):
    with time_machine.travel(datetime(2026, 12, 29, 10, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        login(admin)  # in the travelled time: the idle timeout would end a session from "November"
        case, _ = submit(db)
        assert (case.action_due_on, case.action_due_provisional) == (date(2027, 1, 1), True)
        resp = client.post("/admin/calendar/import", data={"text": "2027-01-01 休 元旦", "confirm": "y"},
                           follow_redirects=True)
    assert "1项有变化" in resp.get_data(as_text=True)
    db.session.refresh(case)
    assert (case.action_due_on, case.action_due_provisional) == (date(2027, 1, 4), False)
