"""``flask --app caseflow ...`` commands."""
from __future__ import annotations

import json
import os
import signal
import sys

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from caseflow.cli.support import parse_date
from caseflow.extensions import db

units_cli = AppGroup("units", help="The unit hierarchy.")
demo_cli = AppGroup("demo", help="Demo data.")
outbox_cli = AppGroup("outbox", help="Background work waiting to be delivered.")


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


@demo_cli.command("load")
@click.option("--reset/--no-reset", default=True, help="Delete existing data first.")
def demo_load(reset: bool) -> None:
    """Load the Henan demo hierarchy, one account per role and a dozen cases."""
    from caseflow.demo import DEMO_ACCESS_CODE, load_demo
    from caseflow.models import Case

    passwords = load_demo(reset=reset)
    from caseflow.chase.scan import run_scan
    from caseflow.extensions import unit_of_work

    with unit_of_work():
        chased = run_scan()  # so the overdue work shows its reminders and escalations at once
    click.echo(f"Deadline scan: {json.dumps(chased, ensure_ascii=False, sort_keys=True)}")
    click.echo("Demo data loaded. Staff log-in at http://127.0.0.1:5000/login")
    click.echo("Accounts (username / password / role / unit):")
    for username, password, role, unit in passwords:
        click.echo(f"  {username:<18} {password:<26} {role}\t{unit}")
    numbers = db.session.scalars(sa.select(Case.number).order_by(Case.number)).all()
    click.echo(f"Citizens track a case at http://127.0.0.1:5000/track: case numbers {numbers[0]} .. {numbers[-1]},"
               f" access code {DEMO_ACCESS_CODE} for every demo case.")


@outbox_cli.command("sweep")
def outbox_sweep() -> None:
    """Hand pending outbox items (whose jobs never ran) to the queue again."""
    from caseflow.jobs import sweep

    click.echo(json.dumps({"dispatched": sweep(older_than_seconds=0)}))


@click.command("cleanup")
def cleanup() -> None:
    """Delete what is kept only for a while (expired reject reports, leftover uploads, citizens' sessions)."""
    from caseflow.jobs.tasks import scheduled_cleanup

    click.echo(json.dumps(scheduled_cleanup()))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (no schedule).")
@click.option("--no-schedule", is_flag=True, help="Do not run the periodic jobs in this worker.")
def worker(burst: bool, no_schedule: bool) -> None:
    """Run an RQ worker for caseflow's queue, with the periodic schedule (needs REDIS_URL)."""
    import threading

    from flask import current_app
    from rq import Worker

    from caseflow.jobs import queue
    from caseflow.jobs.schedule import start_in_thread

    q = queue()
    if q is None:
        _local_worker(burst)
        return
    # Jobs run in forked work horses: they must not share the parent's pooled connections.
    os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
    stop = threading.Event()
    if not (burst or no_schedule):
        start_in_thread(current_app._get_current_object(), q.connection, stop)
    try:
        Worker([q], connection=q.connection).work(burst=burst, with_scheduler=False)
    finally:
        stop.set()
    current_app.logger.info("worker stopped")


def _local_worker(burst: bool) -> None:
    """Without Redis, jobs run in-process: the worker runs the periodic jobs (all once with --burst)."""
    from flask import current_app

    from caseflow.jobs.local import LocalSchedule

    schedule = LocalSchedule(current_app._get_current_object())
    if burst:
        for job in schedule.jobs():
            schedule.run(job)
        click.echo(json.dumps({"ran": schedule.runs}))
        return
    if not schedule.start():
        raise click.ClickException(f"another process already runs the periodic jobs (lock {schedule.lock_path})")
    click.echo("REDIS_URL is not set: running the periodic jobs in this process (Ctrl-C stops)")
    try:
        signal.signal(signal.SIGTERM, lambda *_: schedule.stop.set())
        while not schedule.stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        schedule.close()


deadlines_cli = AppGroup("deadlines", help="The deadline chase: reminders, overdue marks, escalations.")


@deadlines_cli.command("scan")
@click.option("--today", help="Scan as if it were this date (ISO), for back-filling; never a future date.")
def deadlines_scan(today: str | None) -> None:
    """Run one overdue scan now and print what it did as JSON."""
    from caseflow.chase.scan import FutureScanDate, run_scan
    from caseflow.extensions import unit_of_work

    try:
        with unit_of_work():
            counts = run_scan(parse_date(today) if today else None)
    except FutureScanDate as exc:
        raise click.BadParameter(str(exc), param_hint="--today") from None
    click.echo(json.dumps(counts, ensure_ascii=False, sort_keys=True))


report_cli = AppGroup("report", help="Reports.")


@report_cli.command("monthly")
@click.option("--unit", "unit_code", required=True, help="Code of the bureau the report is for.")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["html", "xlsx", "pdf"]), default="html")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
def report_monthly(unit_code: str, month: str, fmt: str, output: str) -> None:
    """Write the monthly report (通报) of a unit, generating and storing it if needed."""
    from caseflow.chase.report import RENDERERS, get_or_generate
    from caseflow.errors import InvalidInput
    from caseflow.extensions import unit_of_work
    from caseflow.models import Unit

    unit = db.session.scalars(sa.select(Unit).where(Unit.code == unit_code)).first()
    if unit is None:
        raise click.BadParameter(f"no unit with code {unit_code}", param_hint="--unit")
    try:
        with unit_of_work():
            report = get_or_generate(unit, month)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message, param_hint="--month") from None
    with open(output, "wb") as fh:
        fh.write(RENDERERS[fmt](report))
    click.echo(f"{output}: {unit.name} {month} ({fmt})")


retention_cli = AppGroup("retention", help="Retention: anonymise finished cases past the retention period.")


@retention_cli.command("run")
@click.option("--today", help="Run as if it were this date (ISO); never a future date.")
@click.option("--dry-run", is_flag=True, help="Count what would be anonymised; change nothing.")
def retention_run(today: str | None, dry_run: bool) -> None:
    """Anonymise every finished case whose last event is older than RETENTION_YEARS (not those on hold)."""
    from caseflow import retention
    from caseflow.timeutil import local_today

    day = parse_date(today) if today else None
    if day is not None and day > local_today():
        raise click.BadParameter("a future date would anonymise cases early", param_hint="--today")
    click.echo(json.dumps(retention.run(day, dry_run=dry_run).as_dict(), sort_keys=True))


rules_cli = AppGroup("rules", help="The rules (政策依据) the FAQ and the orders cite, as versioned data.")


@rules_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False), required=False)
def rules_load(path: str | None) -> None:
    """Load the articles of a rules file (default: the repository's); a changed article becomes a new version."""
    from pathlib import Path

    from caseflow.errors import InvalidInput
    from caseflow.extensions import unit_of_work
    from caseflow.guidance import rules

    try:
        with unit_of_work():
            result = rules.load(Path(path) if path else rules.DEFAULT_FILE)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(result.as_dict(), sort_keys=True))


summaries_cli = AppGroup("summaries", help="Data kept beside the cases for speed: the dashboard's summary rows and "
                                          "the cases' search tokens.")


def _summary_drift() -> dict[str, list[str]]:
    from caseflow.cases import search_tokens
    from caseflow.chase import facts

    return {"summary_facts": facts.drift(), "search_tokens": search_tokens.drift()}


@summaries_cli.command("check")
def summaries_check() -> None:
    """Compare the summary rows and the search tokens with the cases; exit 1 (and say where) if they differ."""
    drift = _summary_drift()
    for lines in drift.values():
        for line in lines:
            click.echo(line, err=True)
    click.echo(json.dumps({name: len(lines) for name, lines in drift.items()}, sort_keys=True))
    if any(drift.values()):
        sys.exit(1)


@summaries_cli.command("rebuild")
def summaries_rebuild() -> None:
    """Compute the summary rows and the search tokens from scratch, in one transaction (after a bulk load or a
    restore: the cases table is locked until it ends)."""
    from caseflow.cases import search_tokens
    from caseflow.chase import facts
    from caseflow.extensions import unit_of_work

    with unit_of_work():
        counts = facts.rebuild()
        counts["search_tokens_changed"] = search_tokens.rebuild()
    click.echo(json.dumps(counts, sort_keys=True))


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    from caseflow.cli.admin import calendar_cli, users_cli
    from caseflow.cli.api import api_cli
    from caseflow.cli.documents import doctor, forms_cli
    from caseflow.cli.registry import registry_cli
    from caseflow.cli.security import security_cli

    for group in (units_cli, calendar_cli, demo_cli, outbox_cli, deadlines_cli, report_cli, worker, cleanup,
                  users_cli, forms_cli, doctor, security_cli, registry_cli, retention_cli, rules_cli, api_cli,
                  summaries_cli):
        app.cli.add_command(group)

    @app.shell_context_processor
    def _shell():
        from caseflow import models

        return {"db": db, "sa": sa, "m": models}
