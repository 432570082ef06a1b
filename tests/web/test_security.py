"""Headers, log-in throttling, sessions that end when they should, size limits, CSRF."""
import pytest
import time_machine

from tests.conftest import TEST_PASSWORD


def test_security_headers_on_public_and_staff_pages(client, world, login):
    for path in ("/", "/login"):
        h = client.get(path).headers
        assert "script-src 'self'" in h["Content-Security-Policy"]
        assert "'unsafe-inline'" not in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in h
    assert "Strict-Transport-Security" in client.get("/", base_url="https://localhost").headers
    login(world.user("officer", "410105"))
    assert client.get("/account/password").headers["Cache-Control"] == "no-store"


def _try(client, username, password, addr="10.0.0.1", **headers):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr}, headers=headers)


def test_sixth_failure_within_a_minute_waits_even_with_the_right_password(client, world):
    user = world.user("officer", "410105")
    for _ in range(5):
        assert "用户名或密码不正确" in _try(client, user.username, "wrong-password!").get_data(as_text=True)
    resp = _try(client, user.username, TEST_PASSWORD)
    assert resp.status_code == 429
    assert "登录失败次数过多" in resp.get_data(as_text=True)
    # A forged X-Forwarded-For does not make it a new address.
    assert _try(client, user.username, TEST_PASSWORD, **{"X-Forwarded-For": "1.2.3.4"}).status_code == 429
    with time_machine.travel(__import__("datetime").datetime.now().astimezone()
                             + __import__("datetime").timedelta(seconds=70)):
        assert _try(client, user.username, TEST_PASSWORD).status_code == 302


def test_failures_from_one_address_across_accounts_are_limited(client, world):
    names = [world.user("officer", c).username for c in ("410105", "410103", "410100", "410300", "410303")]
    for name in names:
        _try(client, name, "wrong-password!", addr="10.9.9.9")
    assert _try(client, world.user("supervisor", "410105").username, TEST_PASSWORD, addr="10.9.9.9").status_code == 429
    assert _try(client, world.user("supervisor", "410105").username, TEST_PASSWORD, addr="10.9.9.8").status_code == 302


def test_logout_ends_the_session_server_side(app, world, login):
    client = app.test_client()
    login(world.user("officer", "410105"), client)
    stolen = client.get_cookie("session").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/account/password").status_code == 302  # back to the log-in page


def test_password_change_ends_other_sessions(app, world, login):
    user = world.user("officer", "410105")
    laptop, phone = app.test_client(), app.test_client()
    login(user, laptop)
    login(user, phone)
    resp = laptop.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                  "new_password": "a-much-longer-secret-42",
                                                  "confirm": "a-much-longer-secret-42"})
    assert resp.status_code == 302
    assert laptop.get("/account/password").status_code == 200  # this session continues
    assert phone.get("/account/password").status_code == 302  # the other one ended


@pytest.mark.parametrize(("new", "message"), [("short-pw", "至少12个字符"), ("a" * 129, "不能超过128个字符"),
                                              ("aaaaaaaaaaaaaaa", "过于简单")])
def test_password_policy(client, world, login, new, message):
    login(world.user("officer", "410105"))
    resp = client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": new,
                                                  "confirm": new})
    assert resp.status_code == 200 and message in resp.get_data(as_text=True)


def test_idle_officials_are_logged_out(client, world, login):
    import datetime as dt

    login(world.user("officer", "410105"))
    assert client.get("/account/password").status_code == 200
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)):
        resp = client.get("/account/password")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_request_one_byte_over_the_limit_is_413(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b"x" * (limit + 1)
    resp = client.post("/login", data=body, content_type="application/octet-stream")
    assert resp.status_code == 413
    assert "超过了大小限制" in resp.get_data(as_text=True)


def test_csrf_is_enforced(database_url, world):
    from caseflow import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        client = app.test_client()
        resp = client.post("/login", data={"username": "x", "password": "y"})
        assert resp.status_code == 400
        resp = client.post("/complaints/new", data={"description": "x"})
        assert resp.status_code == 400


def test_wrong_passwords_from_elsewhere_never_lock_the_account(client, world):
    """Five (or ten) wrong passwords for an account from one address: the owner elsewhere still logs in."""
    user = world.user("officer", "410105")
    for _ in range(10):
        _try(client, user.username, "wrong-password!", addr="10.6.6.6")
    assert _try(client, user.username, "wrong-password!", addr="10.6.6.6").status_code == 429
    assert _try(client, user.username, TEST_PASSWORD, addr="10.1.1.1").status_code == 302
