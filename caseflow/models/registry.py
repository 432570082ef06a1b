"""The student registry (学籍): imported snapshots of the two systems, problems, case links.

Personal data: the ID number, the full registry number (a G number embeds the ID
number) and the guardian's phone are kept only inside ``pii`` (sealed by the app's keyring,
``security/crypto.py``); lookups go through 64-bit keyed hashes (HMAC, ``Keyring.registry_key``/``id_key``);
the masked forms are stored for display so that lists never need to decrypt.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.extensions import Model
from caseflow.models.enums import Labelled
from caseflow.models.types import UTCDateTime, enum_column, now_utc
from caseflow.models.units import Unit
from caseflow.registry.status import ACTIVE_STATUSES, RegistryStatus  # noqa: F401 - re-exported (kept apart so import workers load no ORM)


class RegistrySource(Labelled):
    NATIONAL = "national", "国网"
    PROVINCIAL = "provincial", "省网"


def _binary(length: int) -> sa.types.TypeEngine:
    """Text compared byte-wise: PostgreSQL's "C" collation (SQLite compares byte-wise by default)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


class ImportState(Labelled):
    QUEUED = "queued", "排队中"
    LOADING = "loading", "导入中"
    ACTIVE = "active", "已生效"
    REPLACED = "replaced", "已被替换"
    FAILED = "failed", "失败"
    REFUSED = "refused", "文件被拒绝"


class ProblemKind(Labelled):
    ONLY_NATIONAL = "only_national", "国网已注册、省网未注册"
    ONLY_PROVINCIAL = "only_provincial", "省网已注册、国网未注册"
    MISMATCH = "mismatch", "国网省网注册信息不一致"
    DUPLICATE_ACTIVE = "duplicate_active", "一人多籍"
    GRADUATE_POOL = "graduate_pool", "滞留毕业生库"
    HEADCOUNT = "headcount", "人籍分离、空挂学籍（现场核查差额超标）"


class RegistryImport(Model):
    """One import of one extract: the snapshot of (source, as_of) once active, and its progress row.

    At most one import per (source, as_of) is active; a re-import becomes active
    and the old one replaced in the same transaction as its rows are loaded.
    """

    __tablename__ = "registry_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[RegistrySource] = mapped_column(enum_column(RegistrySource))
    as_of: Mapped[date]
    state: Mapped[ImportState] = mapped_column(enum_column(ImportState), default=ImportState.QUEUED)
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_path: Mapped[str | None] = mapped_column(sa.String(500))
    file_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    reject_report: Mapped[str | None] = mapped_column(sa.String(500))
    error: Mapped[str | None] = mapped_column(sa.Text)
    job_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_registry_imports_one_active", "source", "as_of", unique=True,
                 postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'")),
    )


class RegistryRecord(Model):
    """One row of an imported extract; ``line_no`` is its line in the file.

    On PostgreSQL the table is partitioned by import: each import loads and
    indexes its own partition, then attaches it in the transaction that makes it
    active; a replaced snapshot is dropped as a whole.  There are deliberately no
    foreign keys here (a per-row trigger would halve the bulk-load rate): the
    importer checks school codes itself and owns the partitions.
    """

    __tablename__ = "registry_records"

    import_id: Mapped[int] = mapped_column()
    line_no: Mapped[int] = mapped_column()
    # Keyed 64-bit hashes of the registry number and the ID number: small keys that index and join fast.
    registry_key: Mapped[int] = mapped_column(sa.BigInteger)
    registry_no_masked: Mapped[str] = mapped_column(sa.String(19))
    id_type: Mapped[str] = mapped_column(sa.String(20))
    id_key: Mapped[int | None] = mapped_column(sa.BigInteger)
    id_masked: Mapped[str | None] = mapped_column(sa.String(40))
    # "id_number|registry_no|guardian_phone" sealed by the keyring (AES-256-GCM or SM4-GCM).
    pii: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(_binary(60))
    sex: Mapped[str] = mapped_column(sa.String(6))
    birth_date: Mapped[date]
    ethnicity: Mapped[str | None] = mapped_column(sa.String(20))
    school_code: Mapped[str] = mapped_column(sa.String(20))
    school_id: Mapped[int]
    grade: Mapped[str | None] = mapped_column(sa.String(20))
    class_name: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[RegistryStatus] = mapped_column(enum_column(RegistryStatus))
    guardian_name: Mapped[str | None] = mapped_column(sa.String(60))
    guardian_phone_masked: Mapped[str | None] = mapped_column(sa.String(20))

    school: Mapped[Unit] = relationship(primaryjoin="foreign(RegistryRecord.school_id) == Unit.id")

    # No primary key in the database (a unique index per partition would cost a fifth of the load);
    # (import_id, line_no) identifies a row, and (import_id, registry_key) is unique after the import.
    __mapper_args__ = {"primary_key": [import_id, line_no]}

    __table_args__ = (
        # A unique index must hold the partition key; the others need not (each partition is one import).
        sa.Index("ix_registry_records_registry_key", "registry_key", "import_id", unique=True),
        sa.Index("ix_registry_records_id_key", "id_key"),
        sa.Index("ix_registry_records_name_birth", "name", "birth_date"),
        {"postgresql_partition_by": "LIST (import_id)"},
    )


class RegistryProblem(Model):
    """A problem found by a check run; a supervisor may turn it into a case."""

    __tablename__ = "registry_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The check that first found it (a later check that finds it again leaves the row as it is).
    check_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    kind: Mapped[ProblemKind] = mapped_column(enum_column(ProblemKind))
    # Units, without foreign keys (migration 0009): a check writes its problems in bulk, their schools
    # come from records the importer checked, and units are never deleted.
    school_id: Mapped[int] = mapped_column(index=True)
    # A duplicate registry (一人多籍) concerns a second school.
    other_school_id: Mapped[int | None]
    source: Mapped[RegistrySource | None] = mapped_column(enum_column(RegistrySource))
    registry_key: Mapped[int | None] = mapped_column(sa.BigInteger)
    registry_no_masked: Mapped[str | None] = mapped_column(sa.String(19))
    name: Mapped[str | None] = mapped_column(sa.String(60))
    detail: Mapped[str] = mapped_column(sa.Text)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # A filed problem that a later check no longer finds (an open one is deleted instead).
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    school: Mapped[Unit] = relationship(primaryjoin="foreign(RegistryProblem.school_id) == Unit.id")
    other_school: Mapped[Unit | None] = relationship(
        primaryjoin="foreign(RegistryProblem.other_school_id) == Unit.id")


class Headcount(Model):
    """Seed 004's on-site count: pupils counted in one grade of one school on a day."""

    __tablename__ = "registry_headcounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    grade: Mapped[str] = mapped_column(sa.String(20))
    counted_on: Mapped[date]
    counted: Mapped[int]
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    school: Mapped[Unit] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("school_id", "grade", "counted_on", name="uq_registry_headcounts_school_grade_day"),
        sa.CheckConstraint("counted >= 0", name="counted_not_negative"),
    )


class CaseRegistryLink(Model):
    """A registry record linked to a case, frozen as it was at linking time (the evidence)."""

    __tablename__ = "case_registry_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[RegistrySource] = mapped_column(enum_column(RegistrySource))
    as_of: Mapped[date]
    # The record's registry_key (None for links made before keys were 64-bit and whose record was gone).
    registry_key: Mapped[int | None] = mapped_column(sa.BigInteger)
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    linked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    __table_args__ = (
        sa.UniqueConstraint("case_id", "source", "registry_key", name="uq_case_registry_links_record"),
    )
