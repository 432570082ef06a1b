"""Outbox entry point: keep an order's stored PDF in step with its data.

With Redis a worker renders ahead, so the download is a file read.  In embedded
mode (no ``REDIS_URL``) outbox items run inside the request right after its
commit; rendering there would add ~100 ms+ to every action on an order, so the
job only marks the stored PDF stale and the next download renders on demand.
Either way a render happens only when the data hash changed.
"""
from __future__ import annotations

from flask import current_app

from caseflow.documents.store import mark_stale, order_pdf
from caseflow.extensions import db
from caseflow.models import Order, OutboxItem


def render_order_pdf(item: OutboxItem) -> None:
    """Render (worker) or mark stale (embedded) the masked PDF of ``item.payload['order_id']``."""
    order = db.session.get(Order, item.payload["order_id"])
    if order is None:
        return
    if current_app.config.get("REDIS_URL"):
        order_pdf(order)
    else:
        mark_stale(order)
