"""Reports as CSV and XLSX downloads."""
from __future__ import annotations

import csv
import io

from caseflow.registry.problems import Report


def to_csv(report: Report) -> str:
    """The table as CSV text (headings, rows, total)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(report.headings)
    writer.writerows(report.rows)
    if report.total:
        writer.writerow(report.total)
    return buffer.getvalue()


def to_xlsx(report: Report) -> bytes:
    """The table as an XLSX workbook with a title row; flagged rows in bold red."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "报表"
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(report.headings)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for i, row in enumerate(report.rows):
        sheet.append(row)
        if i < len(report.flagged) and report.flagged[i]:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True, color="C00000")
    if report.total:
        sheet.append(report.total)
    sheet.column_dimensions["A"].width = 28
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
