"""Flask extensions, created unbound and bound in :func:`caseflow.create_app`."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.exc import StaleDataError

from caseflow.errors import ConcurrentUpdate

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations get stable names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The models' base class.  Flask-SQLAlchemy builds ``db.Model`` at run time from ``Base``, which a type
# checker cannot follow; it sees ``Base``, whose typed columns and relationships the models use.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def listen_to_sessions(**listeners) -> None:
    """Install session event listeners (``after_flush=fn``, …) on every session of ``db``, once per process."""
    for name, listener in listeners.items():
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@contextmanager
def unit_of_work(*, keep: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """One transaction, for a request, a command or a job: commit when the block ends, roll back if it raises.

    ``keep`` names refusals that still commit what the block recorded (a counted failed log-in, say)
    before they propagate.  A row changed by someone else since it was read (a stale version) is
    ``ConcurrentUpdate``, whether the commit or a flush inside the block (an autoflush before a query)
    finds it.  The outbox items the block wrote are handed over by the commit itself
    (``caseflow.jobs``).
    """
    try:
        yield
    except keep:
        _commit()
        raise
    except StaleDataError as exc:  # lost the race in a flush inside the block (an autoflush, say)
        db.session.rollback()
        raise ConcurrentUpdate() from exc
    except BaseException:
        db.session.rollback()
        raise
    _commit()


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise ConcurrentUpdate() from exc
    except BaseException:
        db.session.rollback()
        raise
