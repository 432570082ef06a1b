"""The PDF templates: a plain Jinja environment and the fingerprint stored PDFs depend on.

Kept apart from ``render`` so that hashing form data (the embedded-mode job, the
download's freshness check) never imports WeasyPrint.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import jinja2

from caseflow.config import PROJECT_ROOT
from caseflow.documents.context import OrderForm, Receipt

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "pdf"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """A plain Jinja environment (no Flask needed: jobs, CLI and bench share it)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=1)
def template_fingerprint() -> str:
    """Hash of the PDF templates: a template change makes every stored PDF out of date."""
    digest = hashlib.sha256()
    for path in sorted(TEMPLATE_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def orders_html(forms: list[OrderForm], *, title: str | None = None) -> str:
    """One document with one form per page (a batch, or a single order)."""
    first = forms[0] if forms else None
    return environment().get_template("order.html").render(
        forms=forms,
        doc_title=title or (f"{first.title} {first.number}" if first else "核查单、督办单"),
        author=first.issuing_unit if first and len(forms) == 1 else "学籍投诉处理系统",
        keywords=", ".join(f.number for f in forms[:50]),
    )


def receipt_html(data: Receipt) -> str:
    return environment().get_template("receipt.html").render(r=data)
