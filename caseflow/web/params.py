"""Numbers from the URL and the query string, validated at the edge (never a database overflow).

Every id column is a 32-bit integer: an ``<int:...>`` path part outside 1..2**31-1 matches no route
(404), and ``args.get(name, type=int)`` outside that range is a 400.
"""
from __future__ import annotations

from flask import Flask, abort
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

INT_MAX = 2**31 - 1  # PostgreSQL's integer


class BoundedInt(IntegerConverter):
    """``<int:...>`` limited to what an integer column holds."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def bounded_int(value: str) -> int:
    """``int(value)``, or 400 when it lies outside the integer columns' range."""
    number = int(value)
    if not -INT_MAX <= number <= INT_MAX:
        abort(400)
    return number


class BoundedArgs(ImmutableMultiDict):
    """Form and query values whose ``get(..., type=int)`` refuses numbers no column can hold."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        return super().get(key, default, bounded_int if type is int else type)


def init_params(app: Flask) -> None:
    """Install the bounded ``int`` converter (before any route); the app's request class (``web.security``)
    holds its values in :class:`BoundedArgs`."""
    app.url_map.converters["int"] = BoundedInt
