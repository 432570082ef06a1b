"""The JSON API's tokens from the command line: ``flask api token create|revoke|list``.

Same operations as the admin page (``caseflow.cases.api_tokens``); the operator at the console acts
as no account, as for the other administration commands.  A new token is printed once, never stored.
"""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from caseflow.cases import api_tokens as tokens
from caseflow.cli.support import transact_or_exit
from caseflow.extensions import db
from caseflow.models import ApiToken, Unit

api_cli = AppGroup("api", help="The JSON API.")
token_cli = AppGroup("token", help="Integration tokens (created, revoked and listed by administrators).")
api_cli.add_command(token_cli)


@token_cli.command("create")
@click.option("--unit", "unit_code", required=True, help="The code of the unit the token acts for.")
@click.option("--name", required=True, help="Who uses it, e.g. 12345热线平台.")
def token_create(unit_code: str, name: str) -> None:
    """Create a token for a unit; it is printed once."""
    unit = db.session.scalars(sa.select(Unit).where(Unit.code == unit_code.strip())).first()
    if unit is None:
        raise click.ClickException(f"no unit {unit_code}")
    token, raw = transact_or_exit(lambda: tokens.create_token(None, unit, name))
    click.echo(f"token {token.id} for {unit.code} {unit.name} ({name}); shown once, keep it safe:")
    click.echo(raw)


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID: every later call with it is refused (401)."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    transact_or_exit(lambda: tokens.revoke_token(None, token))
    click.echo(f"token {token_id} revoked")


@token_cli.command("list")
def token_list() -> None:
    """List the tokens: id, prefix, unit, name, created, last used, revoked."""
    for t in tokens.tokens():
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        click.echo(f"{t.id}\t{t.prefix}…\t{t.unit.code}\t{t.name}\tcreated {t.created_at:%Y-%m-%d}\t"
                   f"last used {used}\t{state}")
