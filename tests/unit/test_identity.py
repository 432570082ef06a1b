"""ID numbers, registry numbers, phones and masks."""
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseflow.identity import (
    InvalidNumber,
    check_char,
    mask_id_number,
    mask_phone,
    mask_registry_number,
    normalise,
    parse_id_number,
    parse_phone,
    parse_registry_number,
)
from tests.factories import make_id_number

VALID = make_id_number("410102", date(2015, 3, 8), 123)  # odd sequence: male


def test_check_character_of_the_standard_example():
    assert check_char("11010519491231002") == "X"


@pytest.mark.parametrize(
    "typed",
    [VALID, f" {VALID[:6]} {VALID[6:14]} {VALID[14:]} ", VALID.lower(),
     "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in VALID)],
)
def test_normalised_forms_are_accepted(typed):
    parsed = parse_id_number(typed)
    assert parsed.number == VALID
    assert parsed.birth_date == date(2015, 3, 8)
    assert parsed.sex == "male"


def test_lower_case_and_full_width_x():
    number = "11010519491231002X"
    assert parse_id_number("11010519491231002x").number == number
    assert parse_id_number("11010519491231002Ｘ").number == number
    assert parse_id_number(number).sex == "female"


def test_wrong_check_digit_refused_with_chinese_message():
    wrong = VALID[:17] + ("0" if VALID[17] != "0" else "1")
    with pytest.raises(InvalidNumber, match="校验位"):
        parse_id_number(wrong)


@pytest.mark.parametrize("bad", ["", "123", "41010220151308123X", "4101022015030812", "41010220990101123X"])
def test_malformed_refused(bad):
    with pytest.raises(InvalidNumber):
        parse_id_number(bad, today=date(2026, 11, 23))


def test_fifteen_digit_numbers_are_upgraded():
    parsed = parse_id_number("410102850308123")
    assert parsed.number.startswith("41010219850308123")
    assert len(parsed.number) == 18
    assert parsed.number[17] == check_char(parsed.number[:17])


def test_registry_numbers_of_the_three_kinds():
    assert parse_registry_number("G" + VALID).kind == "G"
    assert parse_registry_number("J" + VALID).kind == "J"
    temp = parse_registry_number("L41010220150308" + "4821")
    assert temp.kind == "L" and temp.birth_date == date(2015, 3, 8)
    for bad in ("G" + VALID[:-1] + "0", "X" + VALID, "L4101022015030848", "L410102201513084821"):
        with pytest.raises(InvalidNumber):
            parse_registry_number(bad)


def test_phones():
    assert parse_phone("138 1234 5678") == "13812345678"
    assert parse_phone("+8613812345678") == "13812345678"
    assert parse_phone("0371-65902000") == "0371-65902000"
    for bad in ("12345", "23812345678", "1381234567a"):
        with pytest.raises(InvalidNumber):
            parse_phone(bad)


def test_masks_match_domain_examples():
    assert mask_id_number("41010219850308123X") == "410102********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_registry_number("G41010219850308123X") == "G410102********123X"
    assert mask_id_number(None) == ""


@given(st.text(max_size=40))
def test_parser_never_crashes_and_never_accepts_an_invalid_number(raw):
    try:
        parsed = parse_id_number(raw)
    except InvalidNumber:
        return
    assert len(parsed.number) == 18
    assert check_char(parsed.number[:17]) == parsed.number[17]
    assert parsed.number == normalise(raw) or len(normalise(raw)) == 15


@given(st.text(max_size=30))
def test_registry_parser_never_crashes(raw):
    try:
        parsed = parse_registry_number(raw)
    except InvalidNumber:
        return
    assert len(parsed.number) == 19 and parsed.kind in "GJL"


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2025, 12, 31)), st.integers(0, 999))
def test_every_generated_number_round_trips(born, seq):
    number = make_id_number("410105", born, seq)
    parsed = parse_id_number(number)
    assert parsed.birth_date == born
    assert parsed.sex == ("male" if seq % 2 else "female")
