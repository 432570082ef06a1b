"""Issue 17: escalated cases can be acted on where they are shown — contacts, 督办意见, 提请上级督办, 催办 form."""
import html
import re

import sqlalchemy as sa

from caseflow.cases import permissions
from caseflow.models import CaseEvent, ChaseStep, Notification
from tests.web.test_supervision import _overdue_escalated


def _texts(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_escalation_queue_offers_contacts_and_the_three_actions(client, world, db, login):
    order = _overdue_escalated(world, db)  # 金水区's order to its school, escalated to 郑州市
    login(world.user("supervisor", "410100"))
    page = client.get("/escalations").get_data(as_text=True)
    text = _texts(page)
    assert "金水区教育局 · 处理责任单位责任人：金水区教责任人" in text and world.user("supervisor", "410105").phone in text
    assert f"{order.receiving_unit.name} · 核查单承办单位" in text and order.receiving_unit.phone in text
    remind = re.search(rf'<form method="post" action="/orders/{order.number}/remind".*?</form>', page, re.S).group(0)
    assert 'name="message"' in remind and 'name="csrf_token"' in remind
    assert f'action="/cases/{order.case.number}/supervision-opinion"' in page
    assert f'action="/cases/{order.case.number}/escalate"' in page and "提请河南省教育厅督办的理由" in page


def test_supervision_opinion_is_on_the_timeline_and_told_to_the_unit_below(client, world, db, login):
    order = _overdue_escalated(world, db)
    case = order.case
    login(world.user("supervisor", "410100"))
    resp = client.post(f"/cases/{case.number}/supervision-opinion", data={"text": "请三日内办结并报告。", "next": "/escalations"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/escalations"
    event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.action == "supervision_opinion")).one()
    assert event.note == "请三日内办结并报告。" and event.actor_unit_id == world.unit("410100").id
    told = db.session.scalars(sa.select(Notification).where(Notification.kind == "supervise")).all()
    assert [n.user_id for n in told] == [world.user("supervisor", "410105").id]
    page = _texts(client.get(f"/cases/{case.number}").get_data(as_text=True))
    assert "督办意见" in page and "请三日内办结并报告。" in page
    assert client.post(f"/cases/{case.number}/supervision-opinion", data={"text": " "}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).where(CaseEvent.action == "supervision_opinion")) == 1


def test_escalate_up_by_hand_reaches_the_level_above_once_a_day(client, world, db, login):
    order = _overdue_escalated(world, db)
    case = order.case
    login(world.user("supervisor", "410100"))
    client.post(f"/cases/{case.number}/escalate", data={"text": "区教育局多次催办仍未办理。"})
    step = db.session.scalars(sa.select(ChaseStep).where(ChaseStep.target_unit_id == world.unit("410000").id)).one()
    assert step.step == "escalate" and "区教育局多次催办仍未办理。" in step.reason
    assert db.session.scalars(sa.select(CaseEvent).where(CaseEvent.action == "escalate_up")).one().note == \
        "提请河南省教育厅督办：区教育局多次催办仍未办理。"
    page = client.post(f"/cases/{case.number}/escalate", data={"text": "再次提请。"}, follow_redirects=True)
    assert "今天已提请河南省教育厅督办该投诉。" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).where(ChaseStep.target_unit_id == world.unit("410000").id)) == 1
    login(world.user("supervisor", "410000"))
    queue = _texts(client.get("/escalations").get_data(as_text=True))
    assert case.number in queue and "仍未办结" in queue and "郑州市教育局提请河南省教育厅督办" in queue


def test_who_may_supervise(client, world, db, login):
    order = _overdue_escalated(world, db)
    case = order.case
    city, county = world.user("supervisor", "410100"), world.user("supervisor", "410105")
    assert permissions.can(city, "supervise", case) and permissions.can(world.user("supervisor", "410000"), "supervise", case)
    assert not permissions.can(county, "supervise", case)  # the responsible unit does not supervise itself
    assert permissions.can(county, "escalate_up", case) and permissions.can(city, "escalate_up", case)
    assert not permissions.can(world.user("officer", "410100"), "supervise", case)
    login(county)
    assert client.post(f"/cases/{case.number}/supervision-opinion", data={"text": "x"}).status_code == 403
    login(world.user("supervisor", "410103"))  # a sibling county cannot even see the case
    assert client.post(f"/cases/{case.number}/supervision-opinion", data={"text": "x"}).status_code == 404
    login(world.user("officer", "410100"))
    assert client.post(f"/cases/{case.number}/escalate", data={"text": "x"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).where(CaseEvent.action.in_(
        ("supervision_opinion", "escalate_up")))) == 0
