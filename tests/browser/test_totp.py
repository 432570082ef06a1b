"""Journey: a supervisor turns on two-step verification, then logs in with a code from the app."""
from __future__ import annotations

import time

import pyotp
import pytest

from caseflow.models import User
from tests.browser.conftest import PHONE
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


def test_supervisor_enrols_and_logs_in_with_a_code(journey, db, world):
    user = world.user("supervisor", "410105")
    j = journey("totp")
    page = j.page(PHONE)
    j.login(page, user)
    page.click("a[href='/account/totp']")
    page.wait_for_url("**/account/totp")
    assert page.locator(".qr svg").is_visible()
    secret = page.inner_text(".qr .secret").replace(" ", "")
    j.assert_fits(page)
    j.shot(page, "enrol")
    j.axe(page, "two-step enrolment")

    # A wrong code: the message is by the field, the code stays, the same secret is shown (the password is
    # typed again: password fields are never sent back).
    page.fill("#password", TEST_PASSWORD)
    page.fill("#code", "12345")
    page.click("main button[type=submit]")
    page.wait_for_selector("#code-err")
    assert "6位数字" in page.inner_text("#code-err") and page.input_value("#code") == "12345"
    assert page.inner_text(".qr .secret").replace(" ", "") == secret
    j.shot(page, "wrong-code")

    page.fill("#password", TEST_PASSWORD)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "已启用两步验证" in page.inner_text(".flash-success")
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == secret

    page.click("header button[type=submit]")  # 退出
    page.wait_for_url("**/login")
    page.fill("#username", user.username)
    page.fill("#password", TEST_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/totp")
    assert page.get_attribute("#code", "autocomplete") == "one-time-code"
    j.shot(page, "code-step")
    j.axe(page, "log-in code step")
    # The enrolment spent this half-minute's code; the phone's next one is accepted (a clock a little ahead).
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("main button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "/login" not in page.url
    j.shot(page, "logged-in")
