"""``flask registry import`` fed slowly (tests only), so that a test can kill it while it loads.

Usage: ``python -m tests.registry.slow_import registry import ARGS...``.  The file is cut into 256 KB
chunks with a pause after each, and progress is written after every chunk: however fast the import
has become, it is still loading when the test sees its first progress.
"""
from __future__ import annotations

import sys
import time


def main() -> None:
    import caseflow.registry.importer as importer
    import caseflow.registry.parallel as parallel

    real = parallel.chunks

    def slow(path, start, chunk_bytes):
        for piece in real(path, start, 256 << 10):
            yield piece
            time.sleep(0.1)

    parallel.chunks = slow
    importer.PROGRESS_SECONDS = 0
    from flask.cli import main as flask_main

    sys.argv = ["flask", "--app", "caseflow", *sys.argv[1:]]
    flask_main()


if __name__ == "__main__":
    main()
