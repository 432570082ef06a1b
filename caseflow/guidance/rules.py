"""The rules (政策依据) as versioned data: articles loaded from a file, never written in code or templates.

A rule is named by its key, ``source:article`` (e.g. ``zhoukou-2022:第十一条（二）``). Loading a file
adds a version of an article only when its text or title changed; what cited an earlier version
keeps citing that row.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import PolicyRule

DEFAULT_FILE = Path(__file__).parent / "data" / "rules.toml"


@dataclass
class LoadResult:
    added: int = 0
    amended: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"added": self.added, "amended": self.amended, "unchanged": self.unchanged}


def _required(item: dict, key: str, where: str):
    value = item.get(key)
    if value in (None, ""):
        raise InvalidInput(f"{where}缺少“{key}”")
    return value


def load(path: Path = DEFAULT_FILE) -> LoadResult:
    """Load every article of the file: a new article is version 1, a changed one the next version."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"无法读取规则文件：{exc}") from None
    result = LoadResult()
    for source in data.get("source", []):
        key = _required(source, "key", "来源")
        title, when = _required(source, "title", key), _required(source, "date", key)
        for item in source.get("article", []):
            article = _required(item, "article", key)
            where = f"{key} {article}"
            text, name = _required(item, "text", where).strip(), _required(item, "title", where)
            effective = item.get("effective_from", when)
            latest = current(f"{key}:{article}")
            if latest is not None and (latest.text, latest.title, latest.source_title) == (text, name, title):
                result.unchanged += 1
                continue
            db.session.add(PolicyRule(source=key, source_title=title, source_date=_date(when), article=article,
                                      title=name, text=text, effective_from=_date(effective),
                                      version=(latest.version + 1) if latest else 1))
            db.session.flush()
            if latest is None:
                result.added += 1
            else:
                result.amended += 1
    return result


def _date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"日期格式不正确：{value}") from None


def _split(key: str) -> tuple[str, str]:
    source, _, article = key.partition(":")
    return source, article


def current(key: str) -> PolicyRule | None:
    """The latest version of the rule ``source:article``."""
    source, article = _split(key)
    return db.session.scalars(sa.select(PolicyRule).where(PolicyRule.source == source, PolicyRule.article == article)
                              .order_by(PolicyRule.version.desc()).limit(1)).first()


def current_many(keys: set[str]) -> dict[str, PolicyRule]:
    """The latest version of each of ``keys`` (absent keys are left out), in one query."""
    if not keys:
        return {}
    rows = db.session.scalars(sa.select(PolicyRule).where(
        sa.tuple_(PolicyRule.source, PolicyRule.article).in_([_split(k) for k in keys]))
        .order_by(PolicyRule.version)).all()
    return {r.key: r for r in rows}  # later versions overwrite earlier ones


def current_all() -> list[PolicyRule]:
    """The latest version of every article, by source and then in the order they were first loaded."""
    latest = (sa.select(PolicyRule.source, PolicyRule.article, sa.func.max(PolicyRule.version).label("v"))
              .group_by(PolicyRule.source, PolicyRule.article).subquery())
    first = (sa.select(PolicyRule.source, PolicyRule.article, sa.func.min(PolicyRule.id).label("first"))
             .group_by(PolicyRule.source, PolicyRule.article).subquery())
    return list(db.session.scalars(
        sa.select(PolicyRule)
        .join(latest, sa.and_(latest.c.source == PolicyRule.source, latest.c.article == PolicyRule.article,
                              latest.c.v == PolicyRule.version))
        .join(first, sa.and_(first.c.source == PolicyRule.source, first.c.article == PolicyRule.article))
        .order_by(PolicyRule.source.desc(), first.c.first)))


def file_keys(path: Path = DEFAULT_FILE) -> set[str]:
    """Every rule key a file defines (for checking that what cites a rule finds it)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return {f"{s['key']}:{a['article']}" for s in data.get("source", []) for a in s.get("article", [])}
