"""The compiled codec (``caseflow/registry/_codec.c``) gives exactly the rows of the Polars path.

``test_batch`` holds the Polars path to ``validate_row``; here the codec is held to the
Polars path, chunk for chunk: the same COPY rows (the sealed data compared opened, its
nonces being random), the same rejects, the same count.  The cells add the shapes where
C and Python could part ways: space-like characters at a cell's edge, control
characters, backslashes, limits to the character, phone masks of every length.
"""
from __future__ import annotations

import platform
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflow.identity import check_char, mask_id_number, mask_phone, mask_registry_number
from caseflow.registry import batch
from caseflow.registry.validation import map_headers, unseal_pii
from caseflow.security import crypto
from tests.factories import make_id_number
from tests.registry import test_batch as reference
from tests.registry.helpers import HEADER

TODAY = reference.TODAY
ID = reference.ID
ID_X = next(n for n in (make_id_number(seq=s) for s in range(100, 400)) if n.endswith("X"))
L_BODY = "410105201503081234"
CELLS = {key: list(values) for key, values in reference.CELLS.items()}
for key, extra in {
    "姓名": ["\u00a0张三", "张三\u3000", "张\\三", "张\t三", " 张三 ", "张" * 60, "a\x7fb", "\u2028张", "张\u200b"],
    "性别": ["Male", "女 "],
    "出生日期": ["2015-3-08", " 2015-03-08", "2016-02-29", "2015-03-08\t"],
    "民族": ["汉\\族", "回" * 20, " 汉族"],
    "身份证件类型": [" 居民身份证 ", "居民身份证号", "护照" * 10, "护照" * 10 + "护"],
    "身份证件号": [ID_X, ID_X.lower(), "e1234567", "A" * 40, "A" * 41],
    "学籍号": ["G" + ID_X, "g" + ID_X.lower(), "j" + reference.J_BODY + check_char(reference.J_BODY),
               "l" + L_BODY, "L410105202701011234", "L410105201502301234"],
    "学校标识码": [" 4141000001 ", "4141000001\u3000"],
    "年级": ["年" * 20, "四\\年级"],
    "班级": ["班" * 40, "2\t班"],
    "学籍状态": [" 在籍", "毕业 ", "graduated"],
    "监护人姓名": ["人" * 60, "\u00a0张大山"],
    "联系电话": ["138-1234-5678", "1234", "12345", "123456789", "1" * 20, "13812345678 ", "1381234567"],
}.items():
    CELLS[key] += extra
ROWS = st.lists(st.fixed_dictionaries({h: st.sampled_from(v) for h, v in CELLS.items()}), min_size=1,
                max_size=25)


@pytest.fixture(scope="module", autouse=True)
def keys():
    crypto.configure("test-key-one,test-key-two")


def _contexts(header=HEADER) -> tuple[batch.Context, batch.Context]:
    columns, missing = map_headers(header)
    assert not missing
    polars = batch.Context(columns, reference.SCHOOLS, TODAY, 7)
    native = batch.Context(columns, reference.SCHOOLS, TODAY, 7, native=True)
    assert polars.codec is None and native.codec is not None
    return polars, native


def _unescape(cell: str) -> str | None:
    if cell == "\\N":
        return None
    out, chars = [], iter(cell)
    for char in chars:
        out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[next(chars)] if char == "\\" else char)
    return "".join(out)


def _copy_rows(encoded: batch.Encoded) -> dict[int, tuple]:
    """The COPY text as rows by line number, the sealed data opened."""
    rows = {}
    for line in encoded.copy_text().decode().splitlines():
        cells = [_unescape(cell) for cell in line.split("\t")]
        assert len(cells) == len(batch.COLUMNS)
        record = dict(zip(batch.COLUMNS, cells, strict=True))
        record["pii"] = unseal_pii(record["pii"])
        assert int(record["line_no"]) not in rows
        rows[int(record["line_no"])] = record
    return rows


def _same(text: bytes, first_line: int = 10, header=HEADER) -> batch.Encoded:
    polars, native = _contexts(header)
    expected = batch.encode_text(first_line, text, polars, checked=True)
    got = batch.encode_text(first_line, text, native, checked=True)
    assert got.rejects == expected.rejects
    assert got.rows == expected.rows
    assert _copy_rows(got) == _copy_rows(expected)
    return got


def _as_validate_row_says(encoded: batch.Encoded, lines: list[tuple[int, list[str]]], ctx: batch.Context) -> None:
    """The COPY rows straight against ``validate_row`` (not only through the Polars path)."""
    accepted, rejected = reference._expected(lines, ctx)
    assert {r[0]: r[3] for r in encoded.rejects} == rejected
    rows = _copy_rows(encoded)
    assert set(rows) == set(accepted)
    for line_no, clean in accepted.items():
        row = rows[line_no]
        reg, id_number, phone = clean.registry_no, clean.id_number, clean.guardian_phone
        assert row == {
            "import_id": "7", "line_no": str(line_no), "registry_key": str(crypto.registry_key(reg)),
            "registry_no_masked": mask_registry_number(reg), "id_type": clean.id_type,
            "id_key": None if id_number is None else str(crypto.registry_key(id_number)),
            "id_masked": mask_id_number(id_number) or None, "pii": (id_number or "", reg, phone or ""),
            "name": clean.name, "sex": clean.sex, "birth_date": clean.birth_date.isoformat(),
            "ethnicity": clean.ethnicity, "school_code": clean.school_code, "school_id": str(clean.school_id),
            "grade": clean.grade, "class_name": clean.class_name, "status": clean.status.value,
            "guardian_name": clean.guardian_name, "guardian_phone_masked": mask_phone(phone) or None,
        }


def test_the_codec_is_built_and_runs_here():
    """CI must exercise the compiled path: a build that silently failed would leave only Polars."""
    assert batch._codec is not None, "caseflow/registry/_codec.c was not built (make setup)"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if platform.machine() == "x86_64" and " aes" in flags:
        assert batch.native_available()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, blank_every=st.integers(min_value=0, max_value=4), crlf=st.booleans(),
       blank=st.sampled_from(["", " , ,", "\t", ",,", "\u3000", ",\x1c,"]),
       cuts=st.lists(st.integers(min_value=-8, max_value=len(HEADER) + 1), min_size=25, max_size=25),
       end=st.booleans())
def test_chunks_match_the_polars_path(rows, blank_every, crlf, blank, cuts, end):
    texts, lines = [], []
    for k, row in enumerate(rows):
        if blank_every and k % blank_every == 0:
            texts.append(blank)
        values = [row.get(h, "") for h in HEADER]
        if 0 <= cuts[k] < len(HEADER):
            values = values[:cuts[k] + 1]
        elif cuts[k] == len(HEADER):
            values = values + ["多余"]
        elif cuts[k] == len(HEADER) + 1:
            values = [""] * len(HEADER) + ["x"]
        lines.append((10 + len(texts), values))
        texts.append(",".join(values))
    text = ("\r\n" if crlf else "\n").join(texts) + ("\n" if end else "")
    _as_validate_row_says(_same(text.encode()), lines, _contexts()[1])


def test_the_common_shape_never_leaves_the_codec():
    """The speed rests on this: valid rows in the usual shapes are all written in C."""
    _, native = _contexts()
    rows = []
    for seq in range(1, 200):
        number = make_id_number(seq=seq)
        rows.append(["学生", "男" if seq % 2 else "女", "2015-03-08", "汉族", "居民身份证", number, "G" + number,
                     "4141000001", "某小学", "四年级", "2班", "在籍", "家长", "13812345678"])
    rows.append(["学生", "男", "2015-03-08", "", "", "", reference.J, "4141000002", "", "", "", "休学", "", ""])
    rows.append(["学生", "男", "2015-03-08", "", "护照", "E1234567", "L410105201503081234", "4141000002", "", "",
                 "", "毕业", "", "0371-65900000"])
    text = ("\n".join(",".join(r) for r in rows) + "\n").encode()
    copy, slow, accepted = native.codec.encode(text, 2)
    assert slow == [] and accepted == len(rows)
    assert len(copy.splitlines()) == len(rows)
    _same(text, 2)


def test_reordered_and_missing_columns():
    header = ["学籍号", "姓名", "学籍状态", "出生日期", "身份证号", "性别", "学校代码"]
    values = ["G" + ID, "张小明", "在籍", "2015-03-08", ID, "男", "4141000001"]
    got = _same((",".join(values) + "\n").encode(), 2, header)
    assert got.frame.height == 0 and got.text.count(b"\n") == 1  # written by the codec


def test_text_decoded_from_gbk_goes_through_the_codec_too():
    """encode_chunk passes a GBK file's chunks as text: the codec takes them re-encoded."""
    line = ",".join(["张小明", "男", "2015-03-08", "汉族", "居民身份证", ID, "G" + ID, "4141000001", "", "四年级",
                     "2班", "在籍", "张大山", "13812345678"])
    polars, native = _contexts()
    got = batch.encode_text(5, line + "\n", native, checked=True)
    expected = batch.encode_text(5, line + "\n", polars, checked=True)
    assert got.text and _copy_rows(got) == _copy_rows(expected)


@pytest.mark.parametrize("data", [b"\xff\xfe", "张".encode()[:2] + b",x\n", b"\xed\xa0\x80\n", b"\xc0\xaf\n",
                                  b"\xf4\x90\x80\x80\n"])
def test_bytes_that_are_not_utf8_are_refused(data):
    """Strict UTF-8 as Python decodes it: truncated, surrogate, overlong and out-of-range sequences."""
    with pytest.raises(UnicodeDecodeError):
        data.decode()
    _, native = _contexts()
    with pytest.raises(batch.NotUtf8):
        batch.encode_text(2, b"a,b\n" + data, native, checked=True)


def test_a_backslash_that_normalisation_makes_is_escaped():
    """validate_row turns a full-width backslash into "\\" (NFKC): the COPY text must escape it, though the raw
    chunk held no backslash (both paths; PostgreSQL would read a trailing backslash as escaping the tab)."""
    base = ["学生", "男", "2015-03-08", "", "护照", "ABCDEFGHIJ＼", "L410105201503081234", "4141000002", "", "", "",
            "在籍", "", "1234567８９＼"]
    lines = [(2, base)]
    text = (",".join(base) + "\n").encode()
    got = _same(text, 2)
    _as_validate_row_says(got, lines, _contexts()[1])
    row = _copy_rows(got)[2]
    assert row["id_masked"].endswith("\\") and row["guardian_phone_masked"].endswith("\\")


def test_an_uninitialised_codec_refuses_to_run():
    codec = batch._codec.Codec.__new__(batch._codec.Codec)
    with pytest.raises(RuntimeError):
        codec.encode(b"a\n", 2)
    _, native = _contexts()
    with pytest.raises(TypeError):
        native.codec.__init__(layout=native.layout, limits=[-1] * 14, today=20261123, import_id=7, schools={},
                              sexes={}, statuses={}, citizen=5, citizen_id="x", registry_key=bytes(32),
                              seal_key=bytes(32))
    with pytest.raises(RuntimeError):
        native.codec.encode(b"a\n", 2)


def test_every_kind_of_utf8_is_accepted():
    polars, native = _contexts()
    name = "é张\U0001f600"  # two, three and four bytes
    line = ",".join([name, "男", "2015-03-08", "", "居民身份证", ID, "G" + ID, "4141000001", "", "", "", "在籍", "", ""])
    got = _same((line + "\n").encode(), 2)
    assert got.rows == 1 and got.text


def test_seal_and_keys_open_with_the_python_functions():
    """The C AES-CMAC and EAX against ``cryptography``: keys equal, tokens open (tag checked) to the value."""
    _, native = _contexts()
    lines = []
    for seq in range(1, 60):
        number = make_id_number(seq=seq)
        lines.append(",".join(["学生", "男" if seq % 2 else "女", "2015-03-08", "", "居民身份证", number,
                               "G" + number, "4141000001", "", "", "", "在籍", "", "1" * (seq % 21)]))
    copy, slow, accepted = native.codec.encode(("\n".join(lines)).encode(), 2)
    assert accepted == len(lines) and not slow
    for k, row in enumerate(copy.decode().splitlines()):
        cells = dict(zip(batch.COLUMNS, row.split("\t"), strict=True))
        number = make_id_number(seq=k + 1)
        assert int(cells["registry_key"]) == crypto.registry_key("G" + number)
        assert int(cells["id_key"]) == crypto.registry_key(number)
        assert unseal_pii(cells["pii"]) == (number, "G" + number, "1" * ((k + 1) % 21))
        middle = len(cells["pii"]) // 2  # a whole base64 character of the ciphertext, not padding bits
        tampered = cells["pii"][:middle] + ("A" if cells["pii"][middle] != "A" else "B") + cells["pii"][middle + 1:]
        with pytest.raises(RuntimeError):
            crypto.unseal(tampered)


def test_the_day_bounds_birth_dates():
    """A number born after ``today`` is not the codec's to accept (validate_row words the reason)."""
    polars, native = _contexts()
    born = make_id_number(born=date(2026, 11, 24), seq=123)
    line = ",".join(["学生", "男", "2026-11-24", "", "居民身份证", born, "G" + born, "4141000001", "", "", "", "在籍", "", ""])
    got = _same((line + "\n").encode(), 2)
    assert got.rows == 1 and len(got.rejects) == 1 and not got.text
