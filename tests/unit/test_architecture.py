"""The lint step's architecture checks fail on a violation (they are not only green because nothing is looked at).

Each test copies the code and ``pyproject.toml`` to a temporary folder, adds one import that breaks a rule,
and runs the same command as ``make lint`` there.
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the package and its configuration, without caches, compiled files or static assets."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "caseflow", root / "caseflow",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c", "static"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "lint-imports", "--no-cache", "--no-logo"], cwd=root, capture_output=True,
                          text=True, timeout=120)


@contextlib.contextmanager
def _with_line(path: Path, line: str) -> Iterator[None]:
    """Append ``line`` to a module for the duration of a ``with`` block."""
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\n" + line + "\n", encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(original, encoding="utf-8")


def test_the_contracts_hold_on_the_unchanged_code(checkout):
    result = _lint_imports(checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("cases/queries.py", "from caseflow.web import auth  # noqa", "The domain never imports the web layer"),
    ("chase/scan.py", "from caseflow.web import registry  # noqa", "The domain never imports the web layer"),
    ("registry/lookup.py", "from caseflow.cli import registry  # noqa", "The domain never imports the web layer"),
    ("models/units.py", "from caseflow.cases import routing  # noqa", "The models import no feature package"),
    ("cli/support.py", "from caseflow.cli import admin  # noqa", "The command groups never import each other"),
    ("cli/admin.py", "from caseflow.cli import registry  # noqa", "The command groups never import each other"),
    ("jobs/__init__.py", "from caseflow.jobs import tasks  # noqa", "The outbox imports nothing that calls it"),
    ("workdays.py", "from caseflow import deadlines  # noqa", "No import cycles"),
])
def test_an_import_that_breaks_a_contract_fails_the_lint(checkout, module, line, contract):
    with _with_line(checkout / "caseflow" / module, line):
        result = _lint_imports(checkout)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def test_the_domain_may_not_import_the_request(checkout):
    """ruff's banned-api rule: the request and session objects are the web layer's."""
    target = checkout / "caseflow" / "cases" / "queries.py"
    command = [BIN / "ruff", "check", "--no-cache", "--select", "TID251", "caseflow"]
    assert subprocess.run(command, cwd=checkout, capture_output=True, timeout=60).returncode == 0
    with _with_line(target, "from flask import request, session  # noqa: F401"):
        result = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "`flask.request` is banned" in result.stdout
    view = checkout / "caseflow" / "web" / "public.py"
    with _with_line(view, "from flask import request  # noqa: F401"):
        assert subprocess.run(command, cwd=checkout, capture_output=True, timeout=60).returncode == 0
