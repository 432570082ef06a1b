"""Officials' passwords: the one policy every path asks, and hashing with argon2id.

The administrator's pages and CLI (create, reset), the user's own change and
the demo loader all make a hash for a new password through
``hash_new_password``, so none of them can store a password the policy refuses.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from caseflow.errors import InvalidInput

PASSWORD_MIN, PASSWORD_MAX = 12, 128
# Fewer different characters than this is "all of one kind" (aaaaaaaaaaaa, abababababab).
DISTINCT_MIN = 4
# zxcvbn's score (0-4, from its estimate of the guesses needed; its lists hold the most common passwords,
# words and names): 3 is "safely unguessable" (about 10^8 guesses and more).
SCORE_MIN = 3
# The rule in words, for the hint under every new-password field.
POLICY_HINT = (f"{PASSWORD_MIN}到{PASSWORD_MAX}个字符，不能是常见密码，不能包含用户名或姓名；"
               "建议用几个不相关的词加数字和符号")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class WeakPassword(InvalidInput):
    """A new password the policy refuses; ``field`` names the form field it came from."""


def _personal_words(personal: Iterable[str | None]) -> list[str]:
    """The user's own words a password may not contain: the user name, its parts, the name."""
    words: list[str] = []
    for value in personal:
        value = (value or "").strip().casefold()
        if not value:
            continue
        words.append(value)
        words.extend(part for part in re.split(r"[._\-@\s]+", value) if part != value)
    # A Chinese name of two characters is personal; a Latin fragment shorter than four letters is not.
    return [w for w in dict.fromkeys(words) if len(w) >= (2 if not w.isascii() else 4)]


def password_problem(password: str | None, personal: Iterable[str | None] = ()) -> str | None:
    """Why ``password`` may not be used (Chinese), or None when it may.

    ``personal`` is the account's user name and name: a password containing them is refused, and
    zxcvbn counts them as known words when it scores the password.
    """
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return f"密码至少{PASSWORD_MIN}个字符"
    if len(password) > PASSWORD_MAX:
        return f"密码不能超过{PASSWORD_MAX}个字符"
    if len(set(password)) < DISTINCT_MIN:
        return "密码过于简单，请混合使用字母、数字和符号"
    words = _personal_words(personal)
    if any(word in password.casefold() for word in words):
        return "密码不能包含用户名或姓名"
    if zxcvbn(password, user_inputs=words, max_length=PASSWORD_MAX)["score"] < SCORE_MIN:
        return "密码过于常见或容易猜到，请换一个更长、更不规则的密码（如几个不相关的词加数字和符号）"
    return None


def check_password_policy(password: str | None, field: str = "password",
                          personal: Iterable[str | None] = ()) -> str:
    """``password`` unchanged if the policy allows it; otherwise ``WeakPassword`` for ``field``."""
    problem = password_problem(password, personal)
    if problem:
        raise WeakPassword(problem, field=field)
    return password or ""


def hash_new_password(password: str | None, field: str = "password", personal: Iterable[str | None] = ()) -> str:
    """The argon2id hash of a new password for the account named by ``personal``, after the policy allowed it."""
    return hash_password(check_password_policy(password, field, personal))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (no policy: for fixtures and timing equalisers)."""
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
