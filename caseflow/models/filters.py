"""A user's saved list filters: a name for a query string of /cases, /orders or /inbox."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.extensions import Model
from caseflow.models.types import UTCDateTime, now_utc

# The lists a filter can be saved for: their path is "/" + the name.
SAVED_FILTER_LISTS = ("cases", "orders", "inbox")


class SavedFilter(Model):
    """One named filter of one user; the query string is what ``ListFilters.to_args`` wrote."""

    __tablename__ = "saved_filters"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(40))
    list: Mapped[str] = mapped_column(sa.String(10))
    query: Mapped[str] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "name", name="uq_saved_filters_user_name"),
        sa.CheckConstraint("list IN ('cases', 'orders', 'inbox')", name="list_known"),
    )

    @property
    def url(self) -> str:
        return f"/{self.list}" + (f"?{self.query}" if self.query else "")
