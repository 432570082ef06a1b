"""Parallel row work for big CSV imports: validation, keyed hashes and encryption in worker processes.

The parent cuts the file into byte chunks at record boundaries (a newline
outside quotes: UTF-8 and GB18030 never use the bytes ``\\n`` or ``"`` inside a
character), workers turn each chunk into ready ``COPY`` text plus its rejects,
and the parent writes the chunks to ``COPY`` in file order.  At most a few
chunks are in flight, so memory stays flat whatever the file size.
"""
from __future__ import annotations

import csv
import io
import multiprocessing
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.registry.validation import RowRejected, validate_row
from caseflow.security import crypto

_state: dict = {}


def _init(data_key: str, schools: dict[str, int], columns: dict[str, int], encoding: str, today: date,
          import_id: int) -> None:
    crypto.configure(data_key)
    _state.update(schools=schools, columns=columns, encoding=encoding, today=today, import_id=import_id)


def _field(value) -> str:
    if value is None:
        return "\\N"
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_row(import_id: int, line_no: int, row, hasher, seal) -> tuple:
    """A validated row as the tuple of importer.COLUMNS (shared by the serial and the parallel path)."""
    id_number = row.id_number
    return (
        import_id, line_no, hasher(row.registry_no), mask_registry_number(row.registry_no), row.id_type,
        hasher(id_number) if id_number else None, mask_id_number(id_number) if id_number else None,
        seal(f"{id_number or ''}|{row.registry_no}|{row.guardian_phone or ''}"), row.name, row.sex,
        row.birth_date, row.ethnicity, row.school_code, row.school_id, row.grade, row.class_name,
        row.status.value, row.guardian_name, mask_phone(row.guardian_phone) if row.guardian_phone else None,
    )


_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_line(import_id: int, line_no: int, row, hasher, seal) -> str:
    """One line of COPY text; only the free-text fields can hold characters that need escaping."""
    id_number, phone = row.id_number, row.guardian_phone
    values = (
        str(import_id), str(line_no), hasher(row.registry_no), mask_registry_number(row.registry_no),
        row.id_type, hasher(id_number) if id_number else None, mask_id_number(id_number) if id_number else None,
        seal(f"{id_number or ''}|{row.registry_no}|{phone or ''}"), row.name, row.sex, row.birth_date.isoformat(),
        row.ethnicity, row.school_code, str(row.school_id), row.grade, row.class_name, row.status.value,
        row.guardian_name, mask_phone(phone) if phone else None,
    )
    if None in values or _SPECIAL.search("".join(v for v in values if v)):
        return "\t".join(map(_field, values))
    return "\t".join(values)


def reject_row(line_no: int, values: list[str], columns: dict[str, int], reason: str) -> list:
    """A line of the reject report: line number, masked registry number, name, reason."""
    reg_col, name_col = columns["registry_no"], columns["name"]
    reg = values[reg_col].strip() if reg_col < len(values) else ""
    name = values[name_col].strip() if name_col < len(values) else ""
    return [line_no, mask_registry_number(reg), name, reason]


def _chunk(first_line: int, data: bytes) -> tuple[bytes, list[list], int]:
    """Worker: one chunk of records -> (COPY text, rejects, rows read)."""
    s = _state
    schools, columns, today, import_id = s["schools"], s["columns"], s["today"], s["import_id"]
    hasher, seal = crypto.lookup_hasher(), crypto.seal
    reader = csv.reader(io.StringIO(data.decode(s["encoding"]), newline=""))
    out: list[str] = []
    rejects: list[list] = []
    rows = 0
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        rows += 1
        line_no = first_line - 1 + reader.line_num
        try:
            row = validate_row(values, columns, schools, today=today)
        except RowRejected as exc:
            rejects.append(reject_row(line_no, values, columns, str(exc)))
            continue
        out.append(_copy_line(import_id, line_no, row, hasher, seal))
    out.append("")
    return "\n".join(out).encode() if len(out) > 1 else b"", rejects, rows


def _record_end(buffer: bytes, start: int = 0) -> int:
    """Index just after the last newline in ``buffer`` that lies outside quotes (0 if none)."""
    pos = len(buffer)
    while True:
        pos = buffer.rfind(b"\n", start, pos)
        if pos < 0:
            return 0
        if buffer.count(b'"', 0, pos) % 2 == 0:
            return pos + 1


def _chunks(path: Path, encoding: str, chunk_bytes: int) -> Iterator[tuple[int, bytes, int]]:
    """(first line number, bytes, file position after) for each chunk of whole records after the header."""
    with path.open("rb") as fh:
        buffer = fh.read(chunk_bytes)
        if encoding == "utf-8-sig" and buffer.startswith(b"\xef\xbb\xbf"):
            buffer = buffer[3:]
        # The header record, which open_extract has already checked.
        end = 0
        while not end:
            end = buffer.find(b"\n") + 1
            while end and buffer.count(b'"', 0, end) % 2:
                end = buffer.find(b"\n", end) + 1
            if not end:
                more = fh.read(chunk_bytes)
                if not more:
                    return
                buffer += more
        line = 1 + buffer.count(b"\n", 0, end)
        buffer = buffer[end:]
        while True:
            more = fh.read(chunk_bytes)
            if not more:
                if buffer:
                    yield line, buffer, fh.tell()
                return
            buffer += more
            cut = _record_end(buffer)
            if cut:
                yield line, buffer[:cut], fh.tell() - (len(buffer) - cut)
                line += buffer.count(b"\n", 0, cut)
                buffer = buffer[cut:]


def load(copy, path: Path, encoding: str, *, workers: int, init_args: tuple, rejects, counts: dict,
         on_chunk, chunk_bytes: int = 2 << 20) -> None:
    """Feed ``copy`` with the file's rows, validated in ``workers`` processes, in file order."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=init_args) as pool:
        pending: deque = deque()
        for first_line, data, position in _chunks(path, encoding, chunk_bytes):
            pending.append((pool.submit(_chunk, first_line, data), position))
            if len(pending) > 2 * workers:
                _drain_one(pending, copy, rejects, counts, on_chunk)
        while pending:
            _drain_one(pending, copy, rejects, counts, on_chunk)


def _drain_one(pending: deque, copy, rejects, counts: dict, on_chunk) -> None:
    future, position = pending.popleft()
    text, rejected, rows = future.result()
    if text:
        copy.write(text)
    rejects.writerows(rejected)
    counts["rows"] += rows
    counts["rejected"] += len(rejected)
    on_chunk(position)
