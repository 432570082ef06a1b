"""Looking a student up in both registry systems, with flags, audit and unit-tree scope.

Results show only records at schools in the user's part of the unit tree; an
exact ID-number match also tells that registries exist elsewhere (unit name
only), which is how duplicate registries across counties are found.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.identity import (
    InvalidNumber,
    mask_id_number,
    mask_registry_number,
    parse_id_number,
    parse_registry_number,
)
from caseflow.models import ACTIVE_STATUSES, Case, RegistryImport, RegistryRecord, RegistrySource, Unit, User
from caseflow.registry.importer import latest_imports
from caseflow.security import crypto
from caseflow.security.audit import record_access

# Fields whose difference between the two systems is a mismatch (注册信息不一致).
KEY_FIELDS = ("name", "sex", "birth_date", "id_key", "school_code", "status")
PRIMARY_FINAL_GRADES = ("六年级",)
FLAG_LABELS = {
    "duplicate_active": "一人多籍：同一系统中有多个有效学籍",
    "only_national": "国网有、省网无",
    "only_provincial": "省网有、国网无",
    "mismatch": "国网、省网关键信息不一致",
    "graduate_pool": "滞留毕业生库：小学毕业后未在初中注册",
}


@dataclass(frozen=True)
class LookupQuery:
    """One of: an ID number, a registry number, or a name with a birth date (normalised)."""

    kind: str  # "id_number", "registry_no", "name_birth"
    id_number: str | None = None
    registry_no: str | None = None
    name: str | None = None
    birth_date: date | None = None

    def describe(self) -> str:
        """The query as written to the audit log (masked)."""
        if self.kind == "id_number":
            return f"身份证件号 {mask_id_number(self.id_number)}"
        if self.kind == "registry_no":
            return f"学籍号 {mask_registry_number(self.registry_no)}"
        return f"姓名 {self.name}，出生日期 {self.birth_date.isoformat()}"

    @property
    def subject_id_number(self) -> str | None:
        if self.id_number:
            return self.id_number
        if self.registry_no and self.registry_no.startswith("G"):
            return self.registry_no[1:]
        return None


def parse_query(*, id_number: str | None = None, registry_no: str | None = None, name: str | None = None,
                birth_date: str | date | None = None) -> LookupQuery:
    """Validate what the user typed; errors name the field they belong to."""
    if id_number and id_number.strip():
        try:
            return LookupQuery("id_number", id_number=parse_id_number(id_number).number)
        except InvalidNumber as exc:
            raise InvalidInput(str(exc), field="id_number") from None
    if registry_no and registry_no.strip():
        try:
            return LookupQuery("registry_no", registry_no=parse_registry_number(registry_no).number)
        except InvalidNumber as exc:
            raise InvalidInput(str(exc), field="registry_no") from None
    name = (name or "").strip()
    if name or birth_date:
        if not name:
            raise InvalidInput("按姓名查询时请填写姓名", field="name")
        if not birth_date:
            raise InvalidInput("按姓名查询时请同时填写出生日期", field="birth_date")
        if isinstance(birth_date, str):
            try:
                birth_date = date.fromisoformat(birth_date.strip())
            except ValueError:
                raise InvalidInput("出生日期格式应为2015-03-08", field="birth_date") from None
        return LookupQuery("name_birth", name=name, birth_date=birth_date)
    raise InvalidInput("请填写身份证件号、学籍号，或姓名加出生日期", field="id_number")


@dataclass
class FoundRecord:
    """A record as shown: masked, with its school and snapshot."""

    source: RegistrySource
    as_of: date
    registry_no: str
    registry_key: int
    id_number: str
    id_key: int | None
    name: str
    sex: str
    birth_date: date
    ethnicity: str | None
    school_code: str
    school_name: str
    school_path: str
    grade: str | None
    class_name: str | None
    status: str
    guardian_name: str | None
    guardian_phone: str | None
    import_id: int
    line_no: int

    def as_json(self) -> dict:
        return {"source": self.source.value, "registry_no": self.registry_no, "id_number": self.id_number,
                "name": self.name, "school_code": self.school_code, "status": self.status,
                "as_of": self.as_of.isoformat()}

    def snapshot(self) -> dict:
        """Everything shown, for the frozen copy a case keeps."""
        return {**self.as_json(), "sex": self.sex, "birth_date": self.birth_date.isoformat(),
                "ethnicity": self.ethnicity, "school_name": self.school_name, "grade": self.grade,
                "class_name": self.class_name, "guardian_name": self.guardian_name,
                "guardian_phone": self.guardian_phone}


@dataclass
class LookupResult:
    records: list[FoundRecord]
    flags: list[str]
    elsewhere: list[dict] = field(default_factory=list)
    as_of: dict[str, str] = field(default_factory=dict)
    query_text: str = ""

    def as_json(self) -> dict:
        return {"records": [r.as_json() for r in self.records], "flags": self.flags,
                "elsewhere": self.elsewhere}

    def flag_labels(self) -> list[str]:
        return [FLAG_LABELS[f] for f in self.flags]

    @functools.cached_property
    def mismatches(self) -> dict[int, set[str]]:
        """The fields to highlight: per registry key, where 国网 and 省网 disagree."""
        return mismatched_fields(self.records)

    def differs(self, record: FoundRecord, *fields: str) -> bool:
        """Whether ``record`` disagrees with the other system on any of ``fields``."""
        return bool(self.mismatches.get(record.registry_key, set()) & set(fields))


_SHOWN = ("import_id", "line_no", "registry_no_masked", "registry_key", "id_masked", "id_key", "name", "sex",
          "birth_date", "ethnicity", "school_code", "grade", "class_name", "status", "guardian_name",
          "guardian_phone_masked")


def _select(import_ids) -> sa.Select:
    """The shown columns of records, with their school's name and path (UNION-able, one round trip).

    The school comes from scalar subqueries, which PostgreSQL runs as one primary-key probe per record:
    as a join the planner hashed the whole unit table for every lookup, a cost that grows with the
    province.  The snapshot's source and date come from the caller's snapshots (:func:`_found_rows`).
    """
    r = RegistryRecord

    def school(column) -> sa.Label:
        return sa.select(column).where(Unit.id == r.school_id).scalar_subquery().label(f"school_{column.key}")

    return sa.select(*(getattr(r, c) for c in _SHOWN), school(Unit.name), school(Unit.path)).where(
        r.import_id.in_(import_ids))


def _found_rows(rows, snapshots: dict[int, RegistryImport] | None = None) -> list[FoundRecord]:
    """The records with their snapshot (``snapshots`` by id, when the caller has them)."""
    rows = list(rows)
    if rows and snapshots is None:
        snapshots = {i.id: i for i in db.session.execute(
            sa.select(RegistryImport.id, RegistryImport.source, RegistryImport.as_of)
            .where(RegistryImport.id.in_({row.import_id for row in rows})))}
    return [_found_row(row, snapshots[row.import_id]) for row in rows]


def _found_row(row, snapshot) -> FoundRecord:
    m = row._mapping
    return FoundRecord(
        source=RegistrySource(snapshot.source), as_of=snapshot.as_of, registry_no=m["registry_no_masked"],
        registry_key=m["registry_key"], id_number=m["id_masked"] or "", id_key=m["id_key"],
        name=m["name"], sex=m["sex"], birth_date=m["birth_date"], ethnicity=m["ethnicity"],
        school_code=m["school_code"], school_name=m["school_name"], school_path=m["school_path"],
        grade=m["grade"], class_name=m["class_name"], status=str(m["status"].value if hasattr(m["status"], "value")
                                                                 else m["status"]),
        guardian_name=m["guardian_name"], guardian_phone=m["guardian_phone_masked"], import_id=m["import_id"],
        line_no=m["line_no"],
    )


def find(query: LookupQuery, imports: list[RegistryImport] | None = None) -> list[FoundRecord]:
    """Every record of the person in the given snapshots (default: the latest of each source; no scope).

    One round trip: the direct matches, then everything sharing their registry
    numbers or ID numbers (the same person under another registry number), with their schools.
    """
    snapshots = {imp.id: imp for imp in (imports if imports is not None else latest_imports().values())}
    ids = list(snapshots)
    if not ids:
        return []
    # The masked number is compared too: a 64-bit key shared by two different numbers finds only the right one.
    if query.kind == "id_number":
        params = {"value": crypto.id_key(query.id_number), "masked": mask_id_number(query.id_number)}
    elif query.kind == "registry_no":
        params = {"value": crypto.registry_key(query.registry_no), "masked": mask_registry_number(query.registry_no)}
    else:
        params = {"name": query.name, "birth_date": query.birth_date}
    found: dict[tuple[int, int], FoundRecord] = {}
    for f in _found_rows(db.session.execute(_find_statement(query.kind), {**params, "ids": ids}), snapshots):
        found.setdefault((f.import_id, f.line_no), f)
    return sorted(found.values(), key=lambda f: (f.source.value, f.school_code, f.registry_no))


@functools.cache
def _find_statement(kind: str) -> sa.CompoundSelect:
    """The lookup statement of one kind, built once (building it cost more than running it)."""
    r = RegistryRecord
    if kind == "id_number":
        cond = sa.and_(r.id_key == sa.bindparam("value"), r.id_masked == sa.bindparam("masked"))
    elif kind == "registry_no":
        cond = sa.and_(r.registry_key == sa.bindparam("value"), r.registry_no_masked == sa.bindparam("masked"))
    else:
        cond = sa.and_(r.name == sa.bindparam("name"), r.birth_date == sa.bindparam("birth_date"))
    ids = sa.bindparam("ids", expanding=True)
    direct = sa.select(r.registry_key, r.id_key).where(r.import_id.in_(ids), cond).cte("direct")
    by_number = _select(ids).where(r.registry_key.in_(sa.select(direct.c.registry_key)))
    by_id = _select(ids).where(r.id_key.in_(sa.select(direct.c.id_key).where(direct.c.id_key.is_not(None))))
    return by_number.union_all(by_id)


def mismatched_fields(records: list[FoundRecord]) -> dict[int, set[str]]:
    """Per registry held by both systems, the key fields (``KEY_FIELDS``) on which they differ."""
    national = {r.registry_key: r for r in records if r.source is RegistrySource.NATIONAL}
    provincial = {r.registry_key: r for r in records if r.source is RegistrySource.PROVINCIAL}
    out = {}
    for key in national.keys() & provincial.keys():
        differ = {k for k in KEY_FIELDS if getattr(national[key], k) != getattr(provincial[key], k)}
        if differ:
            out[key] = differ
    return out


def flags_for(records: list[FoundRecord]) -> list[str]:
    """The flags of one person's records across both sources."""
    flags = []
    active = {RegistrySource.NATIONAL: set(), RegistrySource.PROVINCIAL: set()}
    by_source: dict[RegistrySource, dict[int, FoundRecord]] = {s: {} for s in RegistrySource}
    for f in records:
        by_source[f.source][f.registry_key] = f
        if f.status in {s.value for s in ACTIVE_STATUSES}:
            active[f.source].add(f.registry_key)
    if any(len(keys) > 1 for keys in active.values()):
        flags.append("duplicate_active")
    national, provincial = by_source[RegistrySource.NATIONAL], by_source[RegistrySource.PROVINCIAL]
    if set(national) - set(provincial):
        flags.append("only_national")
    if set(provincial) - set(national):
        flags.append("only_provincial")
    if mismatched_fields(records):
        flags.append("mismatch")
    if any(f.status == "graduated" and f.grade in PRIMARY_FINAL_GRADES and not active[f.source]
           for f in records):
        flags.append("graduate_pool")
    return flags


def _parent_code(path: str) -> str:
    """The code of the unit above the last one of a unit path ("…/410303/4141000001/" → "410303")."""
    codes = [c for c in path.split("/") if c]
    return codes[-2] if len(codes) > 1 else ""


def _bureaus(school_paths: list[str]) -> dict[str, str]:
    """Names of the bureaus above these schools, by code: a record outside the user's tree names its county,
    never its school."""
    codes = {_parent_code(p) for p in school_paths} - {""}
    if not codes:
        return {}
    return {code: name for code, name in db.session.execute(sa.select(Unit.code, Unit.name).where(Unit.code.in_(codes)))}


def lookup(user: User | None, query: LookupQuery, *, case: Case | None = None,
           reason: str | None = None) -> LookupResult:
    """Look a person up for ``user`` (None: the command line, unscoped); always audited.

    Outside a case a reason is required.  The caller has already checked that
    ``user`` may see ``case``.
    """
    reason = (reason or "").strip()
    if case is None and not reason:
        raise InvalidInput("不在投诉办理中查询学籍时，请填写查询理由", field="reason")
    if len(reason) > 500:
        raise InvalidInput("查询理由不能超过500字", field="reason")
    imports = latest_imports()
    records = find(query, list(imports.values()))
    if user is not None:
        prefix = user.unit.path
        mine = [f for f in records if f.school_path.startswith(prefix)]
        others = [f for f in records if not f.school_path.startswith(prefix)]
    else:
        mine, others = records, []
    elsewhere = []
    if query.kind == "id_number":
        bureaus = _bureaus([f.school_path for f in others])
        elsewhere = [{"source": f.source.value, "source_label": f.source.label,
                      "unit": bureaus.get(_parent_code(f.school_path), "")} for f in others]
        flags = flags_for(records)
    else:
        flags = flags_for(mine)
    detail = f"{query.describe()}；结果{len(mine)}条"
    if elsewhere:
        detail += f"，辖区外{len(elsewhere)}条"
    if reason:
        detail += f"；理由：{reason}"
    record_access(user, "registry_lookup", "case" if case else "registry", case.number if case else "lookup",
                  subject_id_number=query.subject_id_number, detail=detail)
    as_of = {imp.source.value: imp.as_of.isoformat() for imp in imports.values()}
    return LookupResult(mine, flags, elsewhere, as_of, query.describe())
