"""Static files: a content hash in every URL ``url_for('static', ...)`` builds, and a year's caching for those.

A changed file gets a new URL, so browsers may keep the old one for a year without ever showing stale
CSS or scripts; a URL without the hash (typed by hand, an old bookmark) gets Flask's usual caching.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, request

ONE_YEAR = 365 * 24 * 3600


def init_assets(app: Flask) -> None:
    """Register the URL hook that adds ``v=<hash>`` and the response hook that caches hashed files."""
    folder = Path(app.static_folder or "")
    cache: dict[str, tuple[int, str]] = {}

    def digest(filename: str) -> str | None:
        path = folder / filename
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None  # a missing file: the URL stays as asked and gets its 404
        hit = cache.get(filename)
        if hit is None or hit[0] != mtime:
            hit = cache[filename] = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
        return hit[1]

    @app.url_defaults
    def _hash_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = digest(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _cache_hashed(response):
        if request.endpoint == "static" and response.status_code == 200 and request.args.get("v"):
            # Replaces the logged-in pages' no-store: a stylesheet carries no personal data.
            response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
        return response
