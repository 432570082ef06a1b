"""Rendered PDFs of the orders, stored by the hash of the data they print."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from caseflow.extensions import Model
from caseflow.models.types import UTCDateTime, now_utc


class RenderedDocument(Model):
    """The stored masked PDF of one order.

    ``data_hash`` is the SHA-256 of the form data and the template; the file is
    ``PDF_DIR/<data_hash[:2]>/<data_hash>.pdf``.  A render is skipped when the
    hash of the current data equals it.  ``stale`` is set by the job in embedded
    mode so the next download renders on demand.  Unmasked prints are never stored.
    """

    __tablename__ = "rendered_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    data_hash: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int]
    page_count: Mapped[int]
    stale: Mapped[bool] = mapped_column(default=False)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    render_ms: Mapped[int] = mapped_column(default=0)

    @property
    def file_name(self) -> str:
        return f"{self.data_hash[:2]}/{self.data_hash}.pdf"
