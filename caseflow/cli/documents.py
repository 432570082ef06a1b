"""``flask --app caseflow forms ...`` and ``flask --app caseflow doctor``."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from caseflow.cli.support import transact_or_exit

forms_cli = AppGroup("forms", help="The official forms as PDF (核查单, 督办单).")


def _print_to(output: str, make) -> None:
    """Run one print (``make()`` returns ``Printed``), commit its audit rows, write the file."""
    printed = transact_or_exit(make)
    Path(output).write_bytes(printed.data)
    click.echo(f"{output}: {printed.count} order(s), {printed.pages} page(s), {len(printed.data)} bytes")


@forms_cli.command("render")
@click.argument("order_no")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PDF file to write.")
@click.option("--unmasked", is_flag=True, help="Print full ID numbers and phones (written to the audit log).")
def forms_render(order_no: str, output: str, unmasked: bool) -> None:
    """Write one order's PDF (masked unless --unmasked)."""
    from caseflow.documents.service import print_order

    _print_to(output, lambda: print_order(None, order_no, unmasked=unmasked))


@forms_cli.command("batch")
@click.option("--unit", "unit_code", required=True, help="Unit code (行政区划代码 or 学校标识码).")
@click.option("--from", "date_from", required=True, help="First day, YYYY-MM-DD (交办/督办 date).")
@click.option("--to", "date_to", required=True, help="Last day, YYYY-MM-DD.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PDF file to write.")
@click.option("--unmasked", is_flag=True, help="Print full ID numbers and phones (written to the audit log).")
@click.option("--two-up", is_flag=True,
              help="Two one-page orders per A4 landscape sheet, each at A5; longer orders keep full pages.")
def forms_batch(unit_code: str, date_from: str, date_to: str, output: str, unmasked: bool, two_up: bool) -> None:
    """Write every order a unit issued or received in a date range, one per page (or two-up), by number."""
    from caseflow.documents.service import parse_day, print_batch

    _print_to(output, lambda: print_batch(None, unit_code, parse_day(date_from, "开始日期", "date_from"),
                                          parse_day(date_to, "结束日期", "date_to"), unmasked=unmasked,
                                          two_up=two_up))


@click.command("doctor")
def doctor() -> None:
    """Check database, Redis, workers, fonts, HarfBuzz subsetting and calendar years."""
    from caseflow.documents.health import all_checks

    checks = all_checks()
    for check in checks:
        click.echo(f"[{check.status:>4}] {check.name}: {check.detail}")
    failed = [c for c in checks if c.required and not c.ok]
    click.echo("doctor: " + ("all required checks passed" if not failed else f"{len(failed)} required check(s) failed"))
    sys.exit(1 if failed else 0)
