"""The bulk-import fast paths added to caseflow.identity and caseflow.security.crypto behave like the slow ones."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
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


def test_seal_round_trip_and_registry_keys(app):
    from caseflow.security import crypto

    token = crypto.seal("410105201503081234|G410105201503081234|13812345678")
    assert crypto.seal("x") != crypto.seal("x")  # random nonce
    assert crypto.unseal(token).endswith("|13812345678")
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    def reference(text: str) -> int:  # cryptography's own AES-CMAC (RFC 4493), first 8 bytes
        mac = CMAC(algorithms.AES(crypto._registry_key))
        mac.update(text.encode())
        return int.from_bytes(mac.finalize()[:8], "big", signed=True)

    value = "410105201503081234"
    key = crypto.registry_key(value)
    assert key == reference(value)
    # Every block shape in one batch: empty, short, exactly one and two blocks, around them, multi-byte.
    values = ["", "a", "E1234567", "x" * 15, "y" * 16, "z" * 17, "G" + value, "学" * 10, "w" * 32, "v" * 33,
              "籍" * 30, value]
    data = [v.encode() for v in values]
    keys = crypto.registry_keys(b"".join(data), [len(d) for d in data])
    assert list(keys) == [reference(v) for v in values]
    assert crypto.registry_key("G" + value) != key and crypto.registry_key("") is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(max_size=60), max_size=30))
def test_registry_keys_of_a_column_equal_cmac_of_each_value(app, values):
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    from caseflow.security import crypto

    expected = []
    for value in values:
        mac = CMAC(algorithms.AES(crypto._registry_key))
        mac.update(value.encode())
        expected.append(int.from_bytes(mac.finalize()[:8], "big", signed=True))
    data = [v.encode() for v in values]
    assert list(crypto.registry_keys(b"".join(data), [len(d) for d in data])) == expected
