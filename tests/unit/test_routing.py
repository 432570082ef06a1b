"""Who is responsible for a complaint (DOMAIN §3), on unit paths only."""
from dataclasses import dataclass

import pytest

from caseflow.cases.routing import responsible_code


@dataclass
class U:
    code: str
    path: str
    kind: str = "school"


ROOT = "000000/410000/"
jinshui_a = U("4141000001", ROOT + "410100/410105/4141000001/")
jinshui_b = U("4141000002", ROOT + "410100/410105/4141000002/")
erqi = U("4141000003", ROOT + "410100/410103/4141000003/")
xigong = U("4141000004", ROOT + "410300/410303/4141000004/")
gongyi = U("4141000005", ROOT + "410181/4141000005/")  # directly administered county
city_school = U("4141000006", ROOT + "410100/4141000006/")  # reports directly to the city
hebei = U("1341000001", "000000/130000/130100/130102/1341000001/")


@pytest.mark.parametrize(
    ("schools", "expected"),
    [
        ([jinshui_a], "410105"),  # one school: its parent bureau
        ([city_school], "410100"),
        ([gongyi], "410181"),
        ([jinshui_a, jinshui_b], "410105"),  # same county
        ([jinshui_a, erqi], "410100"),  # two counties of one city
        ([jinshui_a, xigong], "410000"),  # two cities of one province
        ([gongyi, xigong], "410000"),
        ([city_school, jinshui_a], "410100"),
        ([jinshui_a, jinshui_a], "410105"),
    ],
)
def test_lowest_common_competent_department(schools, expected):
    routing = responsible_code(schools, "410000")
    assert routing.unit_code == expected
    assert routing.referred is False
    assert routing.reason


def test_two_provinces_go_to_the_ministry_and_are_referred():
    routing = responsible_code([jinshui_a, hebei], "410000")
    assert routing.unit_code == "000000"
    assert routing.referred is True
    assert "教育部" in routing.reason


def test_without_a_deployment_root_the_ministry_is_responsible():
    routing = responsible_code([jinshui_a, hebei])
    assert (routing.unit_code, routing.referred) == ("000000", False)


def test_needs_a_school():
    with pytest.raises(ValueError):
        responsible_code([], "410000")


def test_one_school_in_another_province_is_referred_to_the_ministry():
    for schools in ([hebei], [hebei, jinshui_a]):
        routing = responsible_code(schools, "410000")
        assert routing.referred is True and "教育部" in routing.reason
    assert "不在本省" in responsible_code([hebei], "410000").reason
