"""``flask --app caseflow ...`` commands."""
from __future__ import annotations

import json
import sys
from datetime import date

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from caseflow.extensions import db

units_cli = AppGroup("units", help="The unit hierarchy.")
calendar_cli = AppGroup("calendar", help="Working days.")
demo_cli = AppGroup("demo", help="Demo data.")
outbox_cli = AppGroup("outbox", help="Background work waiting to be delivered.")


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


@units_cli.command("responsible")
@click.argument("codes", nargs=-1, required=True)
def units_responsible(codes: tuple[str, ...]) -> None:
    """Print the unit responsible for a complaint about one or two schools."""
    from caseflow.cases.operations import route, units_by_code
    from caseflow.errors import InvalidInput

    if len(codes) > 2:
        raise click.UsageError("give one or two school codes")
    try:
        schools = units_by_code(list(codes))
        unit, reason, referred = route(schools)
    except (InvalidInput, ValueError) as exc:
        click.echo(getattr(exc, "message", str(exc)), err=True)
        sys.exit(1)
    if referred:
        click.echo(f"000000 教育部 (referred upward from {unit.code} {unit.name}: outside the provincial deployment)")
        click.echo(reason)
        return
    click.echo(f"{unit.code} {unit.name}")
    click.echo(reason)


@calendar_cli.command("due")
@click.argument("start")
@click.argument("n", type=int)
def calendar_due(start: str, n: int) -> None:
    """Print the date N working days after START (ISO dates)."""
    from caseflow.deadlines import load_calendar

    due = load_calendar().add(_parse_date(start), n)
    line = due.on.isoformat()
    if due.provisional:
        line += " (provisional: the holiday calendar of that year is not known; weekends only)"
    click.echo(line)


@demo_cli.command("load")
@click.option("--reset/--no-reset", default=True, help="Delete existing data first.")
def demo_load(reset: bool) -> None:
    """Load the Henan demo hierarchy, one account per role and a dozen cases."""
    from caseflow.demo import load_demo

    passwords = load_demo(reset=reset)
    click.echo("Demo data loaded. Accounts (username / password / role / unit):")
    for username, password, role, unit in passwords:
        click.echo(f"  {username:<22} {password:<18} {role:<10} {unit}")


@outbox_cli.command("sweep")
def outbox_sweep() -> None:
    """Hand pending outbox items (whose jobs never ran) to the queue again."""
    from caseflow.jobs import sweep

    click.echo(json.dumps({"dispatched": sweep(older_than_seconds=0)}))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker for caseflow's queue (needs REDIS_URL)."""
    from flask import current_app
    from rq import Worker

    from caseflow.jobs import queue

    q = queue()
    if q is None:
        raise click.UsageError("REDIS_URL is not set: jobs run in-process, no worker is needed")
    Worker([q], connection=q.connection, name=None).work(burst=burst, with_scheduler=False)
    current_app.logger.info("worker stopped")


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    from caseflow.registry.cli import registry_cli

    for group in (units_cli, calendar_cli, demo_cli, outbox_cli, worker, registry_cli):
        app.cli.add_command(group)

    @app.shell_context_processor
    def _shell():
        from caseflow import models

        return {"db": db, "sa": sa, "m": models}
