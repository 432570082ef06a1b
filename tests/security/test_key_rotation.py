"""``flask security rotate-key``: everything re-encrypted under the new key, hashes recomputed, re-runs harmless.

Under both suites (AES-256-GCM with HMAC-SHA-256, SM4-GCM with HMAC-SM3), and from one suite to the other.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseflow.cases import operations
from caseflow.models import Person
from caseflow.security import crypto
from caseflow.security.audit import who_looked
from tests.factories import submit

RAW = [sa.type_coerce(getattr(Person, c), sa.Text).label(c) for c in ("id_number", "phone", "registry_no")]
HASHES = [Person.id_number_hash, Person.phone_hash, Person.registry_no_hash]


@pytest.fixture(params=crypto.SUITES)
def keys(request, app):
    """``keys(data_key)`` installs the app's keys under the suite of the test (the app is the test's own)."""

    def install(data_key: str, suite: str = request.param) -> None:
        app.config.update(DATA_KEY=data_key, CRYPTO_SUITE=suite)
        crypto.init_app(app)

    install(app.config["DATA_KEY"])
    return install


def _raw(db):
    db.session.expire_all()
    return db.session.execute(sa.select(Person.id, *RAW, *HASHES).order_by(Person.id)).all()


def test_rotate_key_reencrypts_recomputes_hashes_and_is_idempotent(keys, app, db, world):
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


def test_audit_entries_hashed_under_a_retired_key_stay_searchable(keys, app, db, world):
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


def test_a_suite_change_reseals_everything_and_old_searches_still_work(app, db, world):
    """From the default suite to SM4/SM3 with the same key: rotate-key re-seals and re-hashes under SM4/SM3;
    the audit log and the access codes (never rewritten) are still found."""
    from caseflow.cases.numbering import access_code_matches

    case, code = submit(db)
    operations.reveal(world.user("supervisor", "410105"), case, "student", "id_number")
    db.session.commit()
    student_id = case.student.id_number
    default_hash = crypto.lookup_hash(student_id)
    app.config["CRYPTO_SUITE"] = "sm4"
    keyring = crypto.init_app(app)
    result = app.test_cli_runner().invoke(args=["security", "rotate-key"])
    assert result.exit_code == 0 and "persons: 2 of 2 row(s) re-encrypted" in result.output, result.output
    assert all(token is None or token.startswith("s:") for row in _raw(db) for token in row[1:4])
    db.session.expire_all()
    person = db.session.scalars(sa.select(Person).where(Person.id_number_hash == keyring.lookup_hash(student_id))).one()
    assert person.id_number == student_id and keyring.lookup_hash(student_id) != default_hash
    assert [e.action for e in who_looked(id_number=student_id)] == ["reveal"]
    assert access_code_matches(case.number, code, case.access_code_hash)


def test_attachment_files_are_encrypted_and_rotate_key_reseals_them(keys, app, db, world, client, login):
    """Files on disk hold tokens, not the upload; a file stored before encryption still reads and is sealed by
    the next rotate-key; after a rotation the old key can go."""
    from caseflow.cases import attachments

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    case, _ = submit(db)
    sealed, legacy = attachments.store(case, pdf, "证明.pdf"), attachments.store(case, pdf, "旧.pdf")
    db.session.commit()
    on_disk = attachments.path_of(sealed).read_bytes()
    assert b"%PDF" not in on_disk and crypto.keyring().is_token(on_disk)
    attachments.path_of(legacy).write_bytes(pdf)  # as stored by earlier versions
    assert attachments.read(sealed) == pdf == attachments.read(legacy)
    login(world.user("supervisor", "410105"))
    assert client.get(f"/attachments/{sealed.public_id}").data == pdf  # the download is the upload

    old = app.config["DATA_KEY"]
    keys("brand-new-key," + old)
    result = app.test_cli_runner().invoke(args=["security", "rotate-key"])
    assert "attachment files: 2 of 2 re-encrypted" in result.output, result.output
    assert "attachment files: 0 of 2 re-encrypted" in app.test_cli_runner().invoke(
        args=["security", "rotate-key"]).output
    keys("brand-new-key")
    assert attachments.read(sealed) == pdf == attachments.read(legacy)
    assert crypto.keyring().is_token(attachments.path_of(legacy).read_bytes())
