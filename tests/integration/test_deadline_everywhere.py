"""One overdue rule everywhere: on the Sunday after a Friday deadline the inbox, the case page, the
order page, the citizen's tracking page, the overdue filters, the chase scan and the dashboard agree."""
import re
from datetime import date

import time_machine

from caseflow.cases import operations as ops
from caseflow.chase.scan import run_scan
from caseflow.chase.stats import overdue_by_unit
from tests.factories import submit

SUNDAY = "2026-12-06 10:00 +0800"
LATE = "2026年12月4日（已逾期1个工作日）"


def _text(resp) -> str:
    """The page's text as a reader sees it (tags removed)."""
    return re.sub(r"<[^>]+>", "", resp.get_data(as_text=True))


def _order_due_friday(world, db):
    """A verification order to a school, sent Friday 2026-11-27: due Friday 2026-12-04."""
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        case, code = submit(db)
        sup = world.user("supervisor", "410105")
        ops.accept_case(sup, case)
        (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")])
        db.session.commit()
        ops.sign_order(world.user("officer", "4141000001"), order)
        db.session.commit()
    assert order.due_on == date(2026, 12, 4)
    return case, code, order


def test_a_friday_deadline_is_overdue_on_sunday_everywhere(client, world, db, login):
    case, code, order = _order_due_friday(world, db)
    with time_machine.travel(SUNDAY, tick=False):
        login(world.user("officer", "4141000001"))
        inbox = _text(client.get("/inbox"))
        assert LATE in inbox and "（今天到期）" not in inbox  # the counts bar names 今天到期 as a filter
        assert order.number in client.get("/inbox?overdue=y").get_data(as_text=True)
        page = _text(client.get(f"/orders/{order.number}"))
        assert LATE in page and "今天到期" not in page

        login(world.user("supervisor", "410105"))
        page = _text(client.get(f"/cases/{case.number}"))
        assert LATE in page and "今天到期" not in page
        assert case.number in client.get("/cases?overdue=y").get_data(as_text=True)
        counted = {name: n for _unit, name, n in overdue_by_unit(world.unit("410105"), date(2026, 12, 6))}
        assert sum(counted.values()) == 1

        client.post("/logout")
        client.post("/track", data={"number": case.number, "code": code})
        tracking = _text(client.get(f"/track/{case.number}"))
        assert LATE in tracking and "今天到期" not in tracking

        assert run_scan() == {"complete_overdue": 1}
        db.session.commit()


def test_on_the_friday_itself_it_is_due_today_everywhere(client, world, db, login):
    case, code, order = _order_due_friday(world, db)
    with time_machine.travel("2026-12-04 10:00 +0800", tick=False):
        login(world.user("officer", "4141000001"))
        assert "2026年12月4日（今天到期）" in _text(client.get("/inbox"))
        assert order.number not in client.get("/inbox?overdue=y").get_data(as_text=True)
        assert run_scan() == {"complete_remind": 1}
        db.session.commit()
