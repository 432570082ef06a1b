"""Issue 17, supervisors: every number on the dashboard leads to exactly those items; charts can be read;
the monthly report page renders its table."""
import html
import re

import time_machine

from caseflow.chase.stats import by_unit_now
from caseflow.web import charts
from tests.integration.test_dashboard_figures import figures  # noqa: F401 - the fixture known by hand


def _links(page: str) -> dict[str, str]:
    """href → the link's text, for every link on the page."""
    return {html.unescape(href): text for href, text in re.findall(r'<a href="([^"]+)">([^<]*)</a>', page)}


def test_dashboard_counts_link_to_the_filtered_lists(client, world, db, login, figures):  # noqa: F811
    with time_machine.travel("2026-10-30 09:00 +0800", tick=False):
        login(world.user("supervisor", "410000"))
        page = client.get("/dashboard").get_data(as_text=True)
    links = _links(page)
    # F's order to 巩义一中 is late (sign and completion): the county's overdue orders.
    assert links["/orders?unit=410181&overdue=1"] == "1"
    assert links["/orders?unit=410000&overdue=1"] == "1"  # the tile: all of the province
    # Cases overdue in their own step count too: E (洛阳, never accepted), G (郑州, never decided) and C
    # (reopened 10-21 by the 不满意 rating, its next step due 10-26).
    assert links["/cases?unit=410300&overdue=1"] == "1"
    assert links["/cases?unit=410100&overdue=1"] == "2"
    assert links["/cases?unit=410181&overdue=1"] == "1"  # F: its order is late
    assert links["/cases?unit=410000&overdue=1"] == "4"
    assert links["/cases?unit=410100&escalated=1"] == "1" and links["/cases?unit=410300&escalated=1"] == "1"
    assert links["/cases?unit=410000&state=closed"] == "3"
    assert links["/cases?unit=410000&state=submitted"] == "1"
    assert links["/cases?unit=410000&from=2026-10-01&to=2026-10-31"] == "5"  # received in October
    assert links["/cases?unit=410000&from=2026-09-01&to=2026-09-30"] == "2"
    main = _links(page[page.index("<main"):page.index("</main>")])
    assert not any(href.startswith("/inbox") for href in main)  # never the supervisor's own (empty) inbox

    with time_machine.travel("2026-10-30 09:10 +0800", tick=False):
        links = _links(client.get("/dashboard?unit=410100").get_data(as_text=True))
    assert links["/cases?unit=410105&overdue=1"] == "2" and links["/cases?unit=410105&escalated=1"] == "1"
    assert "/orders?unit=410105&overdue=1" not in links  # nothing late: a plain 0, no link


def test_figures_now_by_unit(world, db, figures):  # noqa: F811
    from datetime import date

    now = {r.code: (r.overdue_orders, r.overdue_cases, r.escalated)
           for r in by_unit_now(world.unit("410000"), date(2026, 10, 30))}
    assert now == {"410000": (0, 0, 0), "410100": (0, 2, 1), "410181": (1, 1, 1), "410300": (0, 1, 1)}


def test_charts_write_labels_in_full_with_scales():
    bars = charts.bar_chart("各状态投诉数", [("待研究处理意见", 7), ("已办结", 120)])
    assert ">待研究处理意见<" in bars and "…" not in bars
    assert all(f">{t}<" in bars for t in ("0", "50", "100", "150"))  # the value scale
    line = charts.line_chart("比率", ["2026-09", "2026-10"], {"满意率": [0.5, None]}, percent=True)
    assert all(f">{t}%<" in line for t in (0, 25, 50, 75, 100))
    assert charts.ticks(7) == [0, 2, 4, 6, 8] and charts.ticks(0.4) == [0, 0.1, 0.2, 0.3, 0.4]


def test_monthly_report_page_renders_its_table(client, world, db, login, figures):  # noqa: F811
    with time_machine.travel("2026-11-03 09:00 +0800", tick=False):
        login(world.user("supervisor", "410000"))
        page = client.get("/reports/monthly?unit=410000&month=2026-10").get_data(as_text=True)
    assert "&lt;" not in page and "&gt;" not in page
    assert re.search(r"<td>郑州市教育局</td><td>3</td>", page)
