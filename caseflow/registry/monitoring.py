"""Turning a detected registry problem into a case (source: data monitoring, not a citizen)."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import permissions
from caseflow.cases.intake import ComplaintInput, PersonInput, validate_complaint
from caseflow.cases.operations import submit_complaint
from caseflow.errors import IllegalTransition, InvalidInput, NotInJurisdiction
from caseflow.extensions import db
from caseflow.models import (
    Case,
    CaseSource,
    Category,
    Headcount,
    ProblemKind,
    RegistryProblem,
    RegistryRecord,
    Unit,
    UnitKind,
    User,
)
from caseflow.registry.importer import latest_imports
from caseflow.registry.validation import unseal_pii

CATEGORY = {
    ProblemKind.ONLY_NATIONAL: Category.ONE_SYSTEM_ONLY,
    ProblemKind.ONLY_PROVINCIAL: Category.ONE_SYSTEM_ONLY,
    ProblemKind.MISMATCH: Category.MISMATCH,
    ProblemKind.DUPLICATE_ACTIVE: Category.DUPLICATE,
    ProblemKind.GRADUATE_POOL: Category.GRADUATE_POOL,
    ProblemKind.HEADCOUNT: Category.SEPARATED,
}


def visible_problems(user: User) -> sa.Select:
    """Problems at schools in the user's part of the unit tree."""
    return (sa.select(RegistryProblem).join(Unit, Unit.id == RegistryProblem.school_id)
            .where(Unit.path.startswith(user.unit.path, autoescape=True)))


def _student(problem: RegistryProblem) -> PersonInput:
    """The student as the current snapshot records them (ID number decrypted for the case's encrypted columns)."""
    ids = [imp.id for imp in latest_imports().values()]
    record = None
    if problem.registry_key is not None and ids:
        record = db.session.scalars(sa.select(RegistryRecord).where(
            RegistryRecord.registry_key == problem.registry_key,
            RegistryRecord.import_id.in_(ids))).first()
    if record is None:
        return PersonInput(name=problem.name or "（未知）")
    id_number, registry_no, _ = unseal_pii(record.pii)
    return PersonInput(name=record.name, sex=record.sex, ethnicity=record.ethnicity,
                       id_number=id_number or None, registry_no=registry_no, birth_date=record.birth_date)


def open_case(user: User, problem_id: int) -> Case:
    """A supervisor turns a problem into a case addressed (by routing) to the school's competent bureau."""
    permissions.check(user, "open_problem_case")
    problem = db.session.scalars(visible_problems(user).where(RegistryProblem.id == problem_id)
                                 .with_for_update(of=RegistryProblem)).first()
    if problem is None:
        raise NotInJurisdiction("没有找到该问题，或不在您的管辖范围内。")
    if problem.case_id is not None:
        raise IllegalTransition("该问题已经立案。")
    schools = [problem.school.code] + ([problem.other_school.code] if problem.other_school else [])
    data = validate_complaint(ComplaintInput(
        reporter=f"数据监测（{user.unit.name}）",
        student=_student(problem),
        category=CATEGORY[problem.kind].value,
        description=f"学籍数据监测发现：{problem.kind.label}。{problem.detail}。"
                    f"学生：{problem.name or ''}（学籍号{problem.registry_no_masked or '无'}）。",
        schools=schools,
        source=CaseSource.MONITORING.value,
    ), sources=(CaseSource.MONITORING,))
    case, _ = submit_complaint(data, source=CaseSource.MONITORING, actor=user)
    problem.case_id = case.id
    db.session.flush()
    return case


def problem_page(user: User, kind: str | None, page: int):
    """One page of the visible problems, optionally of one kind, by school."""
    query = visible_problems(user).order_by(Unit.code, RegistryProblem.kind, RegistryProblem.id)
    if kind:
        try:
            query = query.where(RegistryProblem.kind == ProblemKind(kind))
        except ValueError:
            raise InvalidInput("未知的问题类型", field="kind") from None
    return db.paginate(query, page=page, per_page=50, error_out=False)


def problem_summary(user: User) -> list[tuple[str, dict[str, int]]]:
    """Counts per problem kind for each unit directly below the user's unit (a city, a county, a school)."""
    depth = len(user.unit.ancestor_codes)
    rows = db.session.execute(
        sa.select(Unit.path, RegistryProblem.kind, sa.func.count()).join(Unit, Unit.id == RegistryProblem.school_id)
        .where(Unit.path.startswith(user.unit.path, autoescape=True)).group_by(Unit.path, RegistryProblem.kind))
    by_code: dict[str, dict[str, int]] = {}
    for path, kind, count in rows:
        codes = [c for c in path.split("/") if c]
        code = codes[depth] if len(codes) > depth else codes[-1]
        bucket = by_code.setdefault(code, {})
        bucket[kind.value] = bucket.get(kind.value, 0) + count
    names = dict(db.session.execute(sa.select(Unit.code, Unit.name).where(Unit.code.in_(by_code))).all())
    return [(names.get(code, code), by_code[code]) for code in sorted(by_code)]


def record_headcount(user: User, school_code: str, grade: str, counted_on, counted: int) -> Headcount:
    """Enter (or correct) the on-site count of one grade of one school on a day (seed 004)."""
    school = db.session.scalars(sa.select(Unit).where(Unit.code == school_code.strip())).first()
    if school is None or school.kind is not UnitKind.SCHOOL:
        raise InvalidInput("找不到该学校标识码", field="school_code")
    if not school.path.startswith(user.unit.path):
        raise InvalidInput("该学校不在您的管辖范围内", field="school_code")
    if counted < 0:
        raise InvalidInput("人数不能为负数", field="counted")
    grade = grade.strip()
    entry = db.session.scalars(sa.select(Headcount).where(
        Headcount.school_id == school.id, Headcount.grade == grade, Headcount.counted_on == counted_on)).first()
    if entry is None:
        entry = Headcount(school_id=school.id, grade=grade, counted_on=counted_on)
        db.session.add(entry)
    entry.counted, entry.entered_by_id = counted, user.id
    db.session.flush()
    return entry
