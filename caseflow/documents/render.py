"""HTML to PDF with WeasyPrint: Jinja templates in ``templates/pdf``, no network, no files.

The templates carry their CSS inline and the fonts come from fontconfig, so a
render needs no URL at all; the fetcher refuses every URL except ``data:``
(no ``file:``, no remote, no redirects), so text typed by a citizen can never
make the renderer read a local file or call out.
"""
from __future__ import annotations

import atexit
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from caseflow.documents.context import OrderForm, Receipt
from caseflow.documents.templates import TEMPLATE_DIR, orders_html, receipt_html

_local = threading.local()
# WeasyPrint logs every rendering step at INFO; the app's INFO log would drown in them.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


class RefusedURL(FatalURLFetchingError):
    """A template or text asked for a URL the renderer does not fetch."""


class SafeURLFetcher(URLFetcher):
    """Fetches ``data:`` URLs only; anything else stops the render."""

    def __init__(self):
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=True, timeout=1)

    def fetch(self, url, headers=None):
        if not url.lower().startswith("data:"):
            raise RefusedURL(f"refused URL: {url[:80]}")
        response = super().fetch(url, headers)
        if response.url != url:  # never follow anything, whatever the handler did
            raise RefusedURL(f"refused redirect: {url[:80]}")
        return response


@lru_cache(maxsize=1)
def _user_agent_css() -> CSS:
    return CSS(string=(TEMPLATE_DIR / "ua.css").read_text(), url_fetcher=SafeURLFetcher())


class FormHTML(HTML):
    """HTML with a small user-agent stylesheet made for the PDF templates.

    WeasyPrint's full HTML5 stylesheet costs more to match than the forms cost to
    lay out; ``templates/pdf/ua.css`` has the few rules the templates rely on.
    """

    def _ua_stylesheets(self, forms=False):
        return [_user_agent_css()]


def _font_config() -> FontConfiguration:
    """One font configuration per thread, reused so warm renders skip font set-up."""
    if not hasattr(_local, "fonts"):
        _local.fonts = FontConfiguration()
    return _local.fonts


_SUBSETS: OrderedDict[tuple, bytes] = OrderedDict()
_SUBSETS_MAX = 32
_subsets_lock = threading.Lock()


def _install_subset_cache() -> None:
    """Remember font subsets by glyph set: the title face prints the same glyphs on every form.

    Subsetting a CJK face with HarfBuzz takes ~35 ms; the title's subset is the same
    for every 核查单 (and every 督办单), so a small LRU of subset bytes saves that on
    each single-form render.  Wraps WeasyPrint's ``Font.subset`` (checked to exist).
    """
    from weasyprint.pdf import fonts

    original = getattr(fonts.Font, "subset", None)
    if original is None or getattr(original, "_caseflow_cached", False):
        return

    def subset(self, to_unicode, hinting):
        key = (self.hash, self.index, len(self.file_content), tuple(sorted(to_unicode)), bool(hinting),
               bool(getattr(self, "missing", None)))
        with _subsets_lock:
            hit = _SUBSETS.get(key)
            if hit is not None:
                _SUBSETS.move_to_end(key)
        if hit is not None:
            self.file_content = hit
            return
        original(self, to_unicode, hinting)
        with _subsets_lock:
            _SUBSETS[key] = self.file_content
            while len(_SUBSETS) > _SUBSETS_MAX:
                _SUBSETS.popitem(last=False)

    subset._caseflow_cached = True  # type: ignore[attr-defined]  # mypy has no function attributes
    subset.__wrapped__ = original  # type: ignore[attr-defined]
    fonts.Font.subset = subset


_install_subset_cache()


@dataclass(frozen=True)
class Pdf:
    data: bytes
    pages: int
    starts: tuple[int, ...] = ()  # the page (from 0) on which each form begins, for a document of forms


def html_to_pdf(html: str) -> Pdf:
    """Render one HTML string; fonts subset and embedded, metadata from <title>/<meta>."""
    document = FormHTML(string=html, url_fetcher=SafeURLFetcher()).render(font_config=_font_config())
    first: dict[str, int] = {}  # a form running over pages has its anchor on each of them
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("form-"):
                first.setdefault(anchor, index)
    return Pdf(document.write_pdf(), len(document.pages), tuple(sorted(first.values())))


# A batch this large is split over a few render processes (WeasyPrint is single-threaded Python);
# smaller ones render in-process, where a pool's start-up would cost more than it saves.
PARALLEL_MIN_FORMS = 60
_pool_lock = threading.Lock()
_pool = None


def _render_pool():
    """Render processes, started once per process on first use ("spawn": no fork of a threaded server)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            import multiprocessing
            import os
            from concurrent.futures import ProcessPoolExecutor

            workers = min(4, os.cpu_count() or 1)
            _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(_pool.shutdown)  # before interpreter teardown, not during it
        return _pool


def _merge(parts: list[Pdf]) -> Pdf:
    """The chunks' pages in order, with the first chunk's metadata (the batch title)."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    starts: list[int] = []
    offset = 0
    for i, part in enumerate(parts):
        reader = PdfReader(io.BytesIO(part.data))
        writer.append(reader)
        if i == 0 and reader.metadata:
            writer.add_metadata(dict(reader.metadata))
        starts.extend(offset + start for start in part.starts)
        offset += part.pages
    out = io.BytesIO()
    writer.write(out)
    return Pdf(out.getvalue(), offset, tuple(starts))


# A4 in PostScript points; a form scaled by 1/sqrt(2) is A5, half of an A4 sheet turned landscape.
A4 = (595.28, 841.89)
HALF = 2 ** -0.5


def two_up(pdf: Pdf) -> Pdf:
    """Two one-page forms side by side on each A4 landscape sheet, each at A5 (71 %), in order.

    A form that runs over more than one page does not fit: its pages stay A4 portrait, full size, and
    so does a one-page form with no one-page neighbour to share its sheet.
    """
    import io

    from pypdf import PageObject, PdfReader, PdfWriter, Transformation

    reader = PdfReader(io.BytesIO(pdf.data))
    ends = [*pdf.starts[1:], pdf.pages]
    forms = [list(range(start, end)) for start, end in zip(pdf.starts, ends, strict=True)]
    writer = PdfWriter()
    if reader.metadata:
        writer.add_metadata(dict(reader.metadata))
    k = 0
    while k < len(forms):
        pair = forms[k:k + 2]
        if len(pair) == 2 and len(pair[0]) == len(pair[1]) == 1:
            sheet = PageObject.create_blank_page(width=A4[1], height=A4[0])
            for slot, (index,) in enumerate(pair):
                sheet.merge_transformed_page(reader.pages[index],
                                             Transformation().scale(HALF, HALF).translate(slot * A4[1] / 2, 0))
            writer.add_page(sheet)
            k += 2
        else:
            for index in forms[k]:
                writer.add_page(reader.pages[index])
            k += 1
    out = io.BytesIO()
    writer.write(out)
    return Pdf(out.getvalue(), len(writer.pages))


def render_orders(forms: list[OrderForm], *, title: str | None = None, two_up_sheets: bool = False) -> Pdf:
    """The orders as one PDF, one per page (or two-up, :func:`two_up`), in the order given; large batches
    use every core."""
    import os

    workers = min(4, os.cpu_count() or 1)
    if len(forms) < PARALLEL_MIN_FORMS or workers < 2:
        pdf = html_to_pdf(orders_html(forms, title=title))
    else:
        size = -(-len(forms) // workers)
        chunks = [orders_html(forms[i:i + size], title=title) for i in range(0, len(forms), size)]
        pdf = _merge(list(_render_pool().map(html_to_pdf, chunks)))  # no database, no app there
    if len(pdf.starts) != len(forms):
        raise RuntimeError(f"{len(forms)} forms but {len(pdf.starts)} form starts in the PDF")
    return two_up(pdf) if two_up_sheets else pdf


def render_receipt(data: Receipt) -> Pdf:
    return html_to_pdf(receipt_html(data))
