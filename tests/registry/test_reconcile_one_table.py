"""Issue 20 item 15: `registry reconcile --level city` and the province's web table are one table."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.registry.helpers import do_import, login_as, student, write_csv


@pytest.fixture
def with_hebei(db, world, tmp_path):
    """Henan pupils in 郑州 and 洛阳, and two whose registries sit at a 石家庄 (Hebei) school."""
    hebei = {"division": "130102", "school": "1341000001"}
    national = [student("甲", seq=101), student("乙", seq=103, school="4141000004"),
                student("冀一", seq=117, born=date(2014, 5, 6), **hebei),
                student("冀二", seq=119, born=date(2014, 5, 6), **hebei)]
    provincial = [student("甲", seq=101), student("冀一", seq=117, born=date(2014, 5, 6), **hebei)]
    do_import(write_csv(tmp_path / "n.csv", national), "national")
    do_import(write_csv(tmp_path / "p.csv", provincial), "provincial")
    return world


def _table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_cli_city_table_is_the_province_pages_table(with_hebei, app, client):
    result = app.test_cli_runner().invoke(args=["registry", "reconcile", "--level", "city"])
    assert result.exit_code == 0, result.output
    cli = _table(result.output)
    login_as(client, with_hebei.user("supervisor", "410000"))
    web = _table(client.get("/registry/reports?level=city&format=csv").get_data(as_text=True))
    assert cli == web
    assert [row[0] for row in cli[1:]] == ["郑州市教育局", "洛阳市教育局", "合计"]
    assert cli[-1] == ["合计", "1", "2", "1", "0", "0", "0"]
    assert "石家庄市教育局" not in result.output


def test_another_province_only_when_asked_for(with_hebei, app):
    result = app.test_cli_runner().invoke(args=["registry", "reconcile", "--level", "city", "--unit", "130000"])
    assert result.exit_code == 0, result.output
    assert _table(result.output)[1] == ["石家庄市教育局", "1", "2", "1", "0", "0", "0"]
