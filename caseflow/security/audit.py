"""The audit log: every look at personal data, every print, every registry lookup."""
from __future__ import annotations

from flask import current_app, has_app_context

from caseflow.extensions import db
from caseflow.models import AuditEntry, User
from caseflow.security import crypto


def _client_address() -> str | None:
    """The client's address when the change comes from a web request (the web layer says which)."""
    source = current_app.extensions.get("caseflow.client_address") if has_app_context() else None
    return source() if source is not None else None


def record_access(
    user: User | None,
    action: str,
    target_type: str,
    target_ref: str,
    *,
    subject_id_number: str | None = None,
    detail: str | None = None,
) -> AuditEntry:
    """Append one audit row in the current transaction (never the plaintext ID number)."""
    entry = AuditEntry(
        user_id=user.id if user else None,
        action=action,
        target_type=target_type,
        target_ref=target_ref,
        subject_hash=crypto.lookup_hash(subject_id_number),
        detail=detail,
        ip=_client_address(),
    )
    db.session.add(entry)
    return entry


ACTION_LABELS = {"reveal": "查看完整信息", "print": "打印", "lookup": "学籍查询", "audit_search": "查询审计日志",
                 "audit_export": "导出审计日志", "export": "导出列表", "export_full": "导出列表（完整信息）",
                 "registry_lookup": "为投诉查询学籍", "registry_link": "关联学籍记录",
                 "user_create": "创建账号", "user_update": "修改账号", "user_activate": "启用账号",
                 "user_deactivate": "停用账号", "user_reset_password": "重置密码", "user_reset_totp": "关闭两步验证",
                 "totp_enable": "启用两步验证", "totp_disable": "关闭两步验证", "totp_failure": "验证码错误",
                 "unit_create": "添加单位", "unit_update": "修改单位", "settings_save": "保存期限设置",
                 "calendar_set_day": "设置节假日", "calendar_remove_day": "删除节假日设置",
                 "calendar_import": "导入节假日安排", "calendar_confirm_year": "确认全年日历",
                 "api_call": "接口调用", "api_token_create": "创建接口令牌", "api_token_revoke": "吊销接口令牌"}
# The kinds of record an audit row is about, as the audit table names them.
TARGET_LABELS = {"case": "投诉", "order": "工作单", "person": "个人", "registry": "学籍", "user": "账号",
                 "unit": "单位", "calendar": "日历", "settings": "期限设置", "deadlines": "期限设置",
                 "api_token": "接口令牌"}


def who_looked(*, id_number: str | None = None, case_number: str | None = None,
               limit: int = 5000) -> list[AuditEntry]:
    """Audit rows about one person (by ID number, through its keyed hash) or one case and its orders.

    A case's rows are those naming the case or one of its orders, and those about its student.
    """
    import sqlalchemy as sa

    from caseflow.models import Case, Order

    conditions: list[sa.ColumnElement[bool]] = []
    if id_number:
        conditions.append(AuditEntry.subject_hash.in_(crypto.lookup_hashes(id_number)))
    if case_number:
        case = db.session.scalars(sa.select(Case).where(Case.number == case_number)).first()
        if case is not None:
            orders = sa.select(Order.number).where(Order.case_id == case.id)
            conditions.append(sa.and_(AuditEntry.target_type == "case", AuditEntry.target_ref == case.number))
            conditions.append(sa.and_(AuditEntry.target_type == "order", AuditEntry.target_ref.in_(orders)))
            if case.student is not None and case.student.id_number:
                conditions.append(AuditEntry.subject_hash.in_(crypto.lookup_hashes(case.student.id_number)))
    if not conditions:
        return []
    query = sa.select(AuditEntry).where(sa.or_(*conditions)).order_by(AuditEntry.created_at, AuditEntry.id)
    return list(db.session.scalars(query.limit(limit)))
