"""An RQ worker whose PDF renders or registry imports hang (fault tests only), to SIGKILL it mid-job.

Usage: ``python -m tests.faults.slow_worker MARKER_FILE render|import``.  When
the render starts, or when the import has loaded its rows (committed to a
table not yet attached to ``registry_records``, the advisory lock held), the
work horse writes its pid to MARKER_FILE and sleeps.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def _hang(module, name: str, marker: Path) -> None:
    real = getattr(module, name)

    def hanging(*args, **kwargs):
        marker.write_text(str(os.getpid()))
        time.sleep(300)
        return real(*args, **kwargs)

    setattr(module, name, hanging)


def main() -> None:
    marker, what = Path(sys.argv[1]), sys.argv[2]
    if what == "render":
        import caseflow.documents.render as render

        _hang(render, "render_orders", marker)
    else:
        import caseflow.registry.importer as importer

        _hang(importer, "_index_postgres", marker)
    from flask.cli import main as flask_main

    sys.argv = ["flask", "--app", "caseflow", "worker", "--burst"]
    flask_main()


if __name__ == "__main__":
    main()
