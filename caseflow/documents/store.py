"""The stored masked PDF of each order, named by the hash of the data it prints.

``order_pdf`` is the one way to get an order's PDF: it builds the form data,
hashes it with the template fingerprint, and renders only when no stored file
matches.  Unmasked PDFs carry full ID numbers and phones, so they are rendered
for the request that asks and never written to disk.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import IntegrityError

from caseflow.documents.context import order_form
from caseflow.documents.templates import template_fingerprint
from caseflow.extensions import db
from caseflow.models import Order, RenderedDocument
from caseflow.timeutil import utcnow


@dataclass(frozen=True)
class OrderPdf:
    data: bytes
    pages: int
    rendered: bool  # False when the stored file was served as it was


def pdf_dir() -> Path:
    return Path(current_app.config["PDF_DIR"])


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename: readers never see half a PDF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def stored_document(order: Order) -> RenderedDocument | None:
    return db.session.scalars(db.select(RenderedDocument).where(RenderedDocument.order_id == order.id)).first()


def current_hash(order: Order) -> str:
    """The hash the stored masked PDF must have to be up to date."""
    return order_form(order).data_hash(template_fingerprint())


def order_pdf(order: Order, *, unmasked: bool = False) -> OrderPdf:
    """The order's PDF: the stored file when its data is unchanged, else a fresh render.

    Flushes the ``RenderedDocument`` row; the caller commits.
    """
    from caseflow.documents.render import render_orders  # WeasyPrint only when rendering

    form = order_form(order, unmasked=unmasked)
    if unmasked:
        pdf = render_orders([form])
        return OrderPdf(pdf.data, pdf.pages, True)
    data_hash = form.data_hash(template_fingerprint())
    doc = stored_document(order)
    if doc is not None and doc.data_hash == data_hash:
        path = pdf_dir() / doc.file_name
        if path.exists():
            if doc.stale:
                doc.stale = False
            return OrderPdf(path.read_bytes(), doc.page_count, False)
    started = time.perf_counter()
    pdf = render_orders([form])
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    _write_atomically(pdf_dir() / f"{data_hash[:2]}/{data_hash}.pdf", pdf.data)
    old_name = doc.file_name if doc is not None else None
    try:
        with db.session.begin_nested():
            if doc is None:
                doc = RenderedDocument(order_id=order.id)
                db.session.add(doc)
            doc.data_hash, doc.size_bytes, doc.page_count = data_hash, len(pdf.data), pdf.pages
            doc.stale, doc.rendered_at, doc.render_ms = False, utcnow(), elapsed_ms
    except IntegrityError:
        pass  # a worker stored the same order at the same moment; its row stands
    else:
        if old_name and old_name != doc.file_name:
            _remove_unreferenced(old_name)
    return OrderPdf(pdf.data, pdf.pages, True)


def _remove_unreferenced(file_name: str) -> None:
    """Delete an old file unless another order prints exactly the same data."""
    data_hash = Path(file_name).stem
    used = db.session.scalar(db.select(db.func.count(RenderedDocument.id))
                             .where(RenderedDocument.data_hash == data_hash))
    if not used:
        (pdf_dir() / file_name).unlink(missing_ok=True)


def mark_stale(order: Order) -> bool:
    """Flag the stored PDF as out of date if its data changed; True if it was."""
    doc = stored_document(order)
    if doc is None:
        return True
    changed = doc.data_hash != current_hash(order)
    if changed:
        doc.stale = True
    return changed
