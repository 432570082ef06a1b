"""Stored PDFs: content-hashed, re-rendered only when the printed data changed; the outbox job."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caseflow.cases import operations as ops
from caseflow.documents.jobs import render_order_pdf
from caseflow.documents.store import order_pdf, pdf_dir, stored_document
from caseflow.models import OutboxItem, RenderedDocument


def test_rerender_skipped_when_nothing_changed(world, db, verification):
    first = order_pdf(verification)
    db.session.commit()
    doc = stored_document(verification)
    assert first.rendered and doc.size_bytes == len(first.data) and doc.page_count == 1
    assert (pdf_dir() / doc.file_name).read_bytes() == first.data
    second = order_pdf(verification)
    db.session.commit()
    assert not second.rendered and second.data == first.data


def test_change_to_the_printed_data_renders_again_and_drops_the_old_file(world, db, case):
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    order = ops.issue_verification(sup, case, [world.unit("4141000001")])[0]
    db.session.commit()
    order_pdf(order)
    db.session.commit()
    old = pdf_dir() / stored_document(order).file_name
    ops.sign_order(officer, order, "李老师", "0371-65901111")
    db.session.commit()  # embedded mode: the job only marks the stored PDF stale
    doc = stored_document(order)
    assert doc.stale
    again = order_pdf(order)
    db.session.commit()
    assert again.rendered
    db.session.refresh(doc)
    assert not doc.stale and (pdf_dir() / doc.file_name).exists() and not old.exists()


def _files() -> set[Path]:
    return set(pdf_dir().rglob("*")) if pdf_dir().exists() else set()


def test_unmasked_pdfs_are_never_stored(world, db, verification):
    before = _files()
    order_pdf(verification, unmasked=True)
    db.session.commit()
    assert stored_document(verification) is None
    assert _files() == before


def test_issuing_an_order_queues_the_render_job(world, db, case):
    order = ops.issue_verification(world.user("supervisor", "410105"), case, [world.unit("4141000001")])[0]
    db.session.commit()
    item = db.session.scalars(db.select(OutboxItem).where(OutboxItem.kind == "render_order_pdf")).one()
    assert item.payload == {"order_id": order.id} and item.state == "done"
    # Embedded mode rendered nothing during the request.
    assert db.session.scalar(db.select(db.func.count(RenderedDocument.id))) == 0


def test_worker_mode_renders_ahead_and_skips_unchanged(app, world, db, case):
    order = ops.issue_verification(world.user("supervisor", "410105"), case, [world.unit("4141000001")])[0]
    db.session.commit()
    item = db.session.scalars(db.select(OutboxItem).where(OutboxItem.kind == "render_order_pdf")).one()
    app.config["REDIS_URL"] = "redis://worker-mode.invalid/0"  # only read by the job to choose its path
    try:
        render_order_pdf(item)
        db.session.commit()
        doc = stored_document(order)
        rendered_at = doc.rendered_at
        render_order_pdf(item)
        db.session.commit()
    finally:
        app.config["REDIS_URL"] = None
    db.session.refresh(doc)
    assert doc.rendered_at == rendered_at and not doc.stale
    assert not order_pdf(order).rendered  # the download is a file read


@pytest.mark.redis
def test_real_rq_worker_renders_the_issued_order(app, world, db, case, redis_url):
    """Issue an order with Redis configured; a real burst worker renders and stores its PDF."""
    app.config["REDIS_URL"] = redis_url
    try:
        order = ops.issue_verification(world.user("supervisor", "410105"), case, [world.unit("4141000001")])[0]
        db.session.commit()
        env = {**os.environ, "REDIS_URL": redis_url}
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "caseflow", "worker", "--burst"],
                              env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        app.config["REDIS_URL"] = None
    db.session.expire_all()
    doc = stored_document(order)
    assert doc is not None and not doc.stale and (pdf_dir() / doc.file_name).exists()
    assert not order_pdf(order).rendered
