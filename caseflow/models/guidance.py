"""Before a complaint: the published FAQ, its counts, and the rules (政策依据) held as versioned data."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.extensions import Model
from caseflow.models.enums import Category
from caseflow.models.types import UTCDateTime, enum_column, now_utc


class PolicyRule(Model):
    """One version of one article of a source document; a later amendment is a new row, never an edit."""

    __tablename__ = "policy_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(40))  # the document's key, e.g. "zhoukou-2022"
    source_title: Mapped[str] = mapped_column(sa.String(200))
    source_date: Mapped[date]
    article: Mapped[str] = mapped_column(sa.String(40))  # "第十一条（二）"
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)
    effective_from: Mapped[date]
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    __table_args__ = (sa.UniqueConstraint("source", "article", "version", name="uq_policy_rules_version"),)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.article}"

    @property
    def citation(self) -> str:
        return f"《{self.source_title}》{self.article}"


class FaqEntry(Model):
    """A question and its answer for one complaint category (plain text, simple formatting)."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[Category] = mapped_column(enum_column(Category), index=True)
    question: Mapped[str] = mapped_column(sa.String(200))
    answer: Mapped[str] = mapped_column(sa.Text)
    rule_key: Mapped[str | None] = mapped_column(sa.String(90))  # "source:article" of the rule it rests on
    position: Mapped[int] = mapped_column(default=0)
    published: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class FaqCount(Model):
    """Per month and category: visitors who opened an answer, and how many of them submitted anyway."""

    __tablename__ = "faq_counts"

    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)  # YYYY-MM (Shanghai)
    category: Mapped[Category] = mapped_column(enum_column(Category), primary_key=True)
    opened: Mapped[int] = mapped_column(default=0, server_default="0")
    submitted: Mapped[int] = mapped_column(default=0, server_default="0")


class OrderCitation(Model):
    """An article cited on an order (printed as 政策依据): the exact version that was cited."""

    __tablename__ = "order_citations"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("policy_rules.id"))
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    rule: Mapped[PolicyRule] = relationship()

    __table_args__ = (sa.UniqueConstraint("order_id", "rule_id", name="uq_order_citations_rule"),)


def cited_rules(order_id: int) -> sa.Select:
    """The article versions an order cites, in the order they were cited (for its page and its PDF)."""
    return (sa.select(PolicyRule).join(OrderCitation, OrderCitation.rule_id == PolicyRule.id)
            .where(OrderCitation.order_id == order_id).order_by(OrderCitation.id))
