"""How fast are the forms? ``python bench/pdf.py`` from the checkout root (not part of the tests).

Reports, in one run: the first render in a fresh process, median and p95 of one
warm 核查单, ms per form in one batch of 500, bytes per form, and the same HTML
rendered by bare WeasyPrint (default fetcher, no shared font configuration) as
the floor.  caseflow's path is the worker's: build the form data from an Order,
hash it, fill the template, render.  The orders are built in memory (no
database), so the figures are the renderer's, not PostgreSQL's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _orders(n: int):
    """``n`` different verification orders (transient model objects, never flushed)."""
    from caseflow.models import Case, Order, OrderKind, OrderState, Person, Sex, Unit, UnitKind

    county = Unit(code="410105", name="金水区教育局", kind=UnitKind.COUNTY, path="000000/410000/410100/410105/")
    school = Unit(code="4141000001", name="郑州市金水区第一小学", kind=UnitKind.SCHOOL,
                  path=county.path + "4141000001/")
    orders = []
    for i in range(n):
        complainant = Person(name=f"张伟{i % 10}", sex=Sex.MALE, age=38, ethnicity="汉族",
                             id_number="41010519880504311" + "3", phone=f"138{i:08d}")
        student = Person(name="张小明", sex=Sex.MALE, age=11, ethnicity="汉族", id_number="410105201503081231",
                         registry_no="G410105201503081231")
        case = Case(number=f"XJ2026-{i + 1:06d}", complainant=complainant, student=student)
        orders.append(Order(
            number=f"HC2026-{i + 1:06d}", kind=OrderKind.VERIFICATION, case=case, state=OrderState.REPORTED,
            issuing_unit=county, receiving_unit=school,
            content=f"投诉人反映其子在金水区第一小学就读两年，学校一直未办理学籍注册（第{i + 1}件）。",
            responsible_person="王主任", responsible_phone="0371-65900105", acting_person="李老师",
            acting_phone="0371-65901111", sent_at=datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
            due_on=date(2026, 11, 30), findings="经核实，该生2024年9月转入，学校漏报注册，现已补办。",
        ))
    return orders


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=40, help="warm single renders to time")
    parser.add_argument("--batch", type=int, default=500, help="forms in the batch")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from weasyprint import HTML

    from caseflow.documents.context import order_form
    from caseflow.documents.render import orders_html, render_orders, template_fingerprint
    imports = time.perf_counter() - t0

    orders = _orders(max(args.batch, args.warm + 1))

    def caseflow_single(order):
        form = order_form(order)
        form.data_hash(template_fingerprint())
        return render_orders([form])

    t0 = time.perf_counter()
    first = caseflow_single(orders[0])
    first_ms = _ms(time.perf_counter() - t0)

    warm = []
    for order in orders[1:args.warm + 1]:
        t0 = time.perf_counter()
        pdf = caseflow_single(order)
        warm.append(time.perf_counter() - t0)

    html = orders_html([order_form(orders[1])])
    bare = []
    for _ in range(args.warm):
        t0 = time.perf_counter()
        HTML(string=html).write_pdf()
        bare.append(time.perf_counter() - t0)

    forms = [order_form(o) for o in orders[:args.batch]]
    t0 = time.perf_counter()
    batch = render_orders(forms)
    batch_s = time.perf_counter() - t0

    med, bare_med = statistics.median(warm), statistics.median(bare)
    p95 = statistics.quantiles(warm, n=20)[-1]
    rows = [
        ("imports (weasyprint + caseflow)", f"{_ms(imports)} ms", ""),
        ("first render in the process", f"{first_ms} ms", ""),
        ("single 核查单 warm, median", f"{_ms(med)} ms", "target ≤ 150 ms"),
        ("single 核查单 warm, p95", f"{_ms(p95)} ms", ""),
        ("bare WeasyPrint, same HTML, median", f"{_ms(bare_med)} ms", "floor"),
        ("caseflow / bare WeasyPrint", f"{med / bare_med:.2f}×", "target ≤ 1.3×"),
        ("bytes per single-form PDF", f"{len(first.data):,} B ({len(pdf.data) // 1024} KB)", "target ≤ 300 KB"),
        (f"batch of {args.batch}: total", f"{batch_s:.1f} s, {batch.pages} pages", ""),
        (f"batch of {args.batch}: per form", f"{_ms(batch_s / args.batch)} ms", "target ≤ 40 ms"),
        (f"batch of {args.batch}: bytes per form", f"{len(batch.data) // args.batch:,} B", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<28} {note}")


if __name__ == "__main__":
    main()
