"""Builders for registry extracts in tests."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from tests.factories import make_id_number

HEADER = ["姓名", "性别", "出生日期", "民族", "身份证件类型", "身份证件号", "学籍号", "学校标识码", "学校名称",
          "年级", "班级", "学籍状态", "监护人姓名", "联系电话"]


def student(name="张小明", division="410105", born=date(2015, 3, 8), seq=123, school="4141000001",
            status="在籍", grade="四年级", **overrides) -> dict:
    """A valid row (a G registry number) as a header->value dict."""
    id_number = make_id_number(division, born, seq)
    row = {"姓名": name, "性别": "男" if seq % 2 else "女", "出生日期": born.isoformat(), "民族": "汉族",
           "身份证件类型": "居民身份证", "身份证件号": id_number, "学籍号": "G" + id_number,
           "学校标识码": school, "学校名称": "", "年级": grade, "班级": "2班", "学籍状态": status,
           "监护人姓名": name[0] + "大山", "联系电话": "13812345678"}
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict], *, encoding="utf-8-sig", header=HEADER) -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header])
    return path


def write_xlsx(path: Path, rows: list[dict], header=HEADER) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h, "") for h in header])
    book.save(path)
    return path


def do_import(path, source="national", as_of=date(2026, 11, 1)):
    """Create and run an import; returns (summary, import)."""
    from caseflow.extensions import db
    from caseflow.models import RegistryImport, RegistrySource
    from caseflow.registry.importer import create_import, run_import

    imp = create_import(RegistrySource(source), as_of, path)
    db.session.commit()
    summary = run_import(imp.id)
    return summary, db.session.get(RegistryImport, imp.id)


def login_as(client, user):
    """Log in through /login with a ``next`` (the staff home page belongs to another branch)."""
    from tests.conftest import TEST_PASSWORD

    client.post("/logout")
    resp = client.post("/login?next=/registry/lookup", data={"username": user.username, "password": TEST_PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client
