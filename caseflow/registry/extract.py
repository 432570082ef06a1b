"""Reading registry extracts as a stream of rows: CSV (UTF-8 or GBK) and XLSX.

Everything that can make a file unusable (encoding, not a spreadsheet, missing
columns) is found by :func:`open_extract` before a single row is stored.

An XLSX is a zip of XML parts, and a small one can expand into a great deal (issue 20 item 24: 208 KB
holding 5 million shared strings took 360 MB).  It is read within :class:`XlsxLimits`: the zip's
directory (declared sizes and compression ratios) and the shared-string count the file declares are
checked first (:func:`check_xlsx_container`, cheap enough for the upload's request); the worker then
counts the shared strings as a stream before openpyxl loads them, parses every part through
defusedxml (openpyxl uses it when it is installed), and stops at the row limit.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from caseflow.errors import DomainError
from caseflow.registry.validation import HEADERS, map_headers, text

SNIFF_BYTES = 1 << 16
SHARED_STRINGS = "xl/sharedStrings.xml"


@dataclass(frozen=True)
class XlsxLimits:
    """How much an XLSX extract may hold; beyond it the file is refused before it is loaded."""

    max_rows: int = 1_048_576  # per sheet (Excel's own limit)
    max_shared_strings: int = 3_000_000
    max_part_bytes: int = 1 << 30  # any one XML part, uncompressed
    max_ratio: int = 100  # uncompressed ÷ compressed, for a part above 1 MiB (spreadsheet XML: 5–20)

    @classmethod
    def from_config(cls, config) -> XlsxLimits:
        return cls(**{f: int(config[k]) for f, k in _LIMIT_KEYS.items() if config.get(k) is not None})


_LIMIT_KEYS = {"max_rows": "REGISTRY_XLSX_MAX_ROWS", "max_shared_strings": "REGISTRY_XLSX_MAX_SHARED_STRINGS",
               "max_part_bytes": "REGISTRY_XLSX_MAX_PART_BYTES", "max_ratio": "REGISTRY_XLSX_MAX_RATIO"}
# The distinct strings the file says it holds (``count`` is the number of cells using them).
_DECLARED = re.compile(rb"<(?:\w+:)?sst\b[^>]*?\buniqueCount=\"(\d+)\"")


def _too_many_strings(limits: XlsxLimits) -> RegistryImportRefused:
    return RegistryImportRefused(
        f"表格中的文字单元格过多（超过{limits.max_shared_strings:,}个不同的值），可能是异常构造的文件，已拒绝导入。"
        "请拆分成较小的文件，或导出为CSV后再导入。")


def check_xlsx_container(path: Path, limits: XlsxLimits) -> None:
    """Refuse an XLSX whose zip directory or declared shared-string count exceeds the limits (reads no data)."""
    try:
        with zipfile.ZipFile(path) as book:
            parts = book.infolist()
            names = {p.filename for p in parts}
            if "xl/workbook.xml" not in names:
                raise RegistryImportRefused("文件不是有效的XLSX电子表格。")
            if SHARED_STRINGS in names:
                with book.open(SHARED_STRINGS) as fh:
                    head = fh.read(4096)
                declared = _DECLARED.search(head)
                if declared and int(declared.group(1)) > limits.max_shared_strings:
                    raise _too_many_strings(limits)
    except zipfile.BadZipFile:
        raise RegistryImportRefused("文件不是有效的XLSX电子表格。") from None
    for part in parts:
        expands = part.file_size > (1 << 20) and part.file_size > limits.max_ratio * max(part.compress_size, 1)
        if part.file_size > limits.max_part_bytes or expands:
            raise RegistryImportRefused(
                f"表格文件解压后过大（其中一部分解压后为{part.file_size / (1 << 20):,.0f} MB，压缩前"
                f"{part.compress_size / 1024:,.0f} KB），可能是异常构造的文件，已拒绝导入。请导出为CSV后再导入。")


def _count_shared_strings(path: Path, limits: XlsxLimits) -> int:
    """The shared strings, counted as a stream (defusedxml) and refused past the limit; memory stays small."""
    from defusedxml.ElementTree import iterparse

    with zipfile.ZipFile(path) as book:
        if SHARED_STRINGS not in book.namelist():
            return 0
        count = 0
        with book.open(SHARED_STRINGS) as fh:
            for _event, element in iterparse(fh, events=("end",)):
                if element.tag.endswith("}si") or element.tag == "si":
                    count += 1
                    if count > limits.max_shared_strings:
                        raise _too_many_strings(limits)
                    element.clear()
        return count


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


def _open_xlsx(path: Path, limits: XlsxLimits) -> Extract:
    check_xlsx_container(path, limits)
    try:
        _count_shared_strings(path, limits)
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
    except RegistryImportRefused:
        raise
    except Exception:  # noqa: BLE001 - any parse failure means "not a spreadsheet"
        raise RegistryImportRefused("文件不是有效的XLSX电子表格，请检查文件后重新导入。") from None
    sheet = book.worksheets[0]
    if (sheet.max_row or 0) > limits.max_rows:
        book.close()
        raise _too_many_rows(limits)
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
            if state["line"] > limits.max_rows:  # the sheet's declared size was wrong
                raise _too_many_rows(limits)
            if any(v not in (None, "") for v in values):
                yield state["line"], [text(v) for v in values]

    size = path.stat().st_size
    total = (sheet.max_row - 1) if sheet.max_row else None
    return Extract(columns, rows(), size, total, lambda: size * state["line"] // max(total or 1, 1),
                   book.close)


def _too_many_rows(limits: XlsxLimits) -> RegistryImportRefused:
    return RegistryImportRefused(f"表格的行数超过{limits.max_rows:,}行，请拆分成较小的文件，或导出为CSV后再导入。")


def open_extract(path: str | Path, limits: XlsxLimits | None = None) -> Extract:
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
        return _open_xlsx(path, limits or XlsxLimits())
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegistryImportRefused("不支持旧版Excel（.xls）文件，请另存为XLSX或CSV后再导入。")
    return _open_csv(path, head)
