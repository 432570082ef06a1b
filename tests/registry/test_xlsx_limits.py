"""XLSX bombs (issue 20 item 24): a small file with millions of shared strings is refused, fast, in bounded memory."""
from __future__ import annotations

import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.models import ImportState, RegistryImport
from caseflow.registry.extract import RegistryImportRefused, XlsxLimits, open_extract
from tests.registry.helpers import HEADER, do_import, login_as, student, write_xlsx
from tests.registry.test_pages import upload

STRINGS = 5_000_000  # as in the report: 5 million shared strings in a file of about 200 KB

CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                 b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                 b'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
                 b'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName='
                 b'"/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
                 b'sharedStrings+xml"/></Types>')
RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship '
                 b'Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 b'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
SHEET = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
         b'2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>')


def bomb(path: Path, strings: int = STRINGS, declared: int | None = STRINGS) -> Path:
    """A valid-looking workbook whose shared-string table holds ``strings`` entries (``declared`` in its header)."""
    counts = f' count="{declared}" uniqueCount="{declared}"' if declared is not None else ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", SHEET)
        with z.open("xl/sharedStrings.xml", "w") as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main"' + counts.encode() + b">")
            block = b"<si><t>x</t></si>" * 10_000
            for _ in range(strings // 10_000):
                fh.write(block)
            fh.write(b"</sst>")
    return path


def _refused_quickly(path: Path, limits: XlsxLimits | None = None) -> tuple[str, float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(RegistryImportRefused) as refused:
        open_extract(path, limits)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return refused.value.message, seconds, peak


def test_a_declared_flood_of_shared_strings_is_refused_at_once(tmp_path):
    path = bomb(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 400_000  # a small file...
    message, seconds, peak = _refused_quickly(path)
    assert "文字单元格过多" in message and "3,000,000" in message
    assert seconds < 1 and peak < 5 << 20


def test_an_undeclared_flood_is_refused_by_its_expansion(tmp_path):
    path = bomb(tmp_path / "bomb.xlsx", declared=None)
    message, seconds, peak = _refused_quickly(path)
    assert "解压后过大" in message
    assert seconds < 1 and peak < 5 << 20


def test_a_flood_that_compresses_plausibly_is_counted_as_a_stream_and_refused(tmp_path):
    """The header lies and the ratio is allowed: the streamed count stops at the limit, memory stays small."""
    path = bomb(tmp_path / "bomb.xlsx", strings=300_000, declared=1)
    limits = XlsxLimits(max_shared_strings=100_000, max_ratio=10_000)
    message, seconds, peak = _refused_quickly(path, limits)
    assert "超过100,000个不同的值" in message
    assert seconds < 10 and peak < 10 << 20


def test_rows_past_the_limit_are_refused(db, world, app, tmp_path):
    path = write_xlsx(tmp_path / "n.xlsx", [student(seq=101 + 2 * i) for i in range(5)])
    app.config["REGISTRY_XLSX_MAX_ROWS"] = 4
    with pytest.raises(RegistryImportRefused):
        do_import(path)
    db.session.rollback()
    imp = db.session.scalars(sa.select(RegistryImport)).one()
    # The sheet did not declare its size (openpyxl's write-only mode): the reader stopped at the limit.
    assert imp.state is ImportState.FAILED and imp.error == "导入失败，原有数据未改变：表格的行数超过4行，请拆分成较小的文件，或导出为CSV后再导入。"
    app.config["REGISTRY_XLSX_MAX_ROWS"] = 6
    summary, _ = do_import(path)
    assert summary["imported"] == 5


def test_the_upload_reads_no_xml_in_the_web_request_and_the_worker_refuses_the_bomb(db, world, app, client,
                                                                                     tmp_path):
    """The request checks the zip's directory only; the limits apply in the worker, the reason on the import."""
    login_as(client, world.user("admin", "410000"))
    undeclared = bomb(tmp_path / "a.xlsx", declared=None)
    resp = upload(client, undeclared.read_bytes(), name="a.xlsx")
    assert resp.status_code == 200 and "解压后过大" in resp.get_data(as_text=True)  # refused on the spot
    # Plausible zip, header within limits, too many strings: accepted by the request, refused by the import.
    app.config.update(REGISTRY_XLSX_MAX_SHARED_STRINGS=100_000, REGISTRY_XLSX_MAX_RATIO=10_000)
    start = time.perf_counter()
    resp = upload(client, bomb(tmp_path / "b.xlsx", strings=300_000, declared=1).read_bytes(), name="b.xlsx")
    assert resp.status_code == 302
    imp = db.session.scalars(sa.select(RegistryImport)).one()
    db.session.refresh(imp)
    assert imp.state is ImportState.REFUSED and "超过100,000个不同的值" in imp.error
    assert time.perf_counter() - start < 15
    assert HEADER  # the ordinary XLSX import is covered in test_import.py
