"""Re-encryption of personal data under the newest data key and the configured suite (``flask security rotate-key``).

Every column of type :class:`Encrypted` in the models is found through the
metadata, so new tables are covered without changes here. A column ``<name>_hash``
next to it is recomputed with the newest HMAC key (and the suite's hash) in the same row update.

The audit log's ``subject_hash`` is deliberately not rewritten: the log is
append-only (a trigger refuses updates), and its searches use every configured
key (``crypto.lookup_hashes``). Retired keys therefore stay at the end of
``CASEFLOW_DATA_KEY`` for as long as old audit entries must be searchable.
"""
from __future__ import annotations

from dataclasses import dataclass

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from caseflow.extensions import db
from caseflow.models.types import Encrypted
from caseflow.security import crypto


@dataclass
class RotationCount:
    table: str
    rows_seen: int = 0
    rows_rotated: int = 0


def encrypted_columns() -> dict[sa.Table, list[str]]:
    """Tables and their encrypted column names, from the model metadata."""
    found: dict[sa.Table, list[str]] = {}
    for table in db.metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, Encrypted)]
        if names:
            found[table] = names
    return found


def _rotate_table(table: sa.Table, names: list[str], batch_size: int) -> RotationCount:
    """Walk the table by primary key in batches, one transaction per batch."""
    count = RotationCount(table.name)
    keys = crypto.keyring()
    (pk,) = table.primary_key.columns
    raw = [sa.type_coerce(table.c[n], sa.Text).label(n) for n in names]  # ciphertext, not decrypted
    last = None
    while True:
        query = sa.select(pk, *raw).order_by(pk).limit(batch_size)
        if last is not None:
            query = query.where(pk > last)
        rows = db.session.execute(query).all()
        if not rows:
            return count
        for row in rows:
            count.rows_seen += 1
            values = {}
            for name in names:
                token = getattr(row, name)
                if token is None or keys.is_current(token):
                    continue
                plain = keys.decrypt(token)
                values[name] = plain  # the column type encrypts it again, under the newest key and suite
                if f"{name}_hash" in table.c:
                    values[f"{name}_hash"] = keys.lookup_hash(plain)
            if values:
                db.session.execute(sa.update(table).where(pk == row[0]).values(values))
                count.rows_rotated += 1
        db.session.commit()
        last = rows[-1][0]


def rotate_all(batch_size: int = 500) -> list[RotationCount]:
    """Re-encrypt every encrypted value not yet under the newest key; safe to run again."""
    return [_rotate_table(table, names, batch_size) for table, names in encrypted_columns().items()]


security_cli = AppGroup("security", help="Personal-data keys: re-encryption after a key change.")


@security_cli.command("rotate-key")
@click.option("--batch-size", default=500, show_default=True, help="Rows per transaction.")
def rotate_key_command(batch_size: int) -> None:
    """Re-encrypt every ID number, phone, registry number, TOTP secret and attachment file under the first key
    of CASEFLOW_DATA_KEY and the configured suite."""
    from caseflow.cases.attachments import reseal_files

    for count in rotate_all(batch_size):
        click.echo(f"{count.table}: {count.rows_rotated} of {count.rows_seen} row(s) re-encrypted")
    seen, resealed = reseal_files()
    click.echo(f"attachment files: {resealed} of {seen} re-encrypted")
