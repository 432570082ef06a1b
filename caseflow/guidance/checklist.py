"""The 政策依据 checklist of an order: the facts a rule turns on, which article applies, what it requires.

The questions are data (``data/checklists.toml``); the articles are the rules' current versions. An
order cites the exact version it was given (``OrderCitation``), so a later amendment of the rule
leaves what was cited, and printed, as it was.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.guidance import rules
from caseflow.models import Category, Order, OrderCitation, PolicyRule, User
from caseflow.models.guidance import cited_rules

CHECKLIST_FILE = Path(__file__).parent / "data" / "checklists.toml"
ANSWERS = {"yes": "是", "no": "否", "unknown": "不清楚"}


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    rule_key: str
    if_yes: str = ""
    if_no: str = ""

    def requirement(self, answer: str) -> str:
        return {"yes": self.if_yes, "no": self.if_no}.get(answer, "")


@dataclass(frozen=True)
class Checklist:
    category: Category
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Finding:
    """One answered question: the article that decides it and what it requires given the answer."""

    question: Question
    answer: str
    rule: PolicyRule | None
    requires: str


@cache
def _load(path: Path = CHECKLIST_FILE) -> dict[Category, Checklist]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = {}
    for item in data.get("checklist", []):
        category = Category(item["category"])
        questions = tuple(Question(q["key"], q["text"], q["rule"], q.get("if_yes", ""), q.get("if_no", ""))
                          for q in item.get("question", []))
        out[category] = Checklist(category, item["title"], questions)
    return out


def for_category(category: Category) -> Checklist | None:
    return _load().get(category)


def rule_keys() -> set[str]:
    """Every rule any checklist question names (each must exist in the rules file)."""
    return {q.rule_key for c in _load().values() for q in c.questions}


def evaluate(checklist: Checklist, answers: dict[str, str]) -> list[Finding]:
    """The findings for the questions answered yes or no (unknown ones are left for later)."""
    current = rules.current_many({q.rule_key for q in checklist.questions})
    findings = []
    for q in checklist.questions:
        answer = answers.get(q.key, "")
        if answer in ("yes", "no"):
            findings.append(Finding(q, answer, current.get(q.rule_key), q.requirement(answer)))
    return findings


def citations(order: Order) -> list[PolicyRule]:
    """The article versions cited on ``order``, in the order they were cited."""
    return list(db.session.scalars(cited_rules(order.id)))


def cite(user: User, order: Order, rule_id: int) -> PolicyRule:
    """Cite one article version on the order (once); the PDF prints it as 政策依据."""
    from caseflow.cases import permissions

    permissions.check(user, "cite_rule", order)
    rule = db.session.get(PolicyRule, rule_id)
    if rule is None:
        raise InvalidInput("没有找到该政策依据", field="rule")
    exists = db.session.scalar(sa.select(OrderCitation.id).where(OrderCitation.order_id == order.id,
                                                                 OrderCitation.rule_id == rule.id))
    if exists is None:
        db.session.add(OrderCitation(order_id=order.id, rule_id=rule.id, added_by_id=user.id))
        db.session.flush()
    return rule


def uncite(user: User, order: Order, rule_id: int) -> None:
    from caseflow.cases import permissions

    permissions.check(user, "cite_rule", order)
    db.session.execute(sa.delete(OrderCitation).where(OrderCitation.order_id == order.id,
                                                      OrderCitation.rule_id == rule_id))
