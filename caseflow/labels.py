"""The base of the domain's enumerations: string values with a Chinese label. Pure: no Flask, no database."""
from __future__ import annotations

import enum


class Labelled(enum.StrEnum):
    """A string enum whose members carry a Chinese label: ``NAME = "value", "标签"``."""

    label: str

    def __new__(cls, value: str, label: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]


def sql_values(members: tuple[Labelled, ...]) -> str:
    """Members as a SQL value list (``'a', 'b'``), for the few statements written as text."""
    return ", ".join("'" + m.value.replace("'", "''") + "'" for m in members)
