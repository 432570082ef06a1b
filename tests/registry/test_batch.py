"""The column-wise encoder gives exactly the answers of ``validate_row``, row for row.

The vectorised pass may only accept what ``validate_row`` accepts, with the same
normalised values; everything else must come out with ``validate_row``'s reason.
No database: the encoder is pure apart from the keys.
"""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflow.identity import check_char, mask_id_number, mask_phone, mask_registry_number
from caseflow.registry import batch
from caseflow.registry.validation import RowRejected, map_headers, unseal_pii, validate_row
from caseflow.security.crypto import Keyring
from tests.factories import make_id_number
from tests.registry.helpers import HEADER

TODAY = date(2026, 11, 23)
SCHOOLS = {"4141000001": 11, "4141000002": 12}
ID = make_id_number(seq=123)  # 2015-03-08, male
ID_F = make_id_number(seq=124)
J_BODY = "41010520150308777"
J = "J" + J_BODY + check_char(J_BODY)
FUTURE = make_id_number(born=date(2027, 1, 1), seq=123)
OLD = "410105" + "18991231" + "123"
OLD += check_char(OLD)
IDS = [ID, ID_F, ID.lower(), ID[:-1] + ("0" if ID[-1] != "0" else "1"), "", "E12345678", ID[:6] + ID[8:17],
       " " + ID, "４" + ID[1:], FUTURE, OLD, "0" + ID[1:], ID + "1", "X" * 41, "-", "_"]
REGS = ["G" + ID, "g" + ID.lower(), "G" + ID_F, J, J.lower(), "J" + ID[:-1] + "Y", "L410105201503081234",
        "L410105201503091234", "L410105189912311234", "L41010520150308123A", "X" + ID, "G" + ID[:-1],
        "G" + FUTURE, "G" + OLD, "", "G " + ID[:9] + " " + ID[9:]]
CELLS = {
    "姓名": ["张小明", "", " 李梅 ", "阿卜杜 热合曼", "名" * 61, "王\x1c", "\u3000"],
    "性别": ["男", "女", "1", "2", "male", "未知", " 男 "],
    "出生日期": ["2015-03-08", "2015/3/8", "20150308", "2015年3月8日", "2015-03-09", "2015-02-30", "",
                 "0000-01-01", "1899-12-31", "2027-01-01"],
    "民族": ["汉族", "", "回族" * 11],
    "身份证件类型": ["居民身份证", "", "身份证", "1", "护照", "x" * 21],
    "身份证件号": IDS,
    "学籍号": REGS,
    "学校标识码": ["4141000001", "4141000002", "4199999999", ""],
    "年级": ["四年级", "", "年" * 21],
    "班级": ["2班", "", "班" * 41],
    "学籍状态": ["在籍", "在读", "毕业", "休学", "enrolled", "失联", "", "注销（死亡）"],
    "监护人姓名": ["张大山", "", "人" * 61],
    "联系电话": ["13812345678", "", "0371-65900000", "+86 13812345678", "１３８１２３４５６７８", "123",
                 "1" * 21, "١٣٨١٢٣٤٥٦٧٨"],
}
ROWS = st.lists(st.fixed_dictionaries({h: st.sampled_from(v) for h, v in CELLS.items()}), min_size=1,
                max_size=25)


KEYS = Keyring("test-key-one,test-key-two")


def _context(header=HEADER) -> batch.Context:
    columns, missing = map_headers(header)
    assert not missing
    return batch.Context(columns, SCHOOLS, TODAY, 7, KEYS)


def _expected(lines: list[tuple[int, list[str]]], ctx: batch.Context):
    accepted, rejected = {}, {}
    for line_no, values in lines:
        if not any(v.strip() for v in values):
            continue  # a blank record (a short line can be one): skipped, not counted
        try:
            accepted[line_no] = validate_row(values, ctx.columns, SCHOOLS, today=TODAY)
        except RowRejected as exc:
            rejected[line_no] = str(exc)
    return accepted, rejected


def _check(encoded: batch.Encoded, accepted: dict, rejected: dict) -> None:
    assert {r[0]: r[3] for r in encoded.rejects} == rejected
    assert encoded.rows == len(accepted) + len(rejected)
    got = {row["line_no"]: row for row in encoded.frame.to_dicts()}
    assert set(got) == set(accepted)
    for line_no, clean in accepted.items():
        row = got[line_no]
        id_number, reg, phone = clean.id_number, clean.registry_no, clean.guardian_phone
        assert row["import_id"] == 7
        assert (row["id_type"], row["name"], row["sex"], row["birth_date"], row["ethnicity"],
                row["school_code"], row["school_id"], row["grade"], row["class_name"], row["status"],
                row["guardian_name"]) == (
            clean.id_type, clean.name, clean.sex, clean.birth_date, clean.ethnicity, clean.school_code,
            clean.school_id, clean.grade, clean.class_name, clean.status.value, clean.guardian_name)
        assert row["registry_no_masked"] == mask_registry_number(reg)
        assert row["registry_key"] == KEYS.registry_key(reg)
        assert row["id_key"] == KEYS.id_key(id_number)
        assert row["id_masked"] == (mask_id_number(id_number) if id_number else None)
        assert row["guardian_phone_masked"] == (mask_phone(phone) if phone else None)
        assert unseal_pii(row["pii"], KEYS) == (id_number or "", reg, phone or "")
        stored_reg = KEYS.decrypt(row["pii"]).split("|")[1]  # a G number that repeats the ID number: left out
        assert stored_reg == ("" if reg == f"G{id_number}" else reg)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, blank_every=st.integers(min_value=0, max_value=4), crlf=st.booleans(),
       blank=st.sampled_from(["", " , ,", "\t", ",,"]),
       cuts=st.lists(st.integers(min_value=-8, max_value=len(HEADER) + 1), min_size=25, max_size=25),
       as_bytes=st.booleans())
def test_plain_chunks_match_validate_row(rows, blank_every, crlf, blank, cuts, as_bytes):
    """A chunk as text, or as UTF-8 bytes already checked plain (how the importer passes UTF-8 files)."""
    _check_plain_chunk(rows, blank_every, crlf, blank, cuts, as_bytes)


# The cells with nothing to strip or scan for: a chunk of them takes the clean plan (batch._chunk_kind).
CLEAN_CELLS = {h: [v for v in values if not any(b in v.encode() for b in batch._UNCLEAN)] for h, values in CELLS.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.fixed_dictionaries({h: st.sampled_from(v) for h, v in CLEAN_CELLS.items()}), min_size=1,
                     max_size=25),
       blank_every=st.integers(min_value=0, max_value=4), crlf=st.booleans(), blank=st.sampled_from(["", ",,"]),
       cuts=st.lists(st.integers(min_value=-8, max_value=len(HEADER) + 1), min_size=25, max_size=25))
def test_clean_chunks_match_validate_row(rows, blank_every, crlf, blank, cuts):
    """UTF-8 chunks with no white space, bidirectional control or odd separator: the plan that takes the cells
    as they are (only a CRLF line's last cell loses its CR) gives the same answers."""
    assert _check_plain_chunk(rows, blank_every, crlf, blank, cuts, True) in ("clean", "clean_crlf")


def _check_plain_chunk(rows, blank_every, crlf, blank, cuts, as_bytes) -> str:
    ctx = _context()
    lines, texts = [], []
    for k, row in enumerate(rows):
        if blank_every and k % blank_every == 0:
            texts.append(blank)  # a blank record: skipped, not counted
        values = [row.get(h, "") for h in HEADER]
        if 0 <= cuts[k] < len(HEADER):
            values = values[:cuts[k] + 1]  # a short line (the first one too: it must not set the width)
        elif cuts[k] == len(HEADER):
            values = values + ["多余"]  # a cell past the header
        elif cuts[k] == len(HEADER) + 1:
            values = [""] * len(HEADER) + ["x"]  # empty where the header has columns, not blank
        lines.append((10 + len(texts), values))
        texts.append(",".join(values))
    text = ("\r\n" if crlf else "\n").join(texts) + "\n"
    assert '"' not in text
    encoded = batch.encode_text(10, text.encode(), ctx, checked=True) if as_bytes else batch.encode_text(10, text, ctx)
    _check(encoded, *_expected(lines, ctx))
    return batch._chunk_kind(text.encode() if as_bytes else text)


def test_a_chunk_of_bytes_that_is_not_utf8_is_refused_as_such():
    line = ",".join(["张小明", "男", "2015-03-08", "汉族", "居民身份证", ID, "G" + ID, "4141000001"])
    with pytest.raises(batch.NotUtf8):
        batch.encode_text(2, line.encode("gbk") + b"\n", _context(), checked=True)


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, mark=st.sampled_from(["", ",", '"', "\n", "\r\n"]), at=st.integers(min_value=0, max_value=24))
def test_quoted_chunks_and_records_match_validate_row(rows, mark, at):
    ctx = _context()
    rows[at % len(rows)] = {**rows[at % len(rows)], "班级": "2" + mark + "班"}  # a cell that needs quoting
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows([[row.get(h, "") for h in HEADER] for row in rows])
    reader = csv.reader(io.StringIO(out.getvalue(), newline=""))
    lines = [(1 + reader.line_num, values) for values in reader]  # a record's line is where it ends
    assert [values for _, values in lines] == [[row.get(h, "") for h in HEADER] for row in rows]
    _check(batch.encode_text(2, out.getvalue(), ctx), *_expected(lines, ctx))
    _check(batch.encode_records(lines, ctx), *_expected(lines, ctx))


def test_the_common_shape_takes_the_column_wise_path():
    """The speed rests on this: valid rows in the usual shape never fall back to validate_row."""
    ctx = _context()
    rows = []
    for seq in range(1, 200):
        number = make_id_number(seq=seq)
        rows.append(["学生", "男" if seq % 2 else "女", "2015-03-08", "汉族", "居民身份证", number, "G" + number,
                     "4141000001", "", "四年级", "2班", "在籍", "家长", "13812345678"])
    rows.append(["学生", "男", "2015-03-08", "", "", "", J, "4141000002", "", "", "", "休学", "", ""])
    rows.append(["学生", "男", "2015-03-08", "", "护照", "E1234567", "L410105201503081234", "4141000002", "", "",
                 "", "毕业", "", "0371-65900000"])
    accepted, slow = batch._fast(2, "\n".join(",".join(r) for r in rows) + "\n", ctx)
    assert slow == [] and accepted.height == len(rows)


def test_missing_optional_columns_and_reordered_headers():
    header = ["学籍号", "姓名", "学籍状态", "出生日期", "身份证号", "性别", "学校代码"]
    ctx = _context(header)
    values = ["G" + ID, "张小明", "在籍", "2015-03-08", ID, "男", "4141000001"]
    encoded = batch.encode_text(2, ",".join(values) + "\n", ctx)
    _check(encoded, *_expected([(2, values)], ctx))
    assert encoded.frame.height == 1 and encoded.frame["id_type"][0] == "居民身份证"


def test_short_and_long_lines():
    ctx = _context()
    short = ["张小明", "男", "2015-03-08", "汉族", "居民身份证", ID, "G" + ID, "4141000001"]
    long = [*short, "", "四年级", "2班", "在籍", "张大山", "13812345678", "extra", "cells"]
    lines = [(2, short), (3, long)]
    text = "\n".join(",".join(v) for _, v in lines)  # no newline at the end of the chunk
    _check(batch.encode_text(2, text, ctx), *_expected(lines, ctx))


@settings(max_examples=300, deadline=None)
@given(data=st.binary().map(lambda b: bytes(b"a,\r\n\""[x % 5] for x in b)))
def test_plain_finds_every_quote_and_bare_cr(data):
    import re

    from caseflow.registry.parallel import plain

    assert plain(data) == (re.search(rb'"|\r(?!\n)', data) is None)


def test_an_id_number_that_normalises_to_nothing_has_no_key():
    """A passport row with "-" for the number: no key, so it is nobody's duplicate and no lookup finds it."""
    ctx = _context()
    lines = [(2 + k, ["学生", "男", "2015-03-08", "", "护照", number, "L41010520150308123" + str(k), "4141000002", "",
                      "", "", "在籍", "", ""]) for k, number in enumerate(["-", "_", "E1234567"])]
    encoded = batch.encode_text(2, "\n".join(",".join(v) for _, v in lines) + "\n", ctx)
    _check(encoded, *_expected(lines, ctx))
    assert encoded.frame["id_key"].to_list()[:2] == [None, None] and encoded.frame["id_key"][2] is not None
