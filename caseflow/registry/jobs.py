"""The registry import as a background job: ids in, one domain call, progress in the import's row."""
from __future__ import annotations

import logging

from caseflow.extensions import db

log = logging.getLogger(__name__)


def run_import_job(import_id: int) -> dict | None:
    """RQ entry point; a refused file is recorded on the row, not raised again."""
    from caseflow.jobs.tasks import app_context
    from caseflow.models import ImportState, RegistryImport
    from caseflow.registry.extract import RegistryImportRefused
    from caseflow.registry.importer import run_import

    with app_context():
        imp = db.session.get(RegistryImport, import_id)
        if imp is None or imp.state is not ImportState.QUEUED:
            db.session.rollback()
            return None  # already run (idempotent)
        try:
            return run_import(import_id)
        except RegistryImportRefused:
            return None


def start_import(import_id: int) -> None:
    """After the commit: hand the import to RQ, or run it here in embedded mode (no REDIS_URL)."""
    from caseflow.jobs import queue

    q = queue()
    if q is None:
        run_import_job(import_id)
        return
    try:
        q.enqueue("caseflow.registry.jobs.run_import_job", import_id, job_id=f"registry-import-{import_id}",
                  job_timeout=6 * 3600, failure_ttl=7 * 86400)
    except Exception as exc:  # noqa: BLE001 - Redis down: the import stays queued, `registry run-queued` runs it
        log.warning("registry import %s not enqueued: %s", import_id, type(exc).__name__)
