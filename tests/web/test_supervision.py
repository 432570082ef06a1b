"""The supervisor's dashboard, escalation queue and monthly report pages; notifications; deliveries."""
import time_machine

from caseflow.chase.scan import run_scan
from caseflow.models import Notification, OutboxItem
from tests.factories import submit
from tests.integration.test_chase import _issue_to_school


def _overdue_escalated(world, db):
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        order = _issue_to_school(world, db)
    for day in ("2026-11-02", "2026-11-06", "2026-11-20"):  # sign reminder, completion reminder, escalation
        with time_machine.travel(f"{day} 10:00 +0800", tick=False):
            run_scan()
            db.session.commit()
    return order


def test_dashboard_drills_down_and_stays_in_the_users_tree(client, world, db, login):
    order = _overdue_escalated(world, db)
    login(world.user("supervisor", "410000"))
    page = client.get("/dashboard").get_data(as_text=True)
    assert "统计概览：河南省教育厅" in page and "按时签收率" in page and "<svg" in page
    assert 'href="/dashboard?unit=410100"' in page  # drill down to Zhengzhou
    page = client.get("/dashboard?unit=410100").get_data(as_text=True)
    assert 'href="/dashboard?unit=410105"' in page
    page = client.get("/dashboard?unit=410105").get_data(as_text=True)
    assert order.receiving_unit.name in page  # the school with the overdue order
    login(world.user("supervisor", "410105"))
    assert client.get("/dashboard?unit=410100").status_code == 404  # above the user's unit
    assert client.get("/dashboard?unit=410103").status_code == 404  # a sibling county
    login(world.user("officer", "410105"))
    assert client.get("/dashboard").status_code == 403


def test_escalation_queue_of_the_unit_above(client, world, db, login):
    order = _overdue_escalated(world, db)
    login(world.user("supervisor", "410100"))
    page = client.get("/escalations").get_data(as_text=True)
    assert order.case.number in page and "提请上级督办" in page and "仍未办结" in page
    assert "催办记录" in page
    login(world.user("supervisor", "410103"))
    assert order.case.number not in client.get("/escalations").get_data(as_text=True)


def test_notifications_unread_count_and_marking(client, world, db, login):
    _overdue_escalated(world, db)
    officer = world.user("officer", "4141000001")
    login(officer)
    unread = db.session.scalar(db.select(db.func.count(Notification.id)).where(Notification.user_id == officer.id))
    assert unread >= 2  # sign reminder and completion reminder
    page = client.get("/notifications").get_data(as_text=True)
    assert f'{unread}条未读' in page
    client.post("/notifications/read", data={})
    assert "条未读" not in client.get("/notifications").get_data(as_text=True)
    other = db.session.scalars(db.select(Notification).where(Notification.user_id != officer.id)).first()
    client.post("/notifications/read", data={"id": other.id})
    db.session.refresh(other)
    assert other.read_at is None  # someone else's notification is untouched


def test_monthly_report_page_and_downloads(client, world, db, login):
    with time_machine.travel("2026-10-12 10:00 +0800", tick=False):
        submit(db)
    login(world.user("supervisor", "410100"))
    page = client.get("/reports/monthly?unit=410100&month=2026-10").get_data(as_text=True)
    assert "郑州市教育局学籍投诉办理情况通报" in page and "金水区教育局" in page
    xlsx = client.get("/reports/monthly?unit=410100&month=2026-10&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    pdf = client.get("/reports/monthly?unit=410105&month=2026-10&format=pdf")
    assert pdf.data.startswith(b"%PDF")
    assert client.get("/reports/monthly?unit=410300&month=2026-10").status_code == 404


def test_failed_deliveries_are_visible_to_administrators(client, world, db, login):
    db.session.add(OutboxItem(kind="sms", payload={"case_id": 0}, state="failed", attempts=6,
                              last_error="GatewayError: 短信网关无响应"))
    db.session.commit()
    login(world.user("admin", "410000"))
    page = client.get("/admin/deliveries").get_data(as_text=True)
    assert "短信网关无响应" in page
    login(world.user("supervisor", "410000"))
    assert client.get("/admin/deliveries").status_code == 403
