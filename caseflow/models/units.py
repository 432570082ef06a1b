"""The unit hierarchy: ministry > province > city > county > school."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.extensions import Model
from caseflow.models.enums import UnitKind
from caseflow.models.types import enum_column


class Unit(Model):
    """An education unit; ``path`` is the chain of codes from the root, for subtree queries."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # "000000/410000/410100/" – every ancestor's code then this unit's; LIKE 'prefix%' finds a subtree.
    path: Mapped[str] = mapped_column(sa.String(255), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    hotline: Mapped[str | None] = mapped_column(sa.String(40))  # the published complaint phone (投诉电话)
    # The rest of the published complaint channel (投诉渠道公开, /directory).
    email: Mapped[str | None] = mapped_column(sa.String(120))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    office_hours: Mapped[str | None] = mapped_column(sa.String(100))
    directly_administered: Mapped[bool] = mapped_column(default=False)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    __table_args__ = (
        sa.CheckConstraint("(kind = 'ministry') = (parent_id IS NULL)", name="root_is_ministry"),
        # Subtree tests (path LIKE 'prefix%') on PostgreSQL under a non-C collation (migration 0012).
        sa.Index("ix_units_path_prefix", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    @property
    def is_school(self) -> bool:
        return self.kind is UnitKind.SCHOOL

    @property
    def ancestor_codes(self) -> list[str]:
        """Codes from the root down to this unit, inclusive."""
        return [c for c in self.path.split("/") if c]

    def is_within(self, other: Unit) -> bool:
        """True if this unit is ``other`` or lies below it."""
        return self.path.startswith(other.path)

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"

    @staticmethod
    def make_path(parent: Unit | None, code: str) -> str:
        return (parent.path if parent else "") + code + "/"
