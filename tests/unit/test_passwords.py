"""The password policy itself: pure, no database."""
import pytest

from caseflow.errors import InvalidInput
from caseflow.security.passwords import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    POLICY_HINT,
    WeakPassword,
    check_password_policy,
    hash_new_password,
    password_problem,
    verify_password,
)

# Each weak case the policy refuses, and the word its message carries.
WEAK = [
    ("", "至少12个字符"),
    (None, "至少12个字符"),
    ("short-pw", "至少12个字符"),
    ("a" * (PASSWORD_MIN - 1) + "1", None),  # 12 characters but two kinds: too simple
    ("aaaaaaaaaaaa", "过于简单"),
    ("aaaaaaaaaaaaaaa", "过于简单"),
    ("abababababab", "过于简单"),
    ("abcabcabcabc", "过于简单"),
    ("a" * (PASSWORD_MAX + 1), "不能超过128个字符"),
]


@pytest.mark.parametrize(("password", "word"), WEAK)
def test_weak_passwords_are_refused_with_a_chinese_reason(password, word):
    problem = password_problem(password)
    assert problem is not None and (word is None or word in problem)
    with pytest.raises(WeakPassword) as refused:
        check_password_policy(password, field="new_password")
    assert refused.value.field == "new_password" and refused.value.message == problem
    assert isinstance(refused.value, InvalidInput)  # the web and CLI edges already show these


@pytest.mark.parametrize("password", ["a-long-password-1", "river7-lantern-quiet", "x" * 100 + "Qm7#river-lantern",
                                      "密码足够长而且不简单的一句话"])
def test_acceptable_passwords_pass_unchanged(password):
    assert password_problem(password) is None
    assert check_password_policy(password) == password


def test_a_new_hash_is_only_made_for_an_acceptable_password():
    with pytest.raises(WeakPassword):
        hash_new_password("aaaaaaaaaaaa")
    assert verify_password(hash_new_password("a-long-password-1"), "a-long-password-1")


def test_the_hint_states_the_limits():
    assert f"{PASSWORD_MIN}到{PASSWORD_MAX}个字符" in POLICY_HINT


@pytest.mark.parametrize("password", ["123456789012", "password1234", "qwertyuiop123",
                                      "abcdabcdabcd", "iloveyou2026", "zhengzhou1234"])
def test_common_and_guessable_passwords_are_refused(password):
    """Long enough, but on the common-password lists or a keyboard walk: zxcvbn scores them below 3."""
    assert "常见或容易猜到" in (password_problem(password) or "")


@pytest.mark.parametrize(("password", "personal"), [
    ("li.ming-river-2026!", ("li.ming", "李明")),       # the user name itself
    ("Xq7#river-ming", ("li.ming", "李明")),            # a part of it (four letters or more)
    ("我是李明river7-lantern", ("li.ming", "李明")),    # the name
    ("officer-410105-Qm7#", ("officer-410105", "金水区承办人")),
    ("eq-officer12", ("eq-officer", "张三")),
])
def test_passwords_with_the_users_own_name_are_refused(password, personal):
    problem = password_problem(password, personal)
    assert problem is not None
    assert password_problem("river7-lantern-quiet", personal) is None
