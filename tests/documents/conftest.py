"""Orders built through the real operations, and helpers that read PDFs back with poppler."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from caseflow.cases import operations as ops
from caseflow.models import Verdict
from tests.factories import submit

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "pdf"


def _poppler(tool: str, data: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(data)
        fh.flush()
        return subprocess.run([tool, *args, fh.name, *(["-"] if tool == "pdftotext" else [])],
                              capture_output=True, text=True, check=True).stdout


def pdf_text(data: bytes, *args: str) -> str:
    """``pdftotext`` of the PDF bytes."""
    return _poppler("pdftotext", data, *args)


def flat(text: str) -> str:
    """Text without any whitespace: values split over grid cells or lines join up again."""
    return "".join(text.split())


def pdf_fonts(data: bytes) -> str:
    return _poppler("pdffonts", data)


def pdf_info(data: bytes) -> str:
    return _poppler("pdfinfo", data)


def save_png(data: bytes, name: str) -> Path:
    """PNG of every page (``pdftoppm -r 80``) in artifacts/pdf, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(ARTIFACTS / name)], check=True)
    return ARTIFACTS / name


@pytest.fixture
def case(world, db):
    """A web complaint accepted by 金水区教育局."""
    case, _ = submit(db)
    ops.accept_case(world.user("supervisor", "410105"), case)
    db.session.commit()
    return case


@pytest.fixture
def verification(world, db, case):
    """A 核查单 from 金水区教育局 to the school, signed and reported with findings."""
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    order = ops.issue_verification(sup, case, [world.unit("4141000001")],
                                   "投诉人反映其子张小明在金水区第一小学就读两年，学校未办理学籍注册。")[0]
    db.session.commit()
    ops.sign_order(officer, order, "李老师", "0371-65901111")
    db.session.commit()
    ops.report_order(officer, order, text="经核实，该生2024年9月转入，学校漏报注册，现已补办。",
                     verdict=Verdict.TRUE)
    db.session.commit()
    return order


@pytest.fixture
def supervision(world, db, verification):
    """A 督办单 after the findings were accepted, signed and with a handling result."""
    sup, officer = world.user("supervisor", "410105"), world.user("officer", "4141000001")
    ops.accept_report(sup, verification)
    db.session.commit()
    order = ops.issue_supervision(sup, verification.case, world.unit("4141000001"),
                                  "请学校于五个工作日内完成学籍注册并报送结果。")
    db.session.commit()
    ops.sign_order(officer, order, "李老师", "0371-65901111")
    db.session.commit()
    ops.report_order(officer, order, text="已于国网、省网完成学籍注册，学籍号已告知家长。")
    db.session.commit()
    return order


@pytest.fixture(autouse=True)
def _staff_home(app):
    """Log-in redirects to ``staff.home``; until the staff blueprint is merged, a stand-in."""
    if "staff.home" not in app.view_functions:
        app.add_url_rule("/staff", endpoint="staff.home", view_func=lambda: "staff home")
