"""Small HTTP helpers shared by the blueprints."""
from __future__ import annotations

from urllib.parse import quote


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition header value for a (Chinese) file name, RFC 6266 / 5987."""
    return f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(filename)}"
