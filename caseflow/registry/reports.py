"""Reports as CSV and XLSX downloads, written by the one export helper (no cell a live formula)."""
from __future__ import annotations

from caseflow import exports
from caseflow.registry.problems import Report


def _rows(report: Report) -> list[list]:
    return [*report.rows, *([report.total] if report.total else [])]


def to_csv(report: Report) -> str:
    """The table as CSV text with its byte-order mark (headings, rows, total)."""
    return exports.csv_text(report.headings, _rows(report))


def to_xlsx(report: Report) -> bytes:
    """The table as an XLSX workbook with a title row; flagged rows in bold red."""
    flagged = report.flagged
    return exports.xlsx_bytes(report.headings, _rows(report), title=report.title, sheet_name="报表",
                              flagged=lambda i: i < len(flagged) and flagged[i], first_width=28)
