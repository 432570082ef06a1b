"""Validation of one registry row (DOMAIN §6). Pure: no database, no Flask.

Every rejection carries the reason in Chinese for the reject report.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from caseflow.identity import (
    InvalidNumber,
    RegistryNumber,
    normalise,
    normalise_phone,
    parse_id_number,
    parse_registry_number,
)
from caseflow.registry.status import RegistryStatus
from caseflow.security.text import strip_bidi

if TYPE_CHECKING:
    from caseflow.security.crypto import Keyring

# The accepted column headers (after stripping spaces); the first of each list is the canonical one.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "学生姓名"),
    "sex": ("性别",),
    "birth_date": ("出生日期",),
    "ethnicity": ("民族",),
    "id_type": ("身份证件类型", "证件类型"),
    "id_number": ("身份证件号", "身份证号", "身份证件号码", "身份证号码", "证件号码"),
    "registry_no": ("学籍号", "全国学籍号", "学籍编号"),
    "school_code": ("学校标识码", "学校代码"),
    "school_name": ("学校名称",),
    "grade": ("年级",),
    "class_name": ("班级",),
    "status": ("学籍状态",),
    "guardian_name": ("监护人姓名", "监护人1姓名", "第一监护人姓名"),
    "guardian_phone": ("联系电话", "监护人联系电话", "监护人电话", "监护人1联系电话"),
}
REQUIRED = ("name", "sex", "birth_date", "id_number", "registry_no", "school_code", "status")
FIELDS = tuple(HEADERS)
# Fields people type (names, class): bidirectional controls are removed from them (security.text).
TYPED_TEXT = frozenset({"name", "guardian_name", "class_name", "grade", "ethnicity"})

STATUS_ALIASES: dict[str, RegistryStatus] = {
    "在籍": RegistryStatus.ENROLLED, "在读": RegistryStatus.ENROLLED, "在校": RegistryStatus.ENROLLED,
    "正常": RegistryStatus.ENROLLED, "休学": RegistryStatus.SUSPENDED, "转出": RegistryStatus.TRANSFERRED_OUT,
    "转学": RegistryStatus.TRANSFERRED_OUT, "辍学": RegistryStatus.DROPPED_OUT, "退学": RegistryStatus.WITHDRAWN,
    "毕业": RegistryStatus.GRADUATED, "死亡": RegistryStatus.DECEASED, "注销": RegistryStatus.DECEASED,
    "注销（死亡）": RegistryStatus.DECEASED,
}
STATUS_ALIASES.update({s.value: s for s in RegistryStatus})
# The longest value each stored column holds (characters); a longer cell rejects its row, not the import.
LIMITS: dict[str, int] = {
    "name": 60, "id_type": 20, "id_number": 40, "ethnicity": 20, "school_code": 20, "grade": 20,
    "class_name": 40, "guardian_name": 60, "guardian_phone": 20,
}
LIMIT_LABELS = {"name": "姓名", "id_type": "身份证件类型", "id_number": "身份证件号", "ethnicity": "民族",
                "school_code": "学校标识码", "grade": "年级", "class_name": "班级", "guardian_name": "监护人姓名",
                "guardian_phone": "联系电话"}
SEX_ALIASES = {"男": "male", "女": "female", "1": "male", "2": "female", "male": "male", "female": "female"}
CITIZEN_ID = "居民身份证"
CITIZEN_ID_ALIASES = {"", CITIZEN_ID, "身份证", "居民身份证号", "1"}


class RowRejected(ValueError):
    """A row that fails a rule; ``str(exc)`` is the Chinese reason."""


@dataclass(slots=True)
class CleanRow:
    """A validated row, normalised, ready to be stored."""

    registry_no: str
    id_type: str
    id_number: str | None
    name: str
    sex: str
    birth_date: date
    ethnicity: str | None
    school_code: str
    school_id: int
    grade: str | None
    class_name: str | None
    status: RegistryStatus
    guardian_name: str | None
    guardian_phone: str | None


def map_headers(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column index of each known field, and the missing required headers (canonical names)."""
    lookup = {alias: field for field, aliases in HEADERS.items() for alias in aliases}
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = "".join(str(raw or "").split()).lstrip("\ufeff").replace("*", "")
        field = lookup.get(key)
        if field and field not in found:
            found[field] = index
    missing = [HEADERS[f][0] for f in REQUIRED if f not in found]
    return found, missing


def text(value) -> str:
    """A cell as trimmed text; spreadsheet numbers lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def parse_date(value) -> date:
    """2015-03-08, 2015/3/8, 20150308, 2015年3月8日, or a spreadsheet date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    if len(raw) == 10 and raw[4] == "-":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raw = raw.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    try:
        if raw.isdigit() and len(raw) == 8:
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        y, m, d = raw.split("-")
        return date(int(y), int(m), int(d))
    except ValueError:
        raise RowRejected(f"出生日期“{raw}”不是有效日期") from None


def column_layout(columns: dict[str, int]) -> tuple[int, ...]:
    """Column index of every field in FIELDS order; -1 (an appended empty cell) for a missing column."""
    return tuple(columns.get(f, -1) for f in FIELDS)


_LAYOUTS: dict[tuple, tuple[int, ...]] = {}


def validate_row(values: list[str], columns: dict[str, int], schools: dict[str, int], *,
                 today: date | None = None) -> CleanRow:
    """Check one row (cells as text) against every rule; raise ``RowRejected`` with the first failing reason."""
    key = tuple(columns.items())
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _LAYOUTS[key] = column_layout(columns)
    cells = [c.strip() for c in values]
    width = max(layout) + 1
    if len(cells) < width:
        cells.extend([""] * (width - len(cells)))
    cells.append("")
    (i_name, i_sex, i_birth, i_ethnicity, i_id_type, i_id, i_reg, i_school, _i_school_name, i_grade, i_class,
     i_status, i_guardian, i_phone) = layout
    for i in (i_name, i_ethnicity, i_grade, i_class, i_guardian):  # TYPED_TEXT
        cells[i] = strip_bidi(cells[i]).strip()
    name = cells[i_name]
    if not name:
        raise RowRejected("姓名为空")
    raw_reg = cells[i_reg]
    id_type = cells[i_id_type]
    raw_id = cells[i_id]
    citizen = id_type in CITIZEN_ID_ALIASES
    id_number: str | None = None
    id_born: date | None = None
    id_sex: str | None = None
    registry = None
    reg = normalise(raw_reg)
    if citizen and raw_id and len(reg) == 19 and reg[0] == "G" and normalise(raw_id) == reg[1:]:
        # The common case: a G number equal to G + the ID number; check the 18 characters once.
        try:
            parsed = parse_id_number(reg[1:], today=today)
        except InvalidNumber:
            parsed = None  # the slow path below words the reason
        if parsed is not None:
            id_number, id_born, id_sex = parsed.number, parsed.birth_date, parsed.sex
            registry = RegistryNumber(reg, "G", parsed.division_code, parsed.birth_date)
    if registry is None:
        try:
            registry = parse_registry_number(raw_reg, today=today)
        except InvalidNumber as exc:
            raise RowRejected(f"学籍号不正确：{exc}") from None
        if citizen and raw_id:
            try:
                parsed = parse_id_number(raw_id, today=today)
            except InvalidNumber as exc:
                raise RowRejected(f"身份证件号不正确：{exc}") from None
            id_number, id_born, id_sex = parsed.number, parsed.birth_date, parsed.sex
        elif raw_id:
            id_number = normalise(raw_id)
        if registry.kind == "G":
            if id_number is None or not citizen:
                raise RowRejected("G字头学籍号须有居民身份证号")
            if registry.number[1:] != id_number:
                raise RowRejected("G字头学籍号应为G加本人身份证号，两者不一致")
    if citizen:
        id_type = CITIZEN_ID
    raw_birth = cells[i_birth]
    if not raw_birth:
        raise RowRejected("出生日期为空")
    born = parse_date(raw_birth)
    if id_born is not None and born != id_born:
        raise RowRejected("出生日期与身份证号中的出生日期不一致")
    if registry.birth_date != born:
        raise RowRejected("出生日期与学籍号中的出生日期不一致")
    sex = SEX_ALIASES.get(cells[i_sex])
    if sex is None:
        raise RowRejected(f"性别“{cells[i_sex]}”无法识别，应为男或女")
    if id_sex is not None and sex != id_sex:
        raise RowRejected("性别与身份证号不一致（第17位奇数为男，偶数为女）")
    school_code = cells[i_school]
    school_id = schools.get(school_code)
    if school_id is None:
        raise RowRejected(f"学校标识码“{school_code}”不是已登记的学校")
    status = STATUS_ALIASES.get(cells[i_status])
    if status is None:
        raise RowRejected(f"学籍状态“{cells[i_status]}”无法识别")
    phone = cells[i_phone]
    phone = normalise_phone(phone) if phone else None
    for label, value in (("name", name), ("id_type", id_type), ("id_number", id_number),
                         ("ethnicity", cells[i_ethnicity]), ("grade", cells[i_grade]),
                         ("class_name", cells[i_class]), ("guardian_name", cells[i_guardian]),
                         ("guardian_phone", phone)):
        if value and len(value) > LIMITS[label]:
            raise RowRejected(f"{LIMIT_LABELS[label]}超过{LIMITS[label]}个字符")
    return CleanRow(
        registry_no=registry.number, id_type=id_type, id_number=id_number, name=name, sex=sex,
        birth_date=born, ethnicity=cells[i_ethnicity] or None, school_code=school_code, school_id=school_id,
        grade=cells[i_grade] or None, class_name=cells[i_class] or None, status=status,
        guardian_name=cells[i_guardian] or None, guardian_phone=phone,
    )


def unseal_pii(token: str, keyring: Keyring | None = None) -> tuple[str, str, str]:
    """(ID number, registry number, guardian phone) of a record's sealed ``pii`` ('' where absent).

    The sealed text is "id_number|registry_no|guardian_phone"; a G registry number equal to "G" + the
    ID number (most rows) is stored empty, 19 bytes less to encrypt, load and keep a row.
    ``keyring``: default, the current app's.
    """
    from caseflow.security import crypto

    id_number, registry_no, phone = (keyring or crypto.keyring()).decrypt(token).split("|")
    return id_number, registry_no or "G" + id_number, phone
