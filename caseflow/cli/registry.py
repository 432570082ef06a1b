"""``flask --app caseflow registry ...``: import, lookup, reconcile, check, generate."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from caseflow.cli.support import parse_date as _date
from caseflow.extensions import unit_of_work

registry_cli = AppGroup("registry", help="The student registry (学籍): import, lookup, checks, reports.")


@registry_cli.command("import")
@click.option("--source", type=click.Choice(["national", "provincial"]), required=True)
@click.option("--as-of", "as_of", required=True, help="Snapshot date YYYY-MM-DD.")
@click.argument("file", type=click.Path(dir_okay=False))
def import_command(source: str, as_of: str, file: str) -> None:
    """Import an extract in the foreground; last line: a JSON summary."""
    from caseflow.models import RegistrySource
    from caseflow.registry.extract import RegistryImportRefused
    from caseflow.registry.importer import create_import, run_import

    with unit_of_work():
        imp = create_import(RegistrySource(source), _date(as_of), file)
    click.echo(f"import {imp.id}: {source} {as_of} {file}")
    try:
        summary = run_import(imp.id, on_progress=lambda p: click.echo(p.line()))
    except RegistryImportRefused as exc:
        click.echo(exc.message, err=True)
        click.echo(json.dumps({"refused": exc.message}, ensure_ascii=False))
        sys.exit(2)
    click.echo(json.dumps(summary, ensure_ascii=False))


@registry_cli.command("lookup")
@click.option("--id-number")
@click.option("--registry-no")
@click.option("--name")
@click.option("--birth-date")
@click.option("--reason", default="命令行查询", show_default=True, help="Recorded in the audit log.")
@click.option("--user", "username", help="Look up as this user (their part of the unit tree).")
def lookup_command(id_number, registry_no, name, birth_date, reason, username) -> None:
    """Look a student up in both sources; prints JSON (records, flags)."""
    from caseflow.errors import InvalidInput
    from caseflow.extensions import db
    from caseflow.models import User
    from caseflow.registry.lookup import lookup, parse_query

    user = None
    if username:
        user = db.session.scalars(db.select(User).where(User.username == username)).first()
        if user is None:
            raise click.UsageError(f"no user {username!r}")
    try:
        query = parse_query(id_number=id_number, registry_no=registry_no, name=name, birth_date=birth_date)
        with unit_of_work():
            result = lookup(user, query, reason=reason)
    except InvalidInput as exc:
        click.echo(exc.message, err=True)
        sys.exit(2)
    click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))


@registry_cli.command("generate")
@click.option("--students", type=int, required=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Directory (default: instance/registry/generated).")
@click.option("--as-of", "as_of", default="2026-09-30", show_default=True)
def generate_command(students: int, seed: int, out: str | None, as_of: str) -> None:
    """Write synthetic national.csv and provincial.csv over the unit tree; prints the manifest (JSON)."""
    from pathlib import Path

    from flask import current_app

    from caseflow.registry.generator import demo_schools, generate

    target = Path(out) if out else Path(current_app.instance_path) / "registry" / "generated"
    try:
        manifest = generate(demo_schools(), students, seed, target, as_of=_date(as_of))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))


@registry_cli.command("check")
@click.option("--as-of", "as_of", help="Use the snapshots of this date or before (default: latest).")
def check_command(as_of: str | None) -> None:
    """Run the problem check over the latest snapshots; prints counts per problem type (JSON)."""
    from caseflow.registry.problems import run_check

    with unit_of_work():
        result = run_check(_date(as_of) if as_of else None)
    click.echo(json.dumps({"check_id": result.check_id, "snapshots": result.snapshots,
                           "problems": result.counts}, ensure_ascii=False))


@registry_cli.command("reconcile")
@click.option("--as-of", "as_of", help="Snapshots of this date or before (default: the latest, as on the web).")
@click.option("--level", type=click.Choice(["city", "county", "school"]), default="city", show_default=True)
@click.option("--unit", "unit_code", help="Only schools under this unit (with --level school: a county).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="File for xlsx (csv goes to stdout by default).")
def reconcile_command(as_of: str | None, level: str, unit_code: str | None, fmt: str, output: str | None) -> None:
    """Seed 000's reconciliation table of the two systems: the deployment's province, or the unit given."""
    from caseflow.extensions import db
    from caseflow.models import Unit
    from caseflow.registry.problems import reconcile
    from caseflow.registry.reports import to_csv, to_xlsx

    within = None
    if unit_code:
        within = db.session.scalars(db.select(Unit).where(Unit.code == unit_code)).first()
        if within is None:
            raise click.UsageError(f"no unit {unit_code!r}")
    with unit_of_work():
        report = reconcile(_date(as_of) if as_of else None, level, within)
    if fmt == "csv":
        data = to_csv(report)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                fh.write(data)
        else:
            click.echo(data.removeprefix("\ufeff"), nl=False)  # the mark is for Excel, not for a pipe
        return
    target = output or f"reconcile-{as_of or 'latest'}-{level}.xlsx"
    with open(target, "wb") as fh:
        fh.write(to_xlsx(report))
    click.echo(target)


@registry_cli.command("imports")
@click.option("--limit", type=int, default=10, show_default=True)
def imports_command(limit: int) -> None:
    """Show recent imports and their progress (rows done / total, rate, ETA), read from their progress rows."""
    from caseflow.registry.importer import progress_of, reap_dead_imports, recent_imports

    reap_dead_imports()
    for imp in recent_imports(limit):
        click.echo(f"{imp.id:>5} {imp.source.value:<10} {imp.as_of} {imp.state.value:<8} {progress_of(imp).line()}"
                   f"  imported={imp.rows_imported} rejected={imp.rows_rejected}  {imp.file_name}"
                   + (f"  error: {imp.error}" if imp.error else ""))


@registry_cli.command("run-queued")
def run_queued_command() -> None:
    """Run, in the foreground, the imports still waiting in the queue (e.g. Redis was down at upload)."""
    from caseflow.extensions import db
    from caseflow.models import ImportState, RegistryImport
    from caseflow.registry.jobs import run_import_job

    ids = db.session.scalars(db.select(RegistryImport.id).where(RegistryImport.state == ImportState.QUEUED)
                             .order_by(RegistryImport.id)).all()
    db.session.rollback()
    for import_id in ids:
        click.echo(json.dumps({"import": import_id, "summary": run_import_job(import_id)}, ensure_ascii=False))
