"""The optional TOTP second factor: enrolment, the log-in's second step, replay, throttling, reset, audit.

Codes come from pyotp with the secret the page shows, as an authenticator app would compute them.
"""
from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from caseflow.models import AuditEntry, User
from tests.conftest import TEST_PASSWORD


def _secret(page: str) -> str:
    match = re.search(r'<code class="secret"[^>]*>([A-Z2-7 ]+)</code>', page)
    assert match, page[:2000]
    return match.group(1).replace(" ", "")


def _enrol(client, db, user) -> str:
    page = client.get("/account/totp").get_data(as_text=True)
    assert "<svg" in page and "两步验证二维码" in page  # the QR code, inline
    secret = _secret(page)
    # A reload shows the same secret: what was scanned stays valid until it is confirmed.
    assert _secret(client.get("/account/totp").get_data(as_text=True)) == secret
    resp = client.post("/account/totp", data={"password": TEST_PASSWORD, "code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == secret
    return secret


def _enrolled_and_out(client, db, login, user) -> str:
    """Log in, turn the second factor on, log out: the secret."""
    login(user, client)
    secret = _enrol(client, db, user)
    client.post("/logout")
    return secret


def _wrong_code(secret: str) -> str:
    """A code valid in none of the steps before, at or after now."""
    valid = {_codes_at(secret, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def _password_step(client, user, next_url=None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"username": user.username, "password": TEST_PASSWORD})


def _codes_at(secret: str, offset_steps: int) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def test_enrolment_then_the_login_asks_for_the_code(client, db, world, login):
    user = world.user("supervisor", "410105")
    login(user)
    secret = _enrol(client, db, user)
    assert "已启用" in client.get("/account/totp").get_data(as_text=True)
    # Enabling ended the other sessions but kept this one.
    assert client.get("/inbox").status_code == 200
    client.post("/logout")

    # Half a minute later (the enrolment's code is spent: a code works once).
    with time_machine.travel(time.time() + 30):
        resp = _password_step(client, user, "/cases")
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/totp")
        assert client.get("/inbox").status_code == 302  # not logged in yet
        page = client.get("/login/totp").get_data(as_text=True)
        assert "两步验证" in page and 'autocomplete="one-time-code"' in page
        now = pyotp.TOTP(secret).now()
        wrong = client.post("/login/totp", data={"code": "000000" if now != "000000" else "111111"})
        assert wrong.status_code == 400 and "验证码不正确" in wrong.get_data(as_text=True)
        ok = client.post("/login/totp", data={"code": now[:3] + " " + now[3:]})
        assert ok.status_code == 302 and ok.headers["Location"].endswith("/cases")
        assert client.get("/inbox").status_code == 200


def test_a_code_works_once_and_only_near_now(client, db, world, login):
    user = world.user("admin", "410000")
    secret = _enrolled_and_out(client, db, login, user)
    # The enrolment's own code cannot log in again (same step).
    _password_step(client, user)
    assert client.post("/login/totp", data={"code": pyotp.TOTP(secret).now()}).status_code == 400
    # Two steps away is too far; the next step (a fast phone clock) is fine, once.
    assert client.post("/login/totp", data={"code": _codes_at(secret, 2)}).status_code == 400
    nxt = _codes_at(secret, 1)
    assert client.post("/login/totp", data={"code": nxt}).status_code == 302
    client.post("/logout")
    _password_step(client, user)
    assert client.post("/login/totp", data={"code": nxt}).status_code == 400


def test_bad_input_keeps_the_setup_and_says_which_field(client, db, world, login):
    user = world.user("supervisor", "410105")
    login(user)
    secret = _secret(client.get("/account/totp").get_data(as_text=True))
    resp = client.post("/account/totp", data={"password": "wrong-password!", "code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 400 and "密码不正确" in resp.get_data(as_text=True)
    resp = client.post("/account/totp", data={"password": TEST_PASSWORD, "code": "12ab"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "6位数字" in page and _secret(page) == secret
    resp = client.post("/account/totp", data={"password": TEST_PASSWORD, "code": ""})
    assert resp.status_code == 400 and "请输入验证器应用显示的6位数字" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    # Full-width digits, as a Chinese input method types them, are accepted.
    code = pyotp.TOTP(secret).now().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert client.post("/account/totp", data={"password": TEST_PASSWORD, "code": code}).status_code == 302


def test_officers_cannot_enrol(client, world, login):
    login(world.user("officer", "410105"))
    assert client.get("/account/totp").status_code == 403


def test_the_sixth_wrong_code_within_a_minute_waits(client, db, world, login):
    user = world.user("supervisor", "410105")
    secret = _enrolled_and_out(client, db, login, user)
    _password_step(client, user)
    wrong = _wrong_code(secret)
    for _ in range(5):
        assert client.post("/login/totp", data={"code": wrong}).status_code == 400
    resp = client.post("/login/totp", data={"code": _codes_at(secret, 1)})
    assert resp.status_code == 429 and "验证码错误次数过多" in resp.get_data(as_text=True)


def test_the_code_page_expires(client, db, world, login):
    user = world.user("supervisor", "410105")
    secret = _enrolled_and_out(client, db, login, user)
    _password_step(client, user)
    with time_machine.travel(time.time() + 301):
        resp = client.post("/login/totp", data={"code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert client.get("/inbox").status_code == 302
    # Without the password step there is no code page at all.
    assert client.get("/login/totp").status_code == 302


def test_disable_needs_password_and_code(client, db, world, login):
    user = world.user("supervisor", "410105")
    login(user)
    secret = _enrol(client, db, user)
    resp = client.post("/account/totp", data={"password": TEST_PASSWORD, "code": "12345"})
    assert resp.status_code == 400
    with time_machine.travel(time.time() + 30):
        resp = client.post("/account/totp", data={"password": TEST_PASSWORD, "code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    client.post("/logout")
    assert _password_step(client, user).headers["Location"].endswith("/dashboard")


def test_an_administrator_turns_it_off_for_a_lost_phone(app, client, db, world, login):
    user = world.user("supervisor", "410105")
    login(user)
    _enrol(client, db, user)
    admin_client = app.test_client()
    login(world.user("admin", "410000"), admin_client)
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "两步验证" in page and "已启用" in page
    assert admin_client.post(f"/admin/users/{user.id}/totp").status_code == 302
    assert client.get("/inbox").status_code == 302  # the user's session ended
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    assert _password_step(client, user).headers["Location"].endswith("/dashboard")
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_ref == user.username)).all()
    assert "totp_enable" in actions and "user_reset_totp" in actions


def test_the_cli_turns_it_off(app, client, db, world, login):
    user = world.user("supervisor", "410105")
    login(user)
    _enrol(client, db, user)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "reset-totp", user.username])
    assert result.exit_code == 0, result.output
    assert "turned off" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    assert runner.invoke(args=["users", "reset-totp", "nobody"]).exit_code != 0


def test_wrong_passwords_on_the_settings_page_are_limited(client, db, world, login):
    user = world.user("supervisor", "410105")
    login(user)
    for _ in range(5):
        resp = client.post("/account/totp", data={"password": "wrong-password!", "code": "123456"})
        assert resp.status_code == 400 and "当前密码不正确" in resp.get_data(as_text=True)
    resp = client.post("/account/totp", data={"password": TEST_PASSWORD, "code": "123456"})
    assert resp.status_code == 429 and "密码错误次数过多" in resp.get_data(as_text=True)
    # The password change page shares the limit: it is the same password.
    assert client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": "x" * 12,
                                                  "confirm": "x" * 12}).status_code == 429


def test_twenty_wrong_codes_in_a_day_lock_the_second_factor(client, db, world, login):
    user = world.user("supervisor", "410105")
    secret = _enrolled_and_out(client, db, login, user)
    start = time.time()
    for minute in range(4):
        with time_machine.travel(start + 61 * minute + 30):
            wrong = _wrong_code(secret)
            _password_step(client, user)
            for _ in range(5):
                assert client.post("/login/totp", data={"code": wrong}).status_code == 400
    with time_machine.travel(start + 61 * 5 + 30):
        _password_step(client, user)
        resp = client.post("/login/totp", data={"code": pyotp.TOTP(secret).now()})
        assert resp.status_code == 429 and "两步验证已暂停" in resp.get_data(as_text=True)
    failures = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "totp_failure", AuditEntry.user_id == user.id))
    assert failures == 20


def test_a_pending_login_cannot_be_replayed_after_it_succeeded(app, client, db, world, login):
    user = world.user("supervisor", "410105")
    secret = _enrolled_and_out(client, db, login, user)
    db.session.expire_all()
    before = db.session.get(User, user.id).last_login_at
    with time_machine.travel(time.time() + 30):
        _password_step(client, user)
        pending = client.get_cookie("session").value
        db.session.expire_all()
        assert db.session.get(User, user.id).last_login_at == before  # not logged in yet: not a log-in
        assert client.post("/login/totp", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
        db.session.expire_all()
        assert db.session.get(User, user.id).last_login_at != before
        thief = app.test_client()
        thief.set_cookie("session", pending)
        resp = thief.post("/login/totp", data={"code": pyotp.TOTP(secret).at(time.time() + 30)})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")


def test_administrators_do_not_reset_their_own_second_factor_from_the_user_page(client, db, world, login):
    admin = world.user("admin", "410000")
    login(admin)
    _enrol(client, db, admin)
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "/account/totp" in page and f"/admin/users/{admin.id}/totp" not in page
    resp = client.post(f"/admin/users/{admin.id}/totp", follow_redirects=True)
    assert "不能在此关闭自己的两步验证" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).totp_secret is not None


@pytest.mark.postgres  # row locks; SQLite would serialise the two requests at the file
def test_the_same_code_sent_twice_at_once_logs_in_once(app, db, world, login):
    """Two requests with one code at the same moment (a relayed phishing code): one wins (a conditional
    UPDATE claims the step)."""
    import threading

    user = world.user("supervisor", "410105")
    first = app.test_client()
    login(user, first)
    secret = _enrol(first, db, user)
    first.post("/logout")
    clients = [app.test_client(), app.test_client()]
    with time_machine.travel(time.time() + 30, tick=True):
        for c in clients:
            assert _password_step(c, user).status_code == 302
        code = pyotp.TOTP(secret).now()
        barrier, results = threading.Barrier(2), []

        def send(c):
            barrier.wait()
            resp = c.post("/login/totp", data={"code": code})
            # The loser is refused (400), or, when it reads the user after the winner committed, finds its
            # pending log-in void (back to /login): either way not logged in.
            results.append("in" if resp.status_code == 302 and not resp.headers["Location"].endswith("/login")
                           else "out")

        threads = [threading.Thread(target=send, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == ["in", "out"]
