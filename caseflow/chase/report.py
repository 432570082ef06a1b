"""The monthly report (通报): generated once per unit and month, stored frozen, exported three ways."""
from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa
from flask import render_template
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from caseflow import exports
from caseflow.chase.rates import ThreeRates, current_weights, definitions
from caseflow.chase.stats import (
    REPEAT_COLUMNS,
    REPEAT_DEFINITION,
    monthly_rows,
    previous_month,
    three_rates_rows,
    totals,
)
from caseflow.deadlines.settings import load_calendar
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import MonthlyReport, Unit, UnitKind
from caseflow.timeutil import format_datetime_cn, local_today

# The three rates of the follow-ups (回访), from ``stats.three_rates_rows`` under the weights at generation.
FOLLOW_UP_COLUMNS = [("follow_ups", "有效回访数"), ("response_rate", "响应率"), ("resolution_rate", "解决率"),
                     ("follow_up_satisfaction", "回访满意率")]
COLUMNS = [("name", "单位"), ("received", "受理投诉数"), ("closed", "办结数"), ("on_time", "按时办结单数"),
           ("overdue", "逾期单数"), ("escalated", "督办数"), ("rated", "评价数"), ("satisfaction", "评价满意率"),
           ("withdrawn", "撤诉数"), *REPEAT_COLUMNS, *FOLLOW_UP_COLUMNS]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(month: str) -> str:
    if not _MONTH.match(month or ""):
        raise InvalidInput("月份格式应为“年-月”，如2026-10", field="month")
    if month >= f"{local_today():%Y-%m}":
        raise InvalidInput("只能生成已经结束的月份的通报", field="month")
    return month


def get_or_generate(unit: Unit, month: str) -> MonthlyReport:
    """The stored report, generated now if it does not exist yet (then never recomputed)."""
    check_month(month)
    report = db.session.scalars(sa.select(MonthlyReport).where(MonthlyReport.unit_id == unit.id,
                                                             MonthlyReport.month == month)).first()
    if report is not None:
        return report
    rows = monthly_rows(unit, month)
    data = {"unit": {"code": unit.code, "name": unit.name}, "month": month,
            "rows": [r.as_dict() for r in rows], "total": totals(rows).as_dict()}
    _add_follow_up_rates(unit, month, data)
    report = MonthlyReport(unit_id=unit.id, month=month, data=data)
    try:
        with db.session.begin_nested():  # another request may be generating the same report right now
            db.session.add(report)
    except IntegrityError:  # it stored its copy first: that one is the report
        return db.session.scalars(sa.select(MonthlyReport).where(MonthlyReport.unit_id == unit.id,
                                                                 MonthlyReport.month == month)).one()
    return report


def _add_follow_up_rates(unit: Unit, month: str, data: dict) -> None:
    """The three rates in each row and the total, with their definitions under the weights in force (frozen too)."""
    weights = current_weights()
    by_code = three_rates_rows(unit, month, weights)
    total = ThreeRates(weights)
    for row in data["rows"]:
        row.update(by_code[row["code"]].as_dict())
        total.add(by_code[row["code"]].counts)
    data["total"].update(total.as_dict())
    data["follow_up_definitions"] = definitions(weights)


def generate_due_reports(today: date) -> int:
    """On the first working day of a month, every bureau's report for the last month; else nothing."""
    first_working = load_calendar().add(today.replace(day=1) - timedelta(days=1), 1).on
    return generate_all_for_previous_month() if today == first_working else 0


def generate_all_for_previous_month() -> int:
    """Every bureau's report for last month (run on the first working day); returns how many are new."""
    month = previous_month(local_today())
    bureaus = db.session.scalars(sa.select(Unit).where(Unit.kind.in_(
        (UnitKind.PROVINCE, UnitKind.CITY, UnitKind.COUNTY)))).all()
    existing = set(db.session.scalars(sa.select(MonthlyReport.unit_id).where(MonthlyReport.month == month)))
    for unit in bureaus:
        if unit.id not in existing:
            get_or_generate(unit, month)
    return len(bureaus) - len(existing)


def render_html(report: MonthlyReport, *, standalone: bool = True) -> Markup:
    # Rendered by an autoescaping template: markup that the report page embeds as it is.
    return Markup(render_template("reports/monthly.html", report=report, data=report.data, columns=COLUMNS,
                                  standalone=standalone, generated=format_datetime_cn(report.generated_at),
                                  repeat_definition=REPEAT_DEFINITION))


def render_xlsx(report: MonthlyReport) -> bytes:
    """The stored report as XLSX, through the one export helper (no cell a live formula).

    A report stored before a column existed (撤诉数) leaves that column empty, as its page does.
    """
    data = report.data
    return exports.xlsx_bytes([label for _key, label in COLUMNS],
                              ([row.get(key, "—") for key, _label in COLUMNS] for row in [*data["rows"], data["total"]]),
                              title=f"{data['unit']['name']}学籍投诉办理情况通报（{data['month']}）",
                              sheet_name=report.month, first_width=28)


def render_pdf(report: MonthlyReport) -> bytes:
    from weasyprint import HTML

    def refuse(url, *args, **kwargs):
        raise ValueError(f"external resources are not fetched: {url[:40]}")

    return HTML(string=render_html(report), url_fetcher=refuse).write_pdf()


RENDERERS = {"html": lambda r: render_html(r).encode(), "xlsx": render_xlsx, "pdf": render_pdf}
