"""Registry rows a chunk at a time: validation, masks, lookup keys and encryption, ready for COPY.

``validate_row`` stays the rule book.  The vectorised pass here (Polars) only
*accepts* the rows it can prove valid in the common shape: ASCII numbers, ISO
dates, known codes, plain cells.  Every other row, and every chunk with quoted
fields, goes through ``validate_row``, which also words the reason for a
rejection; ``tests/registry/test_batch.py`` holds the two to the same answers.
The lookup keys and the sealed personal data come from the import's keyring
(``Keyring.record_keys``, ``Keyring.encrypt_column``): one HMAC a row where the
registry number is "G" + the ID number (two for the others) and one AEAD call a row.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.registry.validation import (
    CITIZEN_ID,
    CITIZEN_ID_ALIASES,
    FIELDS,
    LIMITS,
    SEX_ALIASES,
    STATUS_ALIASES,
    TYPED_TEXT,
    RowRejected,
    column_layout,
    validate_row,
)
from caseflow.security.crypto import Keyring
from caseflow.security.text import BIDI_PATTERN

# Columns of registry_records in the order of a chunk's frame; the COPY text has all but import_id, which is the
# default of the import's new table.
COLUMNS = (
    "import_id", "line_no", "registry_key", "registry_no_masked", "id_type", "id_key", "id_masked", "pii",
    "name", "sex", "birth_date", "ethnicity", "school_code", "school_id", "grade", "class_name", "status",
    "guardian_name", "guardian_phone_masked",
)
COPY_COLUMNS = COLUMNS[1:]
# A validated row, before the derived (masked, keyed, sealed) columns.
CLEAN_SCHEMA = {
    "line_no": pl.Int64, "registry_no": pl.String, "id_type": pl.String, "id_number": pl.String,
    "name": pl.String, "sex": pl.String, "birth_date": pl.Date, "ethnicity": pl.String,
    "school_code": pl.String, "school_id": pl.Int64, "grade": pl.String, "class_name": pl.String,
    "status": pl.String, "guardian_name": pl.String, "guardian_phone": pl.String,
}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass
class Context:
    """What every chunk of one import needs: the file's columns, the known schools, the day, the import,
    and the keyring that keys and seals the rows."""

    columns: dict[str, int]
    schools: dict[str, int]
    today: date
    import_id: int
    keys: Keyring = field(repr=False)
    layout: tuple[int, ...] = field(init=False)
    plans: dict[str, tuple[list[pl.Expr], ...]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.layout = column_layout(self.columns)

    def plan(self, kind: str = "any") -> tuple[list[pl.Expr], ...]:
        """The column-wise checks for a chunk of this kind (:func:`_chunk_kind`), planned once per import."""
        if kind not in self.plans:
            self.plans[kind] = _plan(self, kind)
        return self.plans[kind]


@dataclass
class Encoded:
    """One chunk done: the rows to store (COLUMNS), the rejects (report lines) and the records read.

    ``plain``: the chunk's text held no backslash and no tab, so no cell needs escaping for ``COPY``.
    """

    frame: pl.DataFrame
    rejects: list[list]
    rows: int
    plain: bool = False

    def copy_text(self) -> bytes:
        """The rows in ``COPY``'s text format (``COPY_COLUMNS``, tab-separated, ``\\N`` for NULL; cheaper for
        PostgreSQL to parse than CSV).  Backslash, tab and line breaks inside a cell are escaped the way COPY
        reads them."""
        if not self.frame.height:
            return b""
        frame = self.frame.select(COPY_COLUMNS)
        texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
        # An empty cell is stored as NULL (as CSV's unquoted empty field was).
        frame = frame.with_columns(pl.when(pl.col(texts) != "").then(pl.col(texts)).name.keep())
        if not self.plain and frame.select(
                pl.any_horizontal(pl.col(texts).str.contains(r"[\\\t\n\r]")).any()).item():
            escaped = pl.col(texts)
            for char, code in _COPY_ESCAPES:
                escaped = escaped.str.replace_all(char, code, literal=True)
            frame = frame.with_columns(escaped)
        out = io.BytesIO()
        frame.write_csv(out, include_header=False, separator="\t", null_value="\\N", quote_style="never")
        return out.getvalue()

    def for_copy(self) -> tuple[bytes, list[list], int]:
        """(COPY text, rejects, records read): what a worker hands back for the importer to load."""
        return self.copy_text(), self.rejects, self.rows


_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # backslash first


def reject_row(line_no: int, values: list[str], columns: dict[str, int], reason: str) -> list:
    """A line of the reject report: line number, masked registry number, name, reason."""
    reg_col, name_col = columns["registry_no"], columns["name"]
    reg = values[reg_col].strip() if reg_col < len(values) else ""
    name = values[name_col].strip() if name_col < len(values) else ""
    return [line_no, mask_registry_number(reg), name, reason]


def _is_blank(values: list[str]) -> bool:
    return not any(v.strip() for v in values)


class NotUtf8(ValueError):
    """A chunk given as bytes is not valid UTF-8."""


def encode_text(first_line: int, text: str | bytes, ctx: Context, *, checked: bool = False) -> Encoded:
    """A chunk of whole CSV records whose first record is on line ``first_line`` of the file.

    ``checked``: the caller found no quote and no bare CR in it (``parallel.plain``), so each line is a
    record; such a chunk may be UTF-8 bytes (checked here, :class:`NotUtf8`), which Polars takes as they
    are, where a Python ``str`` costs a decode and an encode back (~0.7 µs a row together).
    """
    if not checked:
        text = text.decode() if isinstance(text, bytes) else text
        if '"' in text or text.count("\r") != text.count("\r\n"):
            # Quoted fields (maybe spanning lines) or bare CR line ends: the csv module reads them.
            reader = csv.reader(io.StringIO(text, newline=""))
            return encode_records(((first_line - 1 + reader.line_num, values) for values in reader), ctx)
    if isinstance(text, bytes):
        try:
            raw = pl.Series("raw", [text], dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.ComputeError:
            raise NotUtf8 from None
        backslash, tab = b"\\", b"\t"
    else:
        raw = pl.Series("raw", [text], dtype=pl.String)
        backslash, tab = "\\", "\t"
    accepted, slow = _fast(first_line, raw, ctx, _chunk_kind(text))
    # Cells come from comma-split lines of this text: with no backslash or tab here, none needs escaping.
    return _combine(accepted, [(line_no, line.removesuffix("\r").split(",")) for line_no, line in slow], ctx,
                    plain=backslash not in text and tab not in text)


def encode_records(records: Iterable[tuple[int, list[str]]], ctx: Context) -> Encoded:
    """Records already split into cells (quoted CSV, XLSX).

    A record whose cells hold no comma, quote or line break is joined back into a plain line for the
    column-wise pass; the others go through ``validate_row`` as they are.
    """
    plain_lines: list[str] = []
    plain: list[tuple[int, list[str]]] = []
    other: list[tuple[int, list[str]]] = []
    for line_no, values in records:
        line = ",".join(values)
        if line.count(",") == len(values) - 1 and '"' not in line and "\n" not in line and "\r" not in line:
            plain_lines.append(line)
            plain.append((line_no, values))
        else:
            other.append((line_no, values))
    accepted = _frame([])
    if plain_lines:
        accepted, slow = _fast(0, "\n".join(plain_lines), ctx)  # line_no = the index in ``plain`` here
        numbers = pl.Series([line_no for line_no, _ in plain], dtype=pl.Int64)
        accepted = accepted.with_columns(line_no=numbers.gather(accepted["line_no"]))
        other = sorted(other + [plain[i] for i, _ in slow])
    return _combine(accepted, other, ctx)


def _combine(accepted: pl.DataFrame, others: list[tuple[int, list[str]]], ctx: Context, *,
             plain: bool = False) -> Encoded:
    """The rows the column-wise pass accepted, plus ``others`` through ``validate_row``, in file order.

    File order matters: of two equal registry numbers the first line is the one kept.
    """
    clean, rejects, rows = _slow(others, ctx)
    rows += accepted.height
    if clean:
        accepted = pl.concat([accepted, _frame(clean)]).sort("line_no")
    # validate_row normalises (NFKC): a full-width backslash in a phone or passport number becomes a backslash,
    # so its rows are looked at for characters to escape whatever the raw text held.
    return Encoded(_finish(accepted, ctx), rejects, rows, plain and not clean)


def _slow(records: Iterable[tuple[int, list[str]]], ctx: Context) -> tuple[list[tuple], list[list], int]:
    clean: list[tuple] = []
    rejects: list[list] = []
    rows = 0
    for line_no, values in records:
        if _is_blank(values):
            continue
        rows += 1
        try:
            row = validate_row(values, ctx.columns, ctx.schools, today=ctx.today)
        except RowRejected as exc:
            rejects.append(reject_row(line_no, values, ctx.columns, str(exc)))
            continue
        clean.append((line_no, row.registry_no, row.id_type, row.id_number, row.name, row.sex, row.birth_date,
                      row.ethnicity, row.school_code, row.school_id, row.grade, row.class_name, row.status.value,
                      row.guardian_name, row.guardian_phone))
    return clean, rejects, rows


def _frame(clean: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(clean, schema=CLEAN_SCHEMA, orient="row")


_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ID_LIKE = r"^[1-9][0-9]{16}[0-9X]$"


def _check_ok(values: pl.Series) -> pl.Series:
    """The ISO 7064 MOD 11-2 check character of each 18-byte value is right (False for other lengths).

    NumPy over the bytes: as Polars expressions the 17 weighted digits cost more to plan than to run.
    """
    fits = (values.str.len_bytes() == 18).fill_null(False)
    padded = pl.select(pl.when(fits).then(values).otherwise(pl.lit("0" * 18))).to_series()
    raw = np.frombuffer(padded.str.join("").item().encode(), dtype=np.uint8).reshape(-1, 18)
    total = (raw[:, :17].astype(np.int64) - 48) @ np.array(_WEIGHTS, dtype=np.int64)
    return pl.Series(fits.to_numpy() & (_CHECK[total % 11] == raw[:, 17]))


def _born(text: pl.Expr) -> pl.Expr:
    """The birth date in characters 7..14 of an 18-character number (null if it is no date)."""
    return text.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)


# The first byte of every character that the cells of a UTF-8 chunk are stripped of or checked for: ASCII white
# space but LF and CR, NUL and U+001C..U+001F, and the lead bytes of the other Unicode white space (U+0085 and
# U+00A0: C2; U+1680: E1; U+2000..U+205F: E2; U+3000: E3) and of the bidirectional controls (U+061C: D8; the
# others: E2).  Each is one memchr over the chunk (~0.04 ms for 2 MB).
_UNCLEAN = (b" ", b"\t", b"\x0b", b"\x0c", b"\x00", b"\x1c", b"\x1d", b"\x1e", b"\x1f", b"\xc2", b"\xd8", b"\xe1",
            b"\xe2", b"\xe3")


def _chunk_kind(text: str | bytes) -> str:
    """``"clean"``: a UTF-8 chunk with none of the bytes of ``_UNCLEAN`` (no cell has anything to strip but the CR
    of a CRLF line end, no bidirectional control, no odd separator), ``"clean_crlf"`` the same with CRLF line
    ends (a plain chunk has no other CR), ``"any"`` every other chunk (and text given as ``str``)."""
    if not isinstance(text, bytes) or any(byte in text for byte in _UNCLEAN):
        return "any"
    return "clean_crlf" if b"\r" in text else "clean"


def _plan(ctx: Context, kind: str = "any") -> tuple[list[pl.Expr], ...]:
    """The column-wise checks as Polars expressions, in stages so that each derived column is computed once.

    Built once per import (and worker process) and kind of chunk, not once per chunk.  In a clean chunk
    (:func:`_chunk_kind`) the cells are taken as they are (their stripping and scans cost a tenth of the
    chunk's time): only a CRLF line's last cell loses its CR, and a line too short to reach that cell is left
    to ``validate_row`` (its CR sits in an earlier cell).
    """
    c = pl.col
    width = max(ctx.layout) + 1
    clean = kind != "any"

    def cell(name: str) -> pl.Expr:
        index = ctx.layout[FIELDS.index(name)]
        if index < 0:
            return pl.lit("").alias(name)
        # A short line leaves null cells: such rows fail the checks below and go to validate_row.
        value = c("parts").struct.field(f"field_{index}")
        if clean:
            return (value.str.strip_suffix("\r") if kind == "clean_crlf" and index == width - 1 else value).alias(name)
        if name in TYPED_TEXT:  # the one normaliser's pattern (security.text); the scan costs half the rewrite
            value = pl.when(value.str.contains(BIDI_PATTERN)).then(value.str.replace_all(BIDI_PATTERN, "")) \
                .otherwise(value)
        return value.str.strip_chars().alias(name)

    split = [c("i"), c("raw"), c("raw").str.splitn(",", width + 1).alias("parts")]
    if not clean:
        # NUL, and the separators U+001C..U+001F that Python strips and Rust does not: left to the csv module.
        odd = c("raw").str.contains(r"[\x00\x1c-\x1f]")
    elif kind == "clean_crlf":
        odd = c("parts").struct.field(f"field_{width - 1}").is_null()  # a short line: its CR is in another cell
    else:
        odd = pl.lit(False)
    cells = [c("i"), c("raw"), odd.alias("odd"), *(cell(f) for f in FIELDS if f != "school_name")]
    upper = [c("registry_no").str.to_uppercase().alias("reg"), c("id_number").str.to_uppercase().alias("id_u")]
    derived = [
        c("registry_no").str.contains(r"^[0-9A-Za-z]{19}$").alias("reg_shape"),
        c("reg").str.slice(0, 1).alias("kind"), c("reg").str.slice(1, 18).alias("body"),
        c("id_number").str.contains(r"^[0-9A-Za-z]*$").alias("id_shape"),
        (c("id_type").is_in(list(CITIZEN_ID_ALIASES)) & (c("id_number") != "")).alias("citizen_id"),
        c("birth_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("born"),
        c("sex").replace_strict(SEX_ALIASES, default=None, return_dtype=pl.String).alias("sex_value"),
        c("status").replace_strict({k: v.value for k, v in STATUS_ALIASES.items()}, default=None,
                                   return_dtype=pl.String).alias("status_value"),
        (c("school_code").replace_strict(ctx.schools, default=None, return_dtype=pl.Int64) if ctx.schools
         else pl.lit(None, dtype=pl.Int64)).alias("school_id"),
        _born(c("id_u")).alias("id_born"),
    ]
    born_body = [_born(c("body")).alias("body_born")]
    # An ID-like number (G and J bodies, citizen ID numbers) as parse_id_number accepts it.
    body_id = (c("body").str.contains(_ID_LIKE) & c("body_check")
               & (c("body_born").dt.year() >= 1900) & (c("body_born") <= ctx.today))
    citizen_id = (c("id_u").str.contains(_ID_LIKE) & c("id_check")
                  & (c("id_born").dt.year() >= 1900) & (c("id_born") <= ctx.today))
    ids = [body_id.alias("body_id"), citizen_id.alias("citizen_id_ok")]  # columns: each is used twice
    # G: G + the citizen ID number of the row.  J: ID-like.  L: 18 digits with a birth date.
    registry = (((c("kind") == "G") & c("body_id") & c("citizen_id") & (c("id_u") == c("body")))
                | (((c("kind") == "J") & c("body_id"))
                   | ((c("kind") == "L") & c("body").str.contains(r"^[0-9]{18}$")
                      & (c("body_born").dt.year() >= 1900)))
                & (~c("citizen_id") | c("citizen_id_ok")))
    id_sex = pl.when(c("id_u").str.slice(16, 1).is_in(["1", "3", "5", "7", "9"])).then(
        pl.lit("male")).otherwise(pl.lit("female"))
    lengths = [c(name).str.len_chars() <= limit for name, limit in LIMITS.items() if name != "id_number"]
    ok = pl.all_horizontal(
        ~c("odd"), c("name") != "", c("reg_shape"), c("id_shape"), registry,
        c("birth_date").str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), c("born") == c("body_born"),
        ~c("citizen_id") | (c("id_born") == c("born")),
        c("sex_value").is_not_null(), ~c("citizen_id") | (id_sex == c("sex_value")),
        c("school_id").is_not_null(), c("status_value").is_not_null(),
        c("guardian_phone").str.contains(r"^[0-9-]*$"), c("id_u").str.len_chars() <= LIMITS["id_number"],
        *lengths,
    ).fill_null(False).alias("ok")

    def none_if_empty(name: str) -> pl.Expr:
        return pl.when(c(name) != "").then(c(name)).alias(name)

    output = [
        c("i").alias("line_no"), c("reg").alias("registry_no"),  # 19 ASCII letters and digits: kind + body
        pl.when(c("id_type").is_in(list(CITIZEN_ID_ALIASES))).then(pl.lit(CITIZEN_ID)).otherwise(c("id_type"))
        .alias("id_type"),
        pl.when(c("id_u") != "").then(c("id_u")).alias("id_number"), c("name"), c("sex_value").alias("sex"),
        c("born").alias("birth_date"), none_if_empty("ethnicity"), c("school_code"), c("school_id"),
        none_if_empty("grade"), none_if_empty("class_name"), c("status_value").alias("status"),
        none_if_empty("guardian_name"), none_if_empty("guardian_phone"),
    ]
    return split, cells, upper, derived, born_body, ids, [ok], output


_NO_PLANNING = pl.QueryOptFlags.none()


def _fast(first_line: int, text: str | pl.Series, ctx: Context,
          kind: str = "any") -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """The rows of a quote-free chunk that are valid in the common shape, and the (line, text) of the others.

    ``text``: the chunk, or a one-value String series of it; ``kind``: what :func:`_chunk_kind` says of it.
    """
    split, cells, upper, derived, born_body, ids, ok, output = ctx.plan(kind)
    raw = text if isinstance(text, pl.Series) else pl.Series("raw", [text], dtype=pl.String)
    # Blank lines are skipped, not counted.  In a clean chunk only empty ones are dropped here (the one after the
    # last LF); the rare others (commas alone, a CR) fail the checks and validate_row's caller skips them.
    blank = pl.col("raw").str.contains(r"^[\s,]*$") if kind == "any" else pl.col("raw") == ""
    frame = (
        pl.LazyFrame({"raw": raw}).select(pl.col("raw").str.split("\n")).explode("raw")
        .with_row_index("i", offset=first_line)
        .filter(~blank)
        .select(split).select(cells).with_columns(upper).with_columns(derived).with_columns(born_body)
        .collect(optimizations=_NO_PLANNING)
    )
    frame = frame.with_columns(body_check=_check_ok(frame["body"]), id_check=_check_ok(frame["id_u"]))
    ok_mask = frame.lazy().with_columns(ids).select(ok).collect(optimizations=_NO_PLANNING).to_series()
    others = frame.select("i", "raw").filter(~ok_mask)
    slow = list(zip(others["i"].to_list(), others["raw"].to_list(), strict=True))
    # Only the output columns are filtered (the frame holds some forty).
    accepted = frame.lazy().select(output).collect(optimizations=_NO_PLANNING)
    if len(slow):
        accepted = accepted.filter(ok_mask)
    return accepted.cast(CLEAN_SCHEMA), slow


def _finish(clean: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Add the masks, the lookup keys and the sealed personal data; drop the plain numbers."""
    if not clean.height:
        return pl.DataFrame(schema={name: pl.String for name in COLUMNS})
    c = pl.col
    # The common shapes are masked column-wise; None marks a value left to the Python mask functions.
    derived = clean.select(
        reg=c("registry_no").str.slice(0, 7) + "********" + c("registry_no").str.slice(15, 4),
        id=pl.when(c("id_number").str.len_chars() == 18)
        .then(c("id_number").str.slice(0, 6) + "********" + c("id_number").str.slice(14, 4)),
        phone=pl.when(c("guardian_phone").str.contains(r"^[0-9]{11}$"))
        .then(c("guardian_phone").str.slice(0, 3) + "****" + c("guardian_phone").str.slice(7, 4)),
        # "id|registry_no|phone", the registry number left out where it is "G" + the ID number (unseal_pii).
        plain=pl.concat_str([c("id_number").fill_null(""), pl.lit("|"),
                             pl.when(c("registry_no").str.starts_with("G")
                                     & (c("registry_no").str.slice(1) == c("id_number"))).then(pl.lit(""))
                             .otherwise(c("registry_no")), pl.lit("|"), c("guardian_phone").fill_null("")]),
    )
    id_masks = _mask_rest(derived["id"], clean["id_number"], mask_id_number)
    phone_masks = _mask_rest(derived["phone"], clean["guardian_phone"], mask_phone)
    registry_keys, id_keys = ctx.keys.record_keys(clean["registry_no"], clean["id_number"])
    return clean.select(
        pl.lit(ctx.import_id, dtype=pl.Int64).alias("import_id"), "line_no",
        registry_keys.alias("registry_key"), derived["reg"].alias("registry_no_masked"),
        "id_type", id_keys.alias("id_key"), id_masks.alias("id_masked"),
        _sealed(derived["plain"], ctx.keys), "name",
        "sex", "birth_date", "ethnicity", "school_code", "school_id", "grade", "class_name", "status",
        "guardian_name", phone_masks.alias("guardian_phone_masked"),
    )


def _sealed(plain: pl.Series, keys: Keyring) -> pl.Series:
    """Each row's personal data sealed (``Keyring.encrypt_column``)."""
    if plain.null_count():
        raise ValueError("a row without its personal-data value")
    return keys.encrypt_column(plain.cast(pl.Binary).to_list()).alias("pii")


def _mask_rest(masked: pl.Series, values: pl.Series, mask) -> pl.Series:
    """Fill in the masks of the uncommon shapes (null where a value exists) with the Python function."""
    if not (masked.is_null() & values.is_not_null()).any():
        return masked
    filled = masked.to_list()
    for k, value in enumerate(values.to_list()):
        if value and filled[k] is None:
            filled[k] = mask(value)
    return pl.Series(masked.name, filled, dtype=pl.String)
