"""The FAQ (常见问题) per complaint category, and how often an answer was read before a complaint anyway.

A visitor who opens an answer is counted once per category (the web layer remembers which categories
this visitor opened); if the same visitor then submits a complaint in that category, it counts as
"submitted anyway". The deflection rate is the share of openers who did not submit.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.guidance import rules
from caseflow.models import Category, FaqCount, FaqEntry, PolicyRule
from caseflow.timeutil import local_today

SEED_FILE = Path(__file__).parent / "data" / "faq.toml"
QUESTION_MAX, ANSWER_MAX = 200, 4000


def entries(category: Category | None = None, *, published_only: bool = True) -> list[FaqEntry]:
    query = sa.select(FaqEntry).order_by(FaqEntry.category, FaqEntry.position, FaqEntry.id)
    if category is not None:
        query = query.where(FaqEntry.category == category)
    if published_only:
        query = query.where(FaqEntry.published.is_(True))
    return list(db.session.scalars(query))


def by_category(items: list[FaqEntry]) -> dict[Category, list[FaqEntry]]:
    grouped: dict[Category, list[FaqEntry]] = {}
    for entry in items:
        grouped.setdefault(entry.category, []).append(entry)
    return {c: grouped[c] for c in Category if c in grouped}


def cited(items: list[FaqEntry]) -> dict[str, PolicyRule]:
    """The current version of each rule the entries cite."""
    return rules.current_many({e.rule_key for e in items if e.rule_key})


def save(entry: FaqEntry | None, *, category: Category, question: str, answer: str, rule_key: str | None,
         published: bool = True) -> FaqEntry:
    """Create or change an entry; the cited rule must exist."""
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question:
        raise InvalidInput("请填写问题", field="question")
    if len(question) > QUESTION_MAX:
        raise InvalidInput(f"问题不能超过{QUESTION_MAX}个字", field="question")
    if not answer:
        raise InvalidInput("请填写解答", field="answer")
    if len(answer) > ANSWER_MAX:
        raise InvalidInput(f"解答不能超过{ANSWER_MAX}个字", field="answer")
    rule_key = (rule_key or "").strip() or None
    if rule_key and rules.current(rule_key) is None:
        raise InvalidInput(f"没有找到政策依据“{rule_key}”（格式：来源:条款，例如 zhoukou-2022:第十一条（二））",
                           field="rule_key")
    if entry is None:
        position = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(FaqEntry.position), 0))
                                     .where(FaqEntry.category == category)) or 0
        entry = FaqEntry(position=position + 1)
        db.session.add(entry)
    entry.category, entry.question, entry.answer = category, question, answer
    entry.rule_key, entry.published = rule_key, published
    db.session.flush()
    return entry


def seed(path: Path = SEED_FILE) -> int:
    """Add the seed entries when there are none yet; returns how many were added."""
    if db.session.scalar(sa.select(sa.func.count(FaqEntry.id))):
        return 0
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for item in data.get("entry", []):
        save(None, category=Category(item["category"]), question=item["question"], answer=item["answer"],
             rule_key=item.get("rule"))
    return len(data.get("entry", []))


def _bump(category: Category, column: str) -> None:
    """Add one to a month's count atomically (insert the row or add to it in one statement)."""
    month = f"{local_today():%Y-%m}"
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(FaqCount).values({"month": month, "category": category, "opened": 0, "submitted": 0, column: 1})
    stmt = stmt.on_conflict_do_update(index_elements=["month", "category"],
                                      set_={column: getattr(FaqCount, column) + 1})
    db.session.execute(stmt)


def count_open(category: Category) -> None:
    _bump(category, "opened")


def count_submitted_anyway(category: Category) -> None:
    _bump(category, "submitted")


@dataclass
class Deflection:
    category: Category
    opened: int
    submitted: int

    @property
    def rate(self) -> str:
        """The share of visitors who read an answer and did not then complain."""
        if not self.opened:
            return "—"
        return f"{max(self.opened - self.submitted, 0) * 100 / self.opened:.1f}%"


def deflection(months: int | None = None) -> list[Deflection]:
    """Per category, over all months (or the last ``months``): opened, submitted anyway, the rate."""
    query = sa.select(FaqCount.category, sa.func.sum(FaqCount.opened), sa.func.sum(FaqCount.submitted))
    if months:
        today = local_today()
        y, m = divmod(today.year * 12 + today.month - months, 12)
        query = query.where(FaqCount.month >= f"{y:04d}-{m + 1:02d}")
    totals = {c: (o or 0, s or 0) for c, o, s in db.session.execute(query.group_by(FaqCount.category))}
    return [Deflection(c, *totals.get(c, (0, 0))) for c in Category]
