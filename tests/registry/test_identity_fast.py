"""The bulk-import fast paths added to caseflow.identity behave like the slow ones."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseflow.identity import check_char, normalise, normalise_phone


@given(st.text(alphabet="0123456789Xx", min_size=1, max_size=20))
def test_ascii_fast_path_equals_nfkc_path(raw):
    import re
    import unicodedata

    assert normalise(raw) == re.sub(r"[\s\-_]", "", unicodedata.normalize("NFKC", raw)).upper()


def test_slow_path_still_handles_full_width_and_spaces():
    assert normalise("４１０１０５ 2015-0308 123x") == "410105201503081" + "23X"
    assert normalise(None) == ""
    assert normalise_phone("138 1234 5678") == "13812345678" and normalise_phone("13812345678") == "13812345678"


def test_check_char_known_value_and_length_guard():
    assert check_char("11010519491231002") == "X"
    with pytest.raises(ValueError):
        check_char("1234")
