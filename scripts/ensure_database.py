"""Create the PostgreSQL database named in DATABASE_URL if it does not exist yet (no-op for SQLite)."""
import os
import sys

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from caseflow.config import normalise_database_url  # noqa: E402

url = os.environ.get("DATABASE_URL", "")
if url.startswith(("postgres://", "postgresql")):
    target = sa.engine.make_url(normalise_database_url(url))
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
            print(f"created database {target.database}")
    admin.dispose()
