# caseflow — `make run` serves the demo, `make test` runs every test.
SHELL := /bin/bash
PY := .venv/bin/python
FLASK := .venv/bin/flask --app caseflow

.PHONY: setup run demo test test-fast lint services clean

setup:
	@scripts/bootstrap.sh

## Serve the demo on http://127.0.0.1:5000 (SQLite and in-process jobs unless DATABASE_URL/REDIS_URL are set).
run: setup demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## The demo data: units, accounts and cases, then synthetic registry extracts of both systems.
DEMO_REGISTRY := instance/demo-registry
demo: setup
	$(PY) scripts/ensure_database.py
	$(FLASK) db upgrade
	$(FLASK) demo load
	$(FLASK) registry generate --students 2000 --seed 7 --out $(DEMO_REGISTRY) > /dev/null
	$(FLASK) registry import --source national --as-of 2026-09-30 $(DEMO_REGISTRY)/national.csv | tail -n 1
	$(FLASK) registry import --source provincial --as-of 2026-09-30 $(DEMO_REGISTRY)/provincial.csv | tail -n 1
	$(FLASK) registry check | tail -n 1

## The lint, then every test against the real PostgreSQL and Redis (and an RQ worker); fails if they are unreachable.
## The browser tests need Chromium and axe-core: the setup installs them for this target.
test: export WITH_BROWSER = 1
test: setup lint services
	CASEFLOW_REQUIRE_SERVICES=1 $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

## The quick loop: SQLite only, no services.
test-fast: setup
	CASEFLOW_TEST_DB=sqlite $(PY) -m pytest -q -m "not postgres and not redis" $(PYTEST_ARGS)

## Start the local PostgreSQL and Redis if this machine has them installed but stopped.
services:
	@scripts/services.sh

## Style (ruff), the architecture's import contracts (import-linter) and the domain's types (mypy).
lint: setup
	.venv/bin/ruff check caseflow tests bench
	.venv/bin/lint-imports --no-logo
	.venv/bin/mypy

clean:
	rm -rf instance/ artifacts/ .pytest_cache
