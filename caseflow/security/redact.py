"""Masking of ID numbers and phones in free text bound for logs and error records.

Logs, job errors and exception reports are read by people who may not see
personal data, and they outlive the case; anything that looks like an ID number
(17 digits and a check character, or an old 15-digit one) or a mobile number is
masked before it is written.
"""
from __future__ import annotations

import logging
import re

from caseflow.identity import mask_id_number, mask_phone

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")


def redact(text: str) -> str:
    """``text`` with ID numbers and mobile numbers masked as on the pages."""
    text = ID_NUMBER.sub(lambda m: mask_id_number(m.group(1)), text)
    return MOBILE.sub(lambda m: mask_phone(m.group(1)), text)


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
