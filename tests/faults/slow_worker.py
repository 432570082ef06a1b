"""An RQ worker whose PDF renders hang (fault tests only), so a test can SIGKILL it mid-render.

Usage: ``python -m tests.faults.slow_worker MARKER_FILE``.  When a render
starts, the work horse writes its pid to MARKER_FILE and sleeps.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import caseflow.documents.render as render


def main() -> None:
    marker = Path(sys.argv[1])
    real = render.render_orders

    def hanging(*args, **kwargs):
        marker.write_text(str(os.getpid()))
        time.sleep(300)
        return real(*args, **kwargs)

    render.render_orders = hanging
    from flask.cli import main as flask_main

    sys.argv = ["flask", "--app", "caseflow", "worker", "--burst"]
    flask_main()


if __name__ == "__main__":
    main()
