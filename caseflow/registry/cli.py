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
