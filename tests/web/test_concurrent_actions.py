"""Two officials act on the same record at the same moment: one succeeds, the other gets a 409 page
that keeps what they typed (never a bare 500); the monthly report's first generation races too.

Real parallel requests against PostgreSQL: each thread has its own browser session and connection.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from caseflow.cases import operations
from caseflow.models import MonthlyReport, Order, Verdict
from caseflow.timeutil import local_today
from tests.factories import submit
from tests.web.staff_support import Browser, form_data, fresh

pytestmark = pytest.mark.postgres

TWO_SCHOOLS = ("4141000001", "4141000003")


def _race(browsers, url: str, data: dict) -> list[tuple[int, str]]:
    """Post ``data`` to ``url`` from every browser at once; the answers sorted by status."""
    barrier, results = threading.Barrier(len(browsers)), []

    def post(b):
        barrier.wait()
        resp = b.post(url, data=data)
        results.append((resp.status_code, resp.get_data(as_text=True)))

    threads = [threading.Thread(target=post, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(results, key=lambda r: r[0])


def _both(app, user, n=2):
    return [Browser(app, user) for _ in range(n)]


def _assert_one_wins(results, typed: str | None):
    assert [r[0] for r in results] == [302, 409], [(s, h[:200]) for s, h in results]
    if typed:
        assert typed in results[1][1]


def _accepted_case(db, world):
    case, _ = submit(db, schools=TWO_SCHOOLS)
    operations.accept_case(world.user("supervisor", "410100"), case)
    db.session.commit()
    return case


def _signed_root(db, world):
    case = _accepted_case(db, world)
    (root,) = operations.issue_verification(world.user("supervisor", "410100"), case, [world.unit("410105")],
                                            "核实学籍。")
    operations.sign_order(world.user("officer", "410105"), root)
    db.session.commit()
    return case, root


def test_parallel_verify(app, db, world):
    case = _accepted_case(db, world)
    text = "请核实该生在金水区第一小学的学籍注册情况（并发）。"
    results = _race(_both(app, world.user("supervisor", "410100")), f"/cases/{case.number}/verify",
                    form_data("verify", case.version_id, units=["410105"], content=text))
    _assert_one_wins(results, text)
    assert len(db.session.scalars(db.select(Order).where(Order.case_id == case.id)).all()) == 1


def test_parallel_supervise(app, db, world):
    case, root = _signed_root(db, world)
    operations.report_order(world.user("officer", "410105"), root, text="属实。", verdict=Verdict.TRUE)
    operations.accept_report(world.user("supervisor", "410100"), root)
    db.session.commit()
    case = fresh(db, case)
    opinion = "请金水区督促学校三日内补办学籍（并发）。"
    results = _race(_both(app, world.user("supervisor", "410100")), f"/cases/{case.number}/supervise",
                    form_data("supervise", case.version_id, unit="410105", opinion=opinion, content="补办学籍。"))
    _assert_one_wins(results, opinion)


def test_parallel_relay(app, db, world):
    _, root = _signed_root(db, world)
    root = fresh(db, root)
    note = "请学校当面核实（并发转办）。"
    results = _race(_both(app, world.user("officer", "410105")), f"/orders/{root.number}/relay",
                    form_data("relay", root.version_id, unit_text="4141000001", note=note))
    _assert_one_wins(results, note)
    assert len(fresh(db, root).children) == 1


def test_monthly_report_first_generation_races(app, db, world):
    last_month = local_today().replace(day=1) - timedelta(days=1)
    browsers = _both(app, world.user("supervisor", "410100"), n=8)
    barrier, statuses = threading.Barrier(8), []

    def get(b):
        barrier.wait()
        statuses.append(b.get(f"/reports/monthly?month={last_month:%Y-%m}").status_code)

    threads = [threading.Thread(target=get, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert statuses == [200] * 8
    assert db.session.scalar(db.select(db.func.count()).select_from(MonthlyReport)) == 1


def test_parallel_extension_requests_make_one(app, db, world):
    """An action that only adds a row (an extension request) is still one success and one 409."""
    from caseflow.deadlines.policy import latest_extension
    from caseflow.deadlines.settings import current_rules

    _, root = _signed_root(db, world)
    root = fresh(db, root)
    reason = "需到校实地核查（并发申请）。"
    results = _race(_both(app, world.user("officer", "410105")), f"/orders/{root.number}/extension",
                    form_data("extend", root.version_id, reason=reason,
                              new_due_on=latest_extension(current_rules(), root.due_on).isoformat()))
    _assert_one_wins(results, reason)
    assert len(fresh(db, root).extensions) == 1
