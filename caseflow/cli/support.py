"""What the command modules share: one operation run and committed, an ISO date argument.

Kept apart from ``caseflow.cli`` so that the feature CLIs it registers never import it back.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from typing import TypeVar

import click

T = TypeVar("T")


def transact_or_exit(operation: Callable[[], T]) -> T:
    """Run one domain operation in a unit of work; a refusal prints its Chinese message and exits 1."""
    from caseflow.errors import DomainError
    from caseflow.extensions import unit_of_work

    try:
        with unit_of_work():
            return operation()
    except DomainError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)


def parse_date(value: str) -> date:
    """An ISO date (YYYY-MM-DD) given on the command line, or a usage error."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
