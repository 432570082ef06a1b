"""List downloads: ``/cases``, ``/orders`` and ``/inbox`` as XLSX or CSV, the same filters as the page.

Masked by default; ``?full=1`` gives complete ID numbers and phones to roles that may reveal.  The audit
row is committed before the first byte goes out; the rows then stream from the database.
"""
from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from flask import Blueprint, request
from flask_login import current_user

from caseflow import exports
from caseflow.cases import permissions, spreadsheets
from caseflow.extensions import unit_of_work
from caseflow.timeutil import local_today
from caseflow.web.auth import permission_required

bp = Blueprint("exports", __name__)

FILE_NAMES = {"cases": "投诉列表", "orders": "单据列表", "inbox": "待办列表"}


@bp.app_template_global()
def may_reveal() -> bool:
    """For the list pages: whether the complete (audited) export is offered to this user."""
    return permissions.can(current_user, "reveal")


@bp.app_template_global()
def export_url(list_name: str, fmt: str, *, full: bool = False) -> str:
    """``/<list>/export.<fmt>`` with the page's query parameters (not its page number)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "full")]
    if full:
        args.append(("full", "1"))
    query = urlencode(args)
    return f"/{list_name}/export.{fmt}" + (f"?{query}" if query else "")


def _export(list_name: str, fmt: str):
    """Load the filtered list, check, audit, and stream it."""
    full = request.args.get("full") == "1"
    with unit_of_work():
        export = spreadsheets.prepare(current_user, list_name, request.args, full=full)
    name = f"{FILE_NAMES[list_name]}-{local_today().isoformat()}{'-完整' if full else ''}.{fmt}"
    return exports.download(fmt, name, exports.chunks(fmt, export.sheet.headings, export.rows,
                                                      sheet_name=export.sheet.name))


def _register() -> None:
    """``/cases/export.xlsx`` … ``/inbox/export.csv``: plain URLs (no argument), each behind its list's right."""
    for list_name, right in (("cases", "work_cases"), ("orders", "work_cases"), ("inbox", "work_inbox")):
        for fmt in ("xlsx", "csv"):
            view = permission_required(right)(partial(_export, list_name, fmt))
            bp.add_url_rule(f"/{list_name}/export.{fmt}", f"{list_name}_{fmt}", view, methods=["GET"])


_register()
