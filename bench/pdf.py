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
import contextlib
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞宇浩然子涵欣怡梓轩一诺思远雨泽"
PHRASES = ["学校未按时办理学籍注册", "转学手续被拒绝", "国网和省网信息不一致", "学籍号与身份证号不符",
           "孩子随迁入学后无法建立学籍", "毕业后仍滞留在毕业生库", "一人两个学籍无法注销", "休学期满未办理复学",
           "户籍迁移后学籍未随转", "民族信息登记错误", "出生日期登记错误需更正", "空挂学籍被他校占用"]


def _text(rng: random.Random, n: int) -> str:
    """Varied complaint text, so each form needs its own font subset as real orders do."""
    return "；".join(rng.choice(PHRASES) for _ in range(n)) + "。"


def _orders(n: int):
    """``n`` different verification orders (transient model objects, never flushed)."""
    from caseflow.models import Case, Order, OrderKind, OrderState, Person, Sex, Unit, UnitKind

    county = Unit(code="410105", name="金水区教育局", kind=UnitKind.COUNTY, path="000000/410000/410100/410105/")
    school = Unit(code="4141000001", name="郑州市金水区第一小学", kind=UnitKind.SCHOOL,
                  path=county.path + "4141000001/")
    orders = []
    for i in range(n):
        rng = random.Random(i)
        complainant = Person(name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), sex=Sex.MALE, age=38, ethnicity="汉族",
                             id_number="41010519880504311" + "3", phone=f"138{i:08d}")
        student = Person(name=complainant.name[0] + rng.choice(GIVEN) + rng.choice(GIVEN), sex=Sex.MALE, age=11, ethnicity="汉族", id_number="410105201503081231",
                         registry_no="G410105201503081231")
        case = Case(number=f"XJ2026-{i + 1:06d}", complainant=complainant, student=student)
        orders.append(Order(
            number=f"HC2026-{i + 1:06d}", kind=OrderKind.VERIFICATION, case=case, state=OrderState.REPORTED,
            issuing_unit=county, receiving_unit=school,
            content=f"投诉人反映：{_text(rng, 3)}（第{i + 1}件）",
            responsible_person="王主任", responsible_phone="0371-65900105", acting_person="李老师",
            acting_phone="0371-65901111", sent_at=datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
            due_on=date(2026, 11, 30), findings="经核实：" + _text(rng, 2),
        ))
    return orders


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _timed(fn):
    """(wall seconds, CPU seconds of this process, result): CPU time shows the cost on a busy machine."""
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - w, time.process_time() - c, result


@contextlib.contextmanager
def _weasyprint_as_shipped():
    """Undo caseflow's font-subset cache, so the floor is WeasyPrint as installed."""
    from weasyprint.pdf import fonts

    cached = fonts.Font.subset
    fonts.Font.subset = getattr(cached, "__wrapped__", cached)
    try:
        yield
    finally:
        fonts.Font.subset = cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=40, help="warm single renders to time")
    parser.add_argument("--batch", type=int, default=500, help="forms in the batch")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from weasyprint import HTML

    from caseflow.documents.context import order_form
    from caseflow.documents.render import render_orders
    from caseflow.documents.templates import orders_html, template_fingerprint
    imports = time.perf_counter() - t0

    orders = _orders(max(args.batch, 2 * args.warm + 1))

    def caseflow_single(order):
        form = order_form(order)
        form.data_hash(template_fingerprint())
        return render_orders([form])

    first_wall, first_cpu, first = _timed(lambda: caseflow_single(orders[0]))
    warm = [_timed(lambda o=o: caseflow_single(o)) for o in orders[1:args.warm + 1]]
    # The floor: the HTML caseflow produced for the same (fresh) orders, through bare WeasyPrint.
    htmls = [orders_html([order_form(o)]) for o in orders[args.warm + 1:2 * args.warm + 1]]
    with _weasyprint_as_shipped():
        bare = [_timed(lambda h=h: HTML(string=h).write_pdf()) for h in htmls]
    forms = [order_form(o) for o in orders[:args.batch]]
    # The first batch starts the render processes; the second finds them warm (as a server would).
    cold_wall, _cold_cpu, _cold = _timed(lambda: render_orders(forms))
    batch_wall, batch_cpu, batch = _timed(lambda: render_orders(forms))

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    def p95(rows, i):
        return statistics.quantiles([r[i] for r in rows], n=20)[-1]

    n = args.batch
    table = [
        ("imports (weasyprint + caseflow)", f"{_ms(imports)}", "", ""),
        ("first render in the process", f"{_ms(first_wall)}", f"{_ms(first_cpu)}", ""),
        ("single form warm, median", f"{_ms(med(warm, 0))}", f"{_ms(med(warm, 1))}", "target <= 150 ms"),
        ("single form warm, p95", f"{_ms(p95(warm, 0))}", f"{_ms(p95(warm, 1))}", ""),
        ("bare WeasyPrint, same HTML, median", f"{_ms(med(bare, 0))}", f"{_ms(med(bare, 1))}", "floor"),
        ("caseflow / bare WeasyPrint", f"{med(warm, 0) / med(bare, 0):.2f}x",
         f"{med(warm, 1) / med(bare, 1):.2f}x", "target <= 1.3x"),
        (f"batch of {n}, per form, first (starts pool)", f"{_ms(cold_wall / n)}", "", ""),
        (f"batch of {n}, per form", f"{_ms(batch_wall / n)}", "", "target <= 40 ms (wall)"),
        (f"batch of {n}, total", f"{batch_wall:.1f} s", f"{batch_cpu:.1f} s", f"{batch.pages} pages"),
    ]
    print(f"{'':36} {'wall ms':>10} {'CPU ms':>10}   (CPU: this process; batches render in child processes)")
    for name, wall, cpu, note in table:
        print(f"{name:36} {wall:>10} {cpu:>10}  {note}")
    print(f"{'bytes per single-form PDF':36} {len(first.data):>10,}             target <= 300 KB (307,200 B)")
    print(f"{'bytes per form in the batch':36} {len(batch.data) // n:>10,}")
    try:
        load = " ".join(f"{x:.2f}" for x in __import__("os").getloadavg())
        print(f"load average during the run: {load} (CPU ms are this process only)")
    except OSError:
        pass


if __name__ == "__main__":
    main()
