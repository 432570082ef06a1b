"""The one normaliser of typed text: bidirectional control characters are removed at intake.

U+202A..U+202E (embeddings and overrides), U+2066..U+2069 (isolates), U+200E/U+200F
(marks) and U+061C reorder what follows them: a name or a finding with U+202E
reads backwards on staff pages and the printed 核查单, and can disguise a file
name or a number.  No Chinese text needs them.  Every way text comes in uses
this: the web forms (the request's form data, ``caseflow.web``), the domain's
writers of free text, and the registry import (``BIDI_PATTERN`` for Polars).
"""
from __future__ import annotations

import re

BIDI_PATTERN = "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
_BIDI = re.compile(BIDI_PATTERN)


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional control characters (the common case returns it untouched)."""
    if not text or text.isascii():
        return text
    return _BIDI.sub("", text)
