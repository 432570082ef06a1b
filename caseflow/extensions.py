"""Flask extensions, created unbound and bound in :func:`caseflow.create_app`."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING, Any

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
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


AnySession = Session | scoped_session[Any]  # a session, or db.session (which stands for the current one)


class CommitMarks:
    """Data kept beside the rows a transaction changes, brought up to date just before its commit.

    Each flush marks ids (``found`` of the flushed objects yields (kind, id) pairs; a bulk statement marks
    its own with :meth:`mark`); just before the commit the session flushes what is left, and ``keep`` gets
    every id marked, by kind, in the same transaction.  When the whole transaction ends (committed or rolled
    back; not a savepoint) the marks are forgotten.  The search tokens and the summary rows are kept this way.
    """

    def __init__(self, name: str, found: Callable[[Iterable[object]], Iterator[tuple[str, int | None]]],
                 keep: Callable[[Session, dict[str, set[int]]], object]) -> None:
        self.key, self.found, self.keep = f"caseflow.marks.{name}", found, keep

    def mark(self, session: AnySession, kind: str, ids: Iterable[int | None]) -> None:
        marks = session.info.setdefault(self.key, {}).setdefault(kind, set())
        marks.update(i for i in ids if i is not None)

    def forget(self, session: AnySession) -> None:
        session.info.pop(self.key, None)

    def install(self) -> None:
        """Keep the data with every commit of the app's sessions (once per process; in the order installed)."""
        listen_to_sessions(after_flush=self._after_flush, before_commit=self._before_commit,
                           after_transaction_end=self._after_transaction_end)

    def _after_flush(self, session: Session, _context) -> None:
        for kind, value in self.found(chain(session.new, session.dirty, session.deleted)):
            if value is not None:
                self.mark(session, kind, (value,))

    def _before_commit(self, session: Session) -> None:
        session.flush()  # what the commit would flush next is marked now
        marks = session.info.pop(self.key, None)
        if marks:
            self.keep(session, marks)

    def _after_transaction_end(self, session: Session, transaction) -> None:
        if transaction.parent is None:  # the whole transaction, not a savepoint: what it marked is gone
            self.forget(session)


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
