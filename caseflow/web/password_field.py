"""The new-password field of every form that sets one.

It states the rule (from ``caseflow.security.passwords``) but does not check it: the
domain operation does, and its refusal is shown by this field.  So the user's own
change still asks for the current password (and counts a wrong one) first.
"""
from __future__ import annotations

from wtforms import PasswordField
from wtforms.validators import DataRequired

from caseflow.security.passwords import POLICY_HINT


def new_password_field(label: str, required: str = "请填写密码") -> PasswordField:
    """A required password field whose description is the policy in words (shown as the hint)."""
    return PasswordField(label, validators=[DataRequired(required)], description=POLICY_HINT,
                         render_kw={"autocomplete": "new-password"})
