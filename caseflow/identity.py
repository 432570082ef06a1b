"""Citizen ID numbers (GB 11643-1999), registry numbers (学籍号), phones, and their masks.

Pure functions. Errors carry a Chinese message ready for the form field.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


class InvalidNumber(ValueError):
    """A number that fails its format or check; ``str(exc)`` is the Chinese message."""


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character citizen ID number and what it encodes."""

    number: str
    division_code: str
    birth_date: date
    sex: str  # "male" / "female"


def normalise(raw: str) -> str:
    """NFKC (full-width digits, Ｘ), drop every kind of space and separator, upper-case x."""
    raw = raw or ""
    if raw.isascii() and raw.isalnum():  # the common case, and the bulk-import hot path
        return raw.upper()
    text = unicodedata.normalize("NFKC", raw)
    return re.sub(r"[\s\-_]", "", text).upper()


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17:
        raise ValueError("check_char needs exactly 17 digits")
    return _CHECK[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]


def _birth_date(digits8: str) -> date:
    try:
        born = date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        raise InvalidNumber("出生日期部分不是有效日期") from None
    if born.year < 1900:
        raise InvalidNumber("出生日期部分不是有效日期")
    return born


def parse_id_number(raw: str, *, today: date | None = None, checksum: bool = True) -> IdNumber:
    """Normalise and validate a citizen ID number; 15-digit numbers are upgraded to 18.

    ``checksum=False`` reads a number whose only fault is its check character: what it encodes (birth
    date, sex) can still be compared with what was typed beside it, so every error shows at once.
    """
    number = normalise(raw)
    if not number:
        raise InvalidNumber("请填写身份证号")
    if _ID15.match(number):
        number = number[:6] + "19" + number[6:]
        number += check_char(number)
    elif not _ID18.match(number):
        raise InvalidNumber("身份证号应为18位（最后一位可以是X）")
    born = _birth_date(number[6:14])
    if born > (today or date.today()):
        raise InvalidNumber("身份证号中的出生日期晚于今天")
    if number[0] == "0" or number[:2] == "00":
        raise InvalidNumber("身份证号的地区码无效")
    if checksum and check_char(number[:17]) != number[17]:
        raise InvalidNumber("身份证号校验位不正确，请核对后重新输入")
    sex = "male" if int(number[16]) % 2 else "female"
    return IdNumber(number=number, division_code=number[:6], birth_date=born, sex=sex)


@dataclass(frozen=True)
class RegistryNumber:
    """A valid 19-character registry number: G (ID-based), J (assigned), L (temporary)."""

    number: str
    kind: str  # "G", "J", "L"
    division_code: str
    birth_date: date

    @property
    def is_temporary(self) -> bool:
        return self.kind == "L"


def parse_registry_number(raw: str, *, today: date | None = None) -> RegistryNumber:
    """Validate a registry number (学籍号) by its kind's rules (DOMAIN §6)."""
    number = normalise(raw)
    if not number:
        raise InvalidNumber("请填写学籍号")
    if len(number) != 19:
        raise InvalidNumber("学籍号应为19位：G或J加18位，或L加18位数字")
    kind, body = number[0], number[1:]
    if kind in ("G", "J"):
        try:
            parsed = parse_id_number(body, today=today)
        except InvalidNumber as exc:
            raise InvalidNumber(f"学籍号{kind}后的18位不正确：{exc}") from None
        return RegistryNumber(number, kind, parsed.division_code, parsed.birth_date)
    if kind == "L":
        if not body.isdigit():
            raise InvalidNumber("临时学籍号应为L加18位数字")
        return RegistryNumber(number, kind, body[:6], _birth_date(body[6:14]))
    raise InvalidNumber("学籍号应以G、J或L开头")


def normalise_phone(raw: str) -> str:
    """Phone digits after NFKC, without spaces; a +86 prefix is dropped."""
    raw = raw or ""
    if raw.isascii() and raw.isdigit():
        return raw
    phone = re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", raw or ""))
    if phone.startswith("+86"):
        phone = phone[3:]
    return phone


def is_mobile(phone: str | None) -> bool:
    """A mainland mobile number (the only kind a text message can reach)."""
    return bool(phone) and bool(_MOBILE.match(normalise_phone(phone or "")))


def parse_phone(raw: str) -> str:
    """A mainland mobile (11 digits) or a landline with area code."""
    phone = normalise_phone(raw)
    if not phone:
        raise InvalidNumber("请填写联系电话")
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return phone
    raise InvalidNumber("联系电话格式不正确：手机号为11位，固定电话需带区号，如0371-65900000")


def mask_id_number(value: str | None) -> str:
    """410102********123X (first 6, last 4)."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****5678 for mobiles; landlines keep the area code and the last 4."""
    if not value:
        return ""
    if len(value) == 11 and value.isdigit():
        return value[:3] + "****" + value[-4:]
    if len(value) > 4:
        return value[:-8 if len(value) > 8 else 1] + "****" + value[-4:]
    return "*" * len(value)


def mask_registry_number(value: str | None) -> str:
    """G410102********123X: the registry number embeds the ID number, so it is masked alike."""
    if not value:
        return ""
    return value[0] + mask_id_number(value[1:])


def age_on(born: date, on: date) -> int:
    """Age in whole years on a given day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
