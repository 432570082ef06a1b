"""Linking registry records to a case: a frozen copy is the evidence, later imports do not change it."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import permissions
from caseflow.cases.operations import _event, flush
from caseflow.errors import InvalidInput, NotAllowed
from caseflow.extensions import db
from caseflow.models import Case, CaseRegistryLink, RegistryRecord, User
from caseflow.registry.importer import latest_imports
from caseflow.registry.lookup import _found_rows, _select
from caseflow.registry.validation import unseal_pii
from caseflow.security.audit import record_access


def link_record(user: User, case: Case, import_id: int, registry_key: int) -> CaseRegistryLink:
    """Attach one record of a current snapshot to the case, as it is now (the caller checked the case)."""
    permissions.check(user, "look_up_registry", denied="只有承办人或责任人可以关联学籍记录。")
    if import_id not in {imp.id for imp in latest_imports().values()}:
        raise InvalidInput("该学籍记录已不是最新数据，请重新查询后再关联。", field="record")
    row = db.session.execute(_select([import_id]).add_columns(RegistryRecord.pii)
                             .where(RegistryRecord.registry_key == registry_key).limit(1)).first()
    if row is None:
        raise InvalidInput("没有找到该学籍记录，请重新查询。", field="record")
    (found,) = _found_rows([row])
    if not found.school_path.startswith(user.unit.path):
        raise NotAllowed("该学籍记录不在您的管辖范围内，不能关联。")
    existing = db.session.scalars(sa.select(CaseRegistryLink).where(
        CaseRegistryLink.case_id == case.id, CaseRegistryLink.source == found.source,
        CaseRegistryLink.registry_key == found.registry_key)).first()
    if existing is not None:
        raise InvalidInput("该学籍记录已关联到本投诉。", field="record")
    link = CaseRegistryLink(case_id=case.id, source=found.source, as_of=found.as_of,
                            registry_key=found.registry_key, snapshot=found.snapshot(),
                            linked_by_id=user.id)
    db.session.add(link)
    _event(case, "registry_link", user,
           note=f"关联{found.source.label}学籍记录：{found.name} {found.registry_no}（{found.school_name}，"
                f"数据日期{found.as_of.isoformat()}）")
    record_access(user, "registry_link", "case", case.number, subject_id_number=unseal_pii(row.pii)[0],
                  detail=f"{found.source.label} {found.registry_no}")
    flush()
    return link


def links_for(case: Case) -> list[CaseRegistryLink]:
    """The records linked to a case, in the order they were linked."""
    return list(db.session.scalars(sa.select(CaseRegistryLink).where(CaseRegistryLink.case_id == case.id)
                                   .order_by(CaseRegistryLink.id)))
