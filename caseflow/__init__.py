"""caseflow: handling of public complaints about student registries (学籍投诉处理)."""
from __future__ import annotations

import atexit
import gc
import logging
import os
from typing import TYPE_CHECKING

from caseflow.config import PROJECT_ROOT, load_config

if TYPE_CHECKING:  # Flask is imported by create_app: the registry import's worker processes never need it
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, CLI, error pages."""
    from flask import Flask

    # At exit, freeze the objects instead of collecting them one last time: that collection walks
    # everything Flask, SQLAlchemy, Alembic and the models made (0.2-0.4 s at the end of every CLI
    # command here) for memory the OS takes back anyway.  Registered once, however many apps are built.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "caseflow" / "static"),
        instance_path=os.environ.get("CASEFLOW_INSTANCE_DIR", str(PROJECT_ROOT / "instance")),
    )
    app.config.update(load_config())
    app.config.setdefault("DEPLOYMENT_PROVINCE", os.environ.get("CASEFLOW_PROVINCE", "410000"))
    if config:
        app.config.update(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic.runtime.plugins", "weasyprint.progress", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from caseflow.security import crypto
    from caseflow.security.redact import install_log_redaction

    crypto.init_app(app)
    install_log_redaction()

    from caseflow import models  # noqa: F401 - register the tables with the metadata
    from caseflow.extensions import csrf, db, login_manager, migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # No JIT: every query here is short (a lookup's cost estimate once crossed the JIT threshold and
        # compiling took a hundred times longer than running it); the long reports turn it off too.
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        options["connect_args"] = {**options.get("connect_args", {}), "options": "-c jit=off"}
    db.init_app(app)
    from caseflow import jobs

    jobs.init_app(app)  # the outbox goes out after every commit
    from caseflow.cases import search_tokens
    from caseflow.chase import facts

    # Kept by every commit that changes a case: the cases' search tokens, then the dashboard's summary rows.  In
    # this order, each commit locks the case rows (tokens) before the summary rows, as a flush that changes a
    # case does: the other way round, an order's sign and a case action at once could deadlock.
    search_tokens.init_app(app)
    facts.init_app(app)
    from caseflow.jobs import local

    local.init_app(app)  # without Redis, the served app runs the periodic jobs itself
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True,
                     render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from caseflow.web import register_web

    register_web(app)

    from caseflow.cli import register_cli

    register_cli(app)

    from caseflow.documents.health import warn_if_unprintable

    warn_if_unprintable(app.logger)  # cached per process: costs nothing after the first app
    return app
