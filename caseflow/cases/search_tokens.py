"""Each case's search tokens: its people's name characters and the units that may see it, in one indexed array.

A name search in a city at 1,000,000 cases read the ~40,000 people whose name has 王, reached their ~38,000
cases through two indexes, and asked the access rule of each (measured: 650–1,000 ms).  ``cases.search_tokens``
holds, sorted and without repeats:

- each character of the complainant's and the student's name, as minus its code point (``-ord('王')``);
- the id of every unit that may see the case: its responsible unit, each order's receiving unit, and every unit
  above them.  These are exactly the units ``access.case_visibility`` lets see the case (a user sees it when
  their unit is at or above one of those), so ``search_tokens @> ARRAY[unit id]`` is that rule (``access.TOKENS``).

A name search in a scope is then one GIN index scan, ``search_tokens @> ARRAY[-ord('王'), unit id]``, which
intersects the two lists of cases in the index; a name of more characters is checked as a substring on the few
cases that have them all.  PostgreSQL only: elsewhere the column stays empty and the search reads the people.

Kept like the summary rows (``chase.facts``), by ``extensions.CommitMarks``: a flush that adds or changes a
case, adds, changes or deletes an order, or changes a person marks them; just before the commit the marked
cases' tokens are computed afresh from the data in one statement, and written where they differ, in the same
transaction.  The cases are locked first, so that two transactions changing one case at once cannot each write
tokens that miss the other's change.  ``rebuild`` fills every case (the benchmark's bulk load); ``drift``
compares them with a fresh computation (the tests call it after every test).  Units do not move in the tree
(only their names change), so a unit's ancestors are fixed.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from caseflow.extensions import AnySession, CommitMarks, db
from caseflow.models import Case, Order, Person

# SQL: a case's tokens, fresh from the data (the case is ``c``; ``ascii`` gives a character's code point in a
# UTF8 database, which caseflow's are).  A unit's ancestors are the units whose codes
# its path lists ("000000/410000/410100/").  Kept in step with migration 0027, which fills the column with it.
TOKENS_OF_CASE = """
    ARRAY(SELECT t FROM (
        SELECT -ascii(ch) AS t
          FROM persons p CROSS JOIN LATERAL unnest(string_to_array(p.name, NULL)) AS ch
         WHERE p.id IN (c.complainant_id, c.student_id)
        UNION
        SELECT a.id
          FROM (SELECT c.responsible_unit_id AS unit_id
                UNION SELECT o.receiving_unit_id FROM orders o WHERE o.case_id = c.id) AS seeing
          JOIN units u ON u.id = seeing.unit_id
          JOIN units a ON a.code = ANY(string_to_array(u.path, '/'))
    ) AS tokens ORDER BY t)
"""


def _fresh(where: str = "TRUE") -> str:
    """SQL: the CTE ``fresh`` (id, tokens) of the cases ``where`` selects, each computed once."""
    return f"fresh AS MATERIALIZED (SELECT c.id, {TOKENS_OF_CASE} AS tokens FROM cases c WHERE {where})"


def name_tokens(text: str) -> list[int]:
    """The tokens of the characters of ``text`` (each once, sorted)."""
    return sorted({-ord(ch) for ch in text})


def in_use(session: AnySession | None = None) -> bool:
    """Whether the database keeps the tokens (PostgreSQL)."""
    return (session or db.session).get_bind().dialect.name == "postgresql"


def refresh(case_ids: Iterable[int], person_ids: Iterable[int] = (), session: AnySession | None = None) -> int:
    """Compute the tokens of these cases (and of the cases of these people) afresh; how many changed."""
    session = session or db.session
    cases, people = sorted(set(case_ids)), sorted(set(person_ids))
    if not (cases or people) or not in_use(session):
        return 0
    marked = {"cases": cases, "people": people}
    which = "c.id = ANY(:cases) OR c.complainant_id = ANY(:people) OR c.student_id = ANY(:people)"
    # Locked first, in one order: a transaction adding an order to the same case meanwhile has committed
    # when the next statement starts, and its snapshot sees that order.  (Not FOR UPDATE, which would also hold
    # up every insert that refers to the case, its events and orders, until the commit.)
    session.execute(sa.text(f"SELECT c.id FROM cases c WHERE {which} ORDER BY c.id FOR NO KEY UPDATE"), marked)
    result = session.execute(sa.text(f"""
        WITH {_fresh(which)}
        UPDATE cases SET search_tokens = fresh.tokens FROM fresh
         WHERE cases.id = fresh.id AND cases.search_tokens IS DISTINCT FROM fresh.tokens"""), marked)
    return int(getattr(result, "rowcount", 0) or 0)


def rebuild(session: AnySession | None = None) -> int:
    """Every case's tokens from scratch (after rows were written in bulk); how many changed.

    The index is dropped for the while and built again at the end: kept row by row, it made the rebuild of
    100,000 cases take 213 s instead of ~10.  Dropping it locks the cases table until the commit: for bulk
    loads (the benchmarks), not a running system.
    """
    session = session or db.session
    if not in_use(session):
        return 0
    index = next(i for i in db.metadata.tables["cases"].indexes if i.name == "ix_cases_search_tokens")
    connection = session.connection()
    index.drop(connection, checkfirst=True)
    # Tables just written in bulk have no statistics: without them the planner read the whole units table for
    # each case (1,000,000 cases: over 18 minutes, against ~1.5 with them).
    session.execute(sa.text("ANALYZE units, persons, orders, cases"))
    result = session.execute(sa.text(f"""
        WITH {_fresh()}
        UPDATE cases SET search_tokens = fresh.tokens FROM fresh
         WHERE cases.id = fresh.id AND cases.search_tokens IS DISTINCT FROM fresh.tokens"""))
    index.create(connection)
    return int(getattr(result, "rowcount", 0) or 0)


def drift(session: AnySession | None = None) -> list[str]:
    """Cases whose stored tokens differ from a fresh computation (empty when in step)."""
    session = session or db.session
    if not in_use(session):
        return []
    rows = session.execute(sa.text(f"""
        WITH {_fresh()}
        SELECT cases.number, cases.search_tokens, fresh.tokens FROM cases JOIN fresh ON fresh.id = cases.id
         WHERE cases.search_tokens IS DISTINCT FROM fresh.tokens ORDER BY cases.id LIMIT 20""")).all()
    return [f"case {number}: search tokens {stored} stored, {fresh} fresh" for number, stored, fresh in rows]


# --- keeping them up to date -----------------------------------------------------------------------

def _marked(objects: Iterable[object]) -> Iterator[tuple[str, int | None]]:
    for obj in objects:
        if isinstance(obj, Case):
            yield "cases", obj.id
        elif isinstance(obj, Order):
            yield "cases", obj.case_id
        elif isinstance(obj, Person):
            yield "people", obj.id


def _keep(session: Session, marks: dict[str, set[int]]) -> None:
    refresh(marks.get("cases", ()), marks.get("people", ()), session)


MARKS = CommitMarks("search_tokens", _marked, _keep)


def init_app(app) -> None:
    """Keep the tokens with every commit of the app's sessions (installed once per process)."""
    MARKS.install()
