"""Summary rows of the dashboard and the monthly report (kept by ``caseflow.chase.facts``)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.extensions import Model


class UnitFacts(Model):
    """One metric of one unit (counting everything below it too) in one Shanghai calendar month."""

    __tablename__ = "unit_facts"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)  # 'YYYY-MM'
    metric: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class CaseFacts(Model):
    """A case's own facts as last added to ``unit_facts`` (JSON [[unit id, month, metric, n], …]).

    No foreign key: when a case is deleted its row stays until the commit subtracts its facts.
    """

    __tablename__ = "case_facts"

    case_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    facts: Mapped[str] = mapped_column(sa.Text, default="[]")
