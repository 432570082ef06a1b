"""Readable sequential numbers per year, and the random access code of a case."""
from __future__ import annotations

import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from caseflow.extensions import db
from caseflow.models import Counter
from caseflow.security import crypto

PREFIXES = {"case": "XJ", "verification": "HC", "supervision": "DB"}
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def next_number(name: str, year: int) -> str:
    """The next number of a series, e.g. XJ2026-000042; safe under concurrent requests."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(Counter).values(name=name, year=year, value=0).on_conflict_do_nothing())
    value = db.session.execute(
        sa.update(Counter)
        .where(Counter.name == name, Counter.year == year)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()
    return f"{PREFIXES[name]}{year}-{value:06d}"


def new_access_code() -> str:
    """A random 8-character code shown once on the receipt, e.g. K7MP-Q2XD."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def hash_access_code(case_number: str, code: str) -> str:
    return crypto.lookup_hash(f"access:{case_number}:{normalise_code(code)}") or ""


def access_code_matches(case_number: str, code: str, stored_hash: str) -> bool:
    """The code is the case's: its hash under any configured key and suite (a code is never re-hashed)."""
    candidates = crypto.lookup_hashes(f"access:{case_number}:{normalise_code(code)}")
    return any([hmac.compare_digest(candidate, stored_hash) for candidate in candidates])
