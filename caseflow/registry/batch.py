"""Registry rows a chunk at a time: validation, masks, keyed hashes and encryption, ready for COPY.

``validate_row`` stays the rule book.  The vectorised pass here (Polars) only
*accepts* the rows it can prove valid in the common shape: ASCII numbers, ISO
dates, known codes, plain cells.  Every other row, and every chunk with quoted
fields, goes through ``validate_row``, which also words the reason for a
rejection; ``tests/registry/test_batch.py`` holds the two to the same answers.
Only the keyed hashes and the encryption remain per row in Python (OpenSSL
calls), which is what lets an import run near the speed of a bare ``COPY``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from caseflow.identity import mask_id_number, mask_phone, mask_registry_number
from caseflow.registry.validation import (
    CITIZEN_ID,
    CITIZEN_ID_ALIASES,
    FIELDS,
    LIMITS,
    SEX_ALIASES,
    STATUS_ALIASES,
    RowRejected,
    validate_row,
)
from caseflow.security import crypto

# Columns of registry_records in the order of the COPY text (import_id first).
COLUMNS = (
    "import_id", "line_no", "registry_no_hash", "registry_no_masked", "id_type", "id_hash", "id_masked", "pii",
    "name", "sex", "birth_date", "ethnicity", "school_code", "school_id", "grade", "class_name", "status",
    "guardian_name", "guardian_phone_masked",
)
# A validated row, before the derived (masked, hashed, sealed) columns.
CLEAN_SCHEMA = {
    "line_no": pl.Int64, "registry_no": pl.String, "id_type": pl.String, "id_number": pl.String,
    "name": pl.String, "sex": pl.String, "birth_date": pl.Date, "ethnicity": pl.String,
    "school_code": pl.String, "school_id": pl.Int64, "grade": pl.String, "class_name": pl.String,
    "status": pl.String, "guardian_name": pl.String, "guardian_phone": pl.String,
}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass
class Context:
    """What every chunk of one import needs: the file's columns, the known schools, the day, the import."""

    columns: dict[str, int]
    schools: dict[str, int]
    today: date
    import_id: int
    layout: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.layout = tuple(self.columns.get(f, -1) for f in FIELDS)


@dataclass
class Encoded:
    """One chunk done: the rows to store (COLUMNS), the rejects (report lines) and the records read."""

    frame: pl.DataFrame
    rejects: list[list]
    rows: int

    def copy_csv(self) -> bytes:
        """The rows as CSV for ``COPY … (FORMAT csv)``: an unquoted empty field is NULL."""
        if not self.frame.height:
            return b""
        return self.frame.write_csv(include_header=False).encode()


def reject_row(line_no: int, values: list[str], columns: dict[str, int], reason: str) -> list:
    """A line of the reject report: line number, masked registry number, name, reason."""
    reg_col, name_col = columns["registry_no"], columns["name"]
    reg = values[reg_col].strip() if reg_col < len(values) else ""
    name = values[name_col].strip() if name_col < len(values) else ""
    return [line_no, mask_registry_number(reg), name, reason]


def _is_blank(values: list[str]) -> bool:
    return not any(v.strip() for v in values)


def encode_text(first_line: int, text: str, ctx: Context) -> Encoded:
    """A chunk of whole CSV records whose first record is on line ``first_line`` of the file."""
    if '"' in text or text.count("\r") != text.count("\r\n"):
        # Quoted fields (maybe spanning lines) or bare CR line ends: the csv module reads them.
        reader = csv.reader(io.StringIO(text, newline=""))
        return encode_records(((first_line - 1 + reader.line_num, values) for values in reader), ctx)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    accepted, slow = _fast(first_line, lines, ctx)
    clean, rejects, rows = _slow(((first_line + i, lines[i].removesuffix("\r").split(",")) for i in slow), ctx)
    rows += accepted.height
    if clean:
        accepted = pl.concat([accepted, _frame(clean)])
    return Encoded(_finish(accepted, ctx), rejects, rows)


def encode_records(records: Iterable[tuple[int, list[str]]], ctx: Context) -> Encoded:
    """Records already split into cells (quoted CSV, XLSX): each through ``validate_row``."""
    clean, rejects, rows = _slow(records, ctx)
    return Encoded(_finish(_frame(clean), ctx), rejects, rows)


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


def _valid_id(expr: pl.Expr, today: date) -> pl.Expr:
    """An 18-character citizen ID number (upper case) that parse_id_number accepts."""
    total = pl.sum_horizontal([expr.str.slice(i, 1).cast(pl.Int32, strict=False) * w
                               for i, w in enumerate(_WEIGHTS)])
    check = pl.lit("10X98765432").str.slice(total % 11, 1)
    born = expr.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    return (expr.str.contains(r"^[1-9]\d{16}[\dX]$") & (expr.str.slice(17, 1) == check)
            & (born.dt.year() >= 1900) & (born <= today))


def _fast(first_line: int, lines: list[str], ctx: Context) -> tuple[pl.DataFrame, list[int]]:
    """The rows of a quote-free chunk that are valid in the common shape, and the indexes of the others."""
    width = max(ctx.layout) + 1
    frame = pl.DataFrame({"raw": pl.Series(lines, dtype=pl.String)}).with_row_index("i")
    # Blank lines are skipped (not counted); lines with NUL or the separators Python strips but Rust does not
    # (U+001C..U+001F) are left to the csv module's reading.
    frame = frame.filter(~pl.col("raw").str.contains(r"^[\s,]*$"))
    odd = pl.col("raw").str.contains(r"[\x00\x1c-\x1f]")
    split = pl.col("raw").str.splitn(",", width + 1)

    def cell(name: str) -> pl.Expr:
        index = ctx.layout[FIELDS.index(name)]
        if index < 0:
            return pl.lit("")
        return split.struct.field(f"field_{index}").fill_null("").str.strip_chars()

    frame = frame.select("i", odd.alias("odd"), *(cell(f).alias(f) for f in FIELDS if f != "school_name"))
    c = pl.col
    reg_shape = c("registry_no").str.contains(r"^[0-9A-Za-z]{19}$")
    reg = c("registry_no").str.to_uppercase()
    kind, body = reg.str.slice(0, 1), reg.str.slice(1, 18)
    body_born = body.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    id_shape = c("id_number").str.contains(r"^[0-9A-Za-z]*$")
    id_u = c("id_number").str.to_uppercase()
    citizen = c("id_type").is_in(list(CITIZEN_ID_ALIASES))
    has_id = c("id_number") != ""
    with_citizen_id = citizen & has_id
    frame = frame.with_columns(
        reg=reg, kind=kind, body=body, body_born=body_born, id_u=id_u, citizen=citizen, has_id=has_id,
        body_ok=_valid_id(body, ctx.today), id_ok=_valid_id(id_u, ctx.today),
        born=c("birth_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        sex_value=c("sex").replace_strict(SEX_ALIASES, default=None, return_dtype=pl.String),
        status_value=c("status").replace_strict({k: v.value for k, v in STATUS_ALIASES.items()}, default=None,
                                             return_dtype=pl.String),
        school_id=c("school_code").replace_strict(ctx.schools, default=None, return_dtype=pl.Int64),
        reg_shape=reg_shape, id_shape=id_shape, with_citizen_id=with_citizen_id,
    )
    g_ok = (c("kind") == "G") & c("body_ok") & c("with_citizen_id") & (c("id_u") == c("body"))
    j_ok = (c("kind") == "J") & c("body_ok")
    l_ok = (c("kind") == "L") & c("body").str.contains(r"^\d{18}$") & (c("body_born").dt.year() >= 1900)
    jl_id_ok = pl.when(c("with_citizen_id")).then(c("id_ok")).otherwise(True)
    id_sex = pl.when(c("with_citizen_id")).then(
        pl.when(c("id_u").str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1).then(pl.lit("male"))
        .otherwise(pl.lit("female")))
    id_born = pl.when(c("with_citizen_id")).then(c("id_u").str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False))
    lengths = [c(name).str.len_chars() <= limit for name, limit in LIMITS.items() if name != "id_number"]
    ok = pl.all_horizontal(
        ~c("odd"), c("name") != "", c("reg_shape"), c("id_shape"),
        g_ok | ((j_ok | l_ok) & jl_id_ok),
        c("birth_date").str.contains(r"^\d{4}-\d{2}-\d{2}$"), c("born").is_not_null(), c("born") == c("body_born"),
        id_born.is_null() | (id_born == c("born")),
        c("sex_value").is_not_null(), id_sex.is_null() | (id_sex == c("sex_value")),
        c("school_id").is_not_null(), c("status_value").is_not_null(),
        c("guardian_phone").str.contains(r"^[0-9-]*$"), c("id_u").str.len_chars() <= LIMITS["id_number"], *lengths,
    ).fill_null(False)
    frame = frame.with_columns(ok=ok)
    slow = frame.filter(~c("ok"))["i"].to_list()

    def none_if_empty(name: str) -> pl.Expr:
        return pl.when(c(name) != "").then(c(name))

    accepted = frame.filter(c("ok")).select(
        line_no=(c("i") + first_line).cast(pl.Int64), registry_no=c("reg"),
        id_type=pl.when(c("citizen")).then(pl.lit(CITIZEN_ID)).otherwise(c("id_type")),
        id_number=pl.when(c("has_id")).then(c("id_u")), name=c("name"), sex=c("sex_value"), birth_date=c("born"),
        ethnicity=none_if_empty("ethnicity"), school_code=c("school_code"), school_id=c("school_id"),
        grade=none_if_empty("grade"), class_name=none_if_empty("class_name"), status=c("status_value"),
        guardian_name=none_if_empty("guardian_name"), guardian_phone=none_if_empty("guardian_phone"),
    )
    return accepted.cast(CLEAN_SCHEMA), slow


def _finish(clean: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Add the masks, the keyed hashes and the sealed personal data; drop the plain numbers."""
    if not clean.height:
        return pl.DataFrame(schema={name: pl.String for name in COLUMNS})
    c = pl.col
    # The common shapes are masked column-wise; None marks a value left to the Python mask functions.
    masks = clean.select(
        reg=c("registry_no").str.slice(0, 7) + "********" + c("registry_no").str.slice(15, 4),
        id=pl.when(c("id_number").str.len_chars() == 18)
        .then(c("id_number").str.slice(0, 6) + "********" + c("id_number").str.slice(14, 4)),
        phone=pl.when(c("guardian_phone").str.contains(r"^[0-9]{11}$"))
        .then(c("guardian_phone").str.slice(0, 3) + "****" + c("guardian_phone").str.slice(7, 4)),
    )
    regs = clean["registry_no"].to_list()
    ids = clean["id_number"].to_list()
    phones = clean["guardian_phone"].to_list()
    id_masks = masks["id"].to_list()
    phone_masks = masks["phone"].to_list()
    reg_masks = masks["reg"].to_list()
    hasher = crypto.lookup_hasher()
    reg_hashes = [hasher(r) for r in regs]
    id_hashes: list[str | None] = []
    plain: list[str] = []
    for k, (reg, id_number, phone) in enumerate(zip(regs, ids, phones, strict=True)):
        if id_number:
            id_hashes.append(hasher(id_number))
            if id_masks[k] is None:
                id_masks[k] = mask_id_number(id_number)
        else:
            id_hashes.append(None)
        if phone and phone_masks[k] is None:
            phone_masks[k] = mask_phone(phone)
        if len(reg) != 19:
            reg_masks[k] = mask_registry_number(reg)
        plain.append(f"{id_number or ''}|{reg}|{phone or ''}")
    pii = crypto.seal_many(plain)
    return clean.select(
        pl.lit(ctx.import_id, dtype=pl.Int64).alias("import_id"), "line_no",
        pl.Series("registry_no_hash", reg_hashes, dtype=pl.String),
        pl.Series("registry_no_masked", reg_masks, dtype=pl.String), "id_type",
        pl.Series("id_hash", id_hashes, dtype=pl.String), pl.Series("id_masked", id_masks, dtype=pl.String),
        pl.Series("pii", pii, dtype=pl.String), "name", "sex", "birth_date", "ethnicity", "school_code",
        "school_id", "grade", "class_name", "status", "guardian_name",
        pl.Series("guardian_phone_masked", phone_masks, dtype=pl.String),
    )
