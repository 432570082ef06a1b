"""Form fields whose parse errors are Chinese (WTForms says "Not a valid date value" otherwise)."""
from __future__ import annotations

from wtforms import DateField, FloatField, IntegerField


def _chinese_parse_error(base: type, message: str) -> type:
    """A subclass of ``base`` whose "not a valid value" error is ``message``."""

    class Field(base):  # type: ignore[valid-type,misc]
        def process_formdata(self, valuelist):
            try:
                super().process_formdata(valuelist)
            except ValueError:
                raise ValueError(message) from None

    Field.__name__ = f"Cn{base.__name__}"
    return Field


CnDateField = _chinese_parse_error(DateField, "日期格式不正确，请按“2026-12-01”的格式填写")
CnIntegerField = _chinese_parse_error(IntegerField, "请填写整数")
CnFloatField = _chinese_parse_error(FloatField, "请填写数字，如0.9")
