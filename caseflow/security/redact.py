"""The one detector of personal numbers in free text, and the masks it applies.

Complaint texts, summaries, order contents, findings and replies are typed by
people, and people type ID numbers and phones into them; logs, job errors and
exception reports carry whatever a message held.  Everything that shows such a
text masked (pages, PDFs, the log) asks :func:`redact`, so what counts as an ID
number or a phone is decided here once:

- citizen ID numbers: 18 characters whose check character is right
  (``identity.check_char``), alone or glued to letters (``ID4101…``), spaced
  or dashed in the usual 6-8-4 groups; old 15-digit numbers with a valid
  birth date;
- registry numbers: ``G``/``J`` + a valid 18-character number, ``L`` + a
  division code, a valid birth date and 4 digits (DOMAIN §6);
- phones: mobiles (``13912345678``, ``+86 139 1234 5678``, ``139-1234-5678``,
  ``0086…``) and landlines with an area code (``0371-65900000``,
  ``(0371)6590 0000``).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date

from caseflow.identity import check_char, mask_id_number, mask_phone

_SEP = r"[ \-]?"
# A number never continues a longer run of digits; letters may touch it ("ID4101…", "G4101…").
_CANDIDATES = re.compile(
    r"(?<![0-9])(?:"
    r"(?P<reg>[GJgj]\d{17}[0-9Xx]|[Ll]\d{18})"
    r"|(?P<id18>\d{6}" + _SEP + r"\d{8}" + _SEP + r"\d{3}[0-9Xx])"
    r"|(?P<id15>\d{15})"
    r"|(?P<mobile>(?:(?:\+|00)?86[ \-]?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4})"
    r"|(?P<landline>(?:\(0[1-9]\d{1,2}\)|（0[1-9]\d{1,2}）|0[1-9]\d{1,2})" + _SEP + r"[2-9]\d{2,3}" + _SEP + r"\d{4})"
    r")(?![0-9])",
    re.ASCII,  # \d is 0-9: full-width digits are made ASCII first (find)
)


def _valid_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return born.year >= 1900


def _valid_id18(number: str) -> bool:
    number = number.upper()
    return number[0] != "0" and _valid_date(number[6:14]) and check_char(number[:17]) == number[17]


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text).upper()


def _phone_digits(text: str) -> str:
    digits = re.sub(r"[^0-9]", "", text)
    if text.lstrip().startswith(("+86", "0086", "86")) and len(digits) > 11:
        digits = digits[2:] if digits.startswith("86") else digits[4:]
    return digits


def _mask(match: re.Match[str]) -> str | None:
    """The mask for one candidate, or None when it is not a real number (a wrong check character)."""
    kind = match.lastgroup
    text = match.group(0)
    if kind == "reg":
        body = text[1:].upper()
        if text[0] in "GJgj" and not _valid_id18(body):
            return None
        if text[0] in "Ll" and not _valid_date(body[6:14]):
            return None
        return text[0].upper() + mask_id_number(body)
    if kind == "id18":
        number = _digits(text)
        return mask_id_number(number) if _valid_id18(number) else None
    if kind == "id15":
        return mask_id_number(text) if _valid_date("19" + text[6:12]) else None
    if kind == "mobile":
        return mask_phone(_phone_digits(text)[-11:])
    digits = _phone_digits(text)
    return mask_phone(digits) if 10 <= len(digits) <= 12 else None


# Full-width digits, Ｘ, ＋, －, （）and the ideographic space, one character for one: positions stay the same.
_HALF_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "Ｘ": "X", "ｘ": "x", "＋": "+",
                             "－": "-", "\u3000": " "})


def find(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, mask) of every personal number in ``text`` (typed in full-width digits too)."""
    if not text:
        return
    if not text.isascii():
        text = text.translate(_HALF_WIDTH)
    for match in _CANDIDATES.finditer(text):
        masked = _mask(match)
        if masked is not None:
            yield match.start(), match.end(), masked


def contains(text: str | None) -> bool:
    """Whether ``text`` holds a personal number."""
    return next(find(text or ""), None) is not None


def redact(text: str) -> str:
    """``text`` with ID numbers, registry numbers and phones masked as on the pages."""
    if not text:
        return text
    out, last = [], 0
    for start, end, masked in find(text):
        out += [text[last:start], masked]
        last = end
    return "".join(out) + text[last:] if out else text


_installed = False


def install_log_redaction() -> None:
    """Mask personal data in every log record of the process, whichever handler writes it."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
