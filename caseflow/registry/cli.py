"""``flask --app caseflow registry ...``: import, lookup, reconcile, check, generate."""
from __future__ import annotations

import json
import sys
import click
from flask.cli import AppGroup

from caseflow.cli import _parse_date as _date

registry_cli = AppGroup("registry", help="The student registry (学籍): import, lookup, checks, reports.")


@registry_cli.command("import")
@click.option("--source", type=click.Choice(["national", "provincial"]), required=True)
@click.option("--as-of", "as_of", required=True, help="Snapshot date YYYY-MM-DD.")
@click.argument("file", type=click.Path(dir_okay=False))
def import_command(source: str, as_of: str, file: str) -> None:
    """Import an extract in the foreground; last line: a JSON summary."""
    from caseflow.extensions import db
    from caseflow.models import RegistrySource
    from caseflow.registry.extract import RegistryImportRefused
    from caseflow.registry.importer import create_import, run_import

    imp = create_import(RegistrySource(source), _date(as_of), file)
    db.session.commit()
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
    from caseflow import jobs
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
        result = lookup(user, query, reason=reason)
    except InvalidInput as exc:
        click.echo(exc.message, err=True)
        sys.exit(2)
    jobs.commit()
    click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
