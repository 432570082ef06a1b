"""SQL written one way for PostgreSQL and another for SQLite, and small aggregate helpers, for every query module."""
from __future__ import annotations

import string
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


def sql_function(name: str, type_: sa.types.TypeEngine, postgresql: str, other: str) -> Any:
    """A SQL function rendered from ``postgresql`` on PostgreSQL and ``other`` elsewhere.

    The templates name the arguments ``{0}``, ``{1}`` …; an argument a template leaves out is not sent.
    """
    element = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True})
    for dialect, template in (("postgresql", postgresql), (None, other)):
        used = sorted({int(field) for _text, field, _spec, _conv in string.Formatter().parse(template) if field})

        def render(el, compiler, _template=template, _used=used, **kw):
            args = list(el.clauses)
            compiled = {i: compiler.process(args[i], **kw) for i in _used}  # only these become parameters
            return _template.format(*(compiled.get(i, "") for i in range(len(args))))
        compiles(element, *([dialect] if dialect else []))(render)
    return element


def count_if(condition: Any) -> Any:
    """SQL: how many rows meet ``condition``."""
    return sa.func.sum(sa.case((condition, 1), else_=0))


def sum_if(condition: Any, value: Any) -> Any:
    """SQL: the sum of ``value`` over the rows that meet ``condition``."""
    return sa.func.sum(sa.case((condition, value), else_=0))
