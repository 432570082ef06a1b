"""Administration from the command line: the holiday calendar and accounts.

Two groups, ``calendar`` (working days, the holiday schedule) and ``users``,
registered by ``caseflow.cli``.  Same operations as the admin pages, so the
same validation and the same deadline recomputation.
"""
from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from caseflow.cases import staff as staff_admin
from caseflow.cli.support import parse_date as _date
from caseflow.cli.support import transact_or_exit
from caseflow.deadlines import calendar as holidays
from caseflow.extensions import db
from caseflow.models import Role, User

calendar_cli = AppGroup("calendar", help="Working days.")
users_cli = AppGroup("users", help="Official accounts.")


def _user(username: str) -> User:
    """The account named USERNAME, or a usage error."""
    user = db.session.scalars(sa.select(User).where(User.username == username.strip())).first()
    if user is None:
        raise click.ClickException(f"no user {username}")
    return user


@calendar_cli.command("due")
@click.argument("start")
@click.argument("n", type=int)
def calendar_due(start: str, n: int) -> None:
    """Print the date N working days after START (ISO dates)."""
    from caseflow.deadlines.settings import load_calendar

    due = load_calendar().add(_date(start), n)
    line = due.on.isoformat()
    if due.provisional:
        line += " (provisional: the holiday calendar of that year is not known; weekends only)"
    click.echo(line)


def _changed(n: int) -> str:
    return f"{n} provisional deadline(s) recomputed and changed"


@calendar_cli.command("set-day")
@click.argument("day")
@click.argument("kind", type=click.Choice(["off", "work"]))
@click.argument("note", required=False)
def calendar_set_day(day: str, kind: str, note: str | None) -> None:
    """Mark DAY as a holiday (off) or a make-up working day (work)."""
    changed = transact_or_exit(lambda: holidays.set_day(None, _date(day), kind == "work", note))
    click.echo(f"{day}: {kind}; {_changed(changed)}")


@calendar_cli.command("remove-day")
@click.argument("day")
def calendar_remove_day(day: str) -> None:
    """Drop the administrator's setting for DAY."""
    changed = transact_or_exit(lambda: holidays.remove_day(None, _date(day)))
    click.echo(f"{day}: removed; {_changed(changed)}")


@calendar_cli.command("confirm-year")
@click.argument("year", type=int)
def calendar_confirm_year(year: int) -> None:
    """Mark YEAR's holidays as completely entered: its deadlines are no longer provisional."""
    changed = transact_or_exit(lambda: holidays.confirm_year(None, year))
    click.echo(f"{year}: confirmed; {_changed(changed)}")


@calendar_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--confirm/--no-confirm", default=True, help="Also confirm the schedule's year.")
def calendar_import(file: Path, confirm: bool) -> None:
    """Import an official schedule, one line per day: ``2027-01-01 休 元旦`` (all lines or none)."""
    text = file.read_text(encoding="utf-8-sig")
    result = transact_or_exit(lambda: holidays.import_schedule(None, text, confirm=confirm))
    confirmed = f"; {result.confirmed_year} confirmed" if result.confirmed_year else ""
    click.echo(f"{result.stored} day(s) stored{confirmed}; {_changed(result.deadlines_changed)}")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--unit", "unit", required=True, help="Unit code (or exact name).")
@click.option("--name", required=True, help="The official's name.")
@click.option("--phone")
@click.option("--email")
@click.password_option("--password", help="Prompted (twice) when not given.")
def users_create(username: str, role: str, unit: str, name: str, phone: str | None, email: str | None,
                 password: str) -> None:
    """Create an official's account."""
    data = staff_admin.UserData(username=username, name=name, role=Role(role), unit=unit, password=password,
                              phone=phone, email=email)
    user = transact_or_exit(lambda: staff_admin.create_user(None, data))
    click.echo(f"created {user.username}: {user.role.label} at {user.unit.code} {user.unit.name}")


@users_cli.command("reset-password")
@click.argument("username")
@click.password_option("--password", help="Prompted (twice) when not given.")
def users_reset_password(username: str, password: str) -> None:
    """Set a new password for USERNAME (the same policy as everywhere); their sessions end."""
    user = _user(username)
    transact_or_exit(lambda: staff_admin.reset_password(None, user, password))
    click.echo(f"{user.username}: password reset; their sessions ended")


@users_cli.command("reset-totp")
@click.argument("username")
def users_reset_totp(username: str) -> None:
    """Turn off a user's TOTP second factor (a lost phone); their sessions end."""
    from caseflow.security import totp

    user = _user(username)
    if not totp.enabled(user):
        click.echo(f"{user.username}: two-step verification is not on")
        return
    transact_or_exit(lambda: totp.reset(None, user))
    click.echo(f"{user.username}: two-step verification turned off; their sessions ended")
