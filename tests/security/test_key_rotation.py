"""``flask security rotate-key``: everything re-encrypted under the new key, hashes recomputed, re-runs harmless."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseflow.audit import who_looked
from caseflow.cases import operations
from caseflow.models import Person
from caseflow.security import crypto
from tests.factories import submit

RAW = [sa.type_coerce(getattr(Person, c), sa.Text).label(c) for c in ("id_number", "phone", "registry_no")]
HASHES = [Person.id_number_hash, Person.phone_hash, Person.registry_no_hash]


@pytest.fixture
def keys(app):
    """Install keys for the test; the run's own key is put back afterwards."""
    yield crypto.configure
    crypto.configure(app.config["DATA_KEY"])


def _raw(db):
    db.session.expire_all()
    return db.session.execute(sa.select(Person.id, *RAW, *HASHES).order_by(Person.id)).all()


def test_rotate_key_reencrypts_recomputes_hashes_and_is_idempotent(app, db, world, keys):
    old = app.config["DATA_KEY"]
    cases = [submit(db)[0] for _ in range(3)]
    student_id = cases[0].student.id_number
    operations.reveal(world.user("supervisor", "410105"), cases[0], "student", "id_number")
    db.session.commit()
    before = _raw(db)

    keys("brand-new-key," + old)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["security", "rotate-key", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "persons: 6 of 6 row(s) re-encrypted" in result.output
    after = _raw(db)
    for b, a in zip(before, after, strict=True):
        for i in range(1, 7):
            assert (a[i] is None) == (b[i] is None)
            assert a[i] is None or a[i] != b[i]  # new ciphertext, new keyed hash

    # A second run finds nothing to do.
    result = runner.invoke(args=["security", "rotate-key"])
    assert "persons: 0 of 6 row(s) re-encrypted" in result.output
    assert _raw(db) == after

    # The old key can go: everything reads with the new key alone, and lookups by hash work.
    keys("brand-new-key")
    db.session.expire_all()
    person = db.session.scalars(sa.select(Person).where(Person.id_number_hash == crypto.lookup_hash(student_id))).first()
    assert person is not None and person.id_number == student_id
    assert person.registry_no == "G" + student_id
    assert db.session.scalars(sa.select(Person).where(Person.phone_hash == crypto.lookup_hash("13812345678"))).first()


def test_audit_entries_hashed_under_a_retired_key_stay_searchable(app, db, world, keys):
    """The append-only audit log is not rewritten; searches try every configured key."""
    old = app.config["DATA_KEY"]
    case, _ = submit(db)
    operations.reveal(world.user("supervisor", "410105"), case, "student", "id_number")
    db.session.commit()
    student_id = case.student.id_number
    keys("brand-new-key," + old)
    assert app.test_cli_runner().invoke(args=["security", "rotate-key"]).exit_code == 0
    assert [e.action for e in who_looked(id_number=student_id)] == ["reveal"]
    assert [e.action for e in who_looked(case_number=case.number)] == ["reveal"]
