"""Reading registry extracts as a stream of rows: CSV (UTF-8 or GBK) and XLSX.

Everything that can make a file unusable (encoding, not a spreadsheet, missing
columns) is found by :func:`open_extract` before a single row is stored.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from caseflow.errors import DomainError
from caseflow.registry.validation import HEADERS, map_headers, text

SNIFF_BYTES = 1 << 16


class RegistryImportRefused(DomainError):
    """The file cannot be imported at all; nothing was written."""

    status = 422


@dataclass
class Extract:
    """An opened extract: its columns, an iterator of (line number, values), and progress in bytes."""

    columns: dict[str, int]
    rows: Iterator[tuple[int, list]]
    total_bytes: int
    total_rows: int | None = None
    _position: callable = field(default=lambda: 0)
    _close: callable = field(default=lambda: None)
    encoding: str | None = None  # CSV only: lets big files be cut into chunks for parallel work

    def position(self) -> int:
        """Bytes consumed so far (for CSV), for the progress estimate."""
        return self._position()

    def close(self) -> None:
        self._close()


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) if the first chunk decodes strictly, else GB18030, else refuse."""
    if b"\x00" in head:
        raise RegistryImportRefused("文件不是CSV或XLSX电子表格（含二进制内容），请导出为CSV或XLSX后再导入。")
    # A chunk may end inside a multi-byte character: judge it up to the last line break.
    cut = head.rfind(b"\n")
    sample = head if cut < 0 or len(head) < SNIFF_BYTES else head[: cut + 1]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            sample.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    raise RegistryImportRefused("无法识别文件编码：请将文件另存为UTF-8或GBK（GB18030）编码的CSV后再导入。")


def _check_header(header: list) -> dict[str, int]:
    columns, missing = map_headers([str(h) if h is not None else "" for h in header])
    if missing:
        accepted = "；".join("/".join(HEADERS[f]) for f in HEADERS)
        raise RegistryImportRefused(
            f"文件缺少必需的列：{'、'.join(missing)}。可用的列名：{accepted}。"
        )
    return columns


def _open_csv(path: Path, head: bytes) -> Extract:
    encoding = detect_encoding(head)
    raw = path.open("rb")
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except (StopIteration, UnicodeDecodeError, csv.Error):
        stream.close()
        raise RegistryImportRefused("文件为空或不是有效的CSV表格。") from None
    try:
        columns = _check_header(header)
    except RegistryImportRefused:
        stream.close()
        raise

    def rows() -> Iterator[tuple[int, list]]:
        for values in reader:
            if any(v.strip() for v in values):
                yield reader.line_num, values

    return Extract(columns, rows(), path.stat().st_size, None, raw.tell, stream.close, encoding)


def _open_xlsx(path: Path) -> Extract:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any parse failure means "not a spreadsheet"
        raise RegistryImportRefused("文件不是有效的XLSX电子表格，请检查文件后重新导入。") from None
    sheet = book.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    header = next(iterator, None)
    if header is None:
        book.close()
        raise RegistryImportRefused("表格为空。")
    try:
        columns = _check_header(list(header))
    except RegistryImportRefused:
        book.close()
        raise
    state = {"line": 1}

    def rows() -> Iterator[tuple[int, list]]:
        for values in iterator:
            state["line"] += 1
            if any(v not in (None, "") for v in values):
                yield state["line"], [text(v) for v in values]

    size = path.stat().st_size
    total = (sheet.max_row - 1) if sheet.max_row else None
    return Extract(columns, rows(), size, total, lambda: size * state["line"] // max(total or 1, 1),
                   book.close)


def open_extract(path: str | Path) -> Extract:
    """Open a CSV or XLSX extract, or refuse it with the reason in Chinese."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        raise RegistryImportRefused("无法读取文件。") from None
    if not head:
        raise RegistryImportRefused("文件为空。")
    if head.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(path):
            raise RegistryImportRefused("文件不是有效的XLSX电子表格。")
        return _open_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegistryImportRefused("不支持旧版Excel（.xls）文件，请另存为XLSX或CSV后再导入。")
    return _open_csv(path, head)
