"""Every path that sets a password asks the one policy: admin pages, admin operations, CLI, own change, demo."""
import pytest
import sqlalchemy as sa

from caseflow.cases import staff as staff_admin
from caseflow.demo import ACCOUNTS, demo_password
from caseflow.errors import InvalidInput
from caseflow.models import Role, User
from caseflow.security.passwords import password_problem, verify_password
from tests.conftest import TEST_PASSWORD

# The weak cases the user's own change has always refused, and what the refusal says.
WEAK = [("aaaaaaaaaaaa", "过于简单"), ("abababababab", "过于简单"), ("short-pw", "至少12个字符"),
        ("a1" * 65, "不能超过128个字符"), ("123456789012", "常见或容易猜到"), ("password1234", "常见或容易猜到")]


def _new_user_form(password: str) -> dict:
    return {"username": "li.ming", "name": "李明", "role": "officer", "unit": "410105",
            "password": password, "password2": password}


def _count(db, username: str) -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id)).where(User.username == username))


@pytest.mark.parametrize(("weak", "message"), WEAK)
def test_admin_page_refuses_a_weak_initial_password(world, login, client, db, weak, message):
    login(world.user("admin", "410000"))
    resp = client.post("/admin/users", data=_new_user_form(weak))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and message in page
    assert 'id="password-err"' in page and 'value="li.ming"' in page  # by the field; the rest kept
    assert _count(db, "li.ming") == 0


@pytest.mark.parametrize(("weak", "message"), WEAK)
def test_admin_page_refuses_a_weak_reset(world, login, client, db, weak, message):
    login(world.user("admin", "410000"))
    user = world.user("officer", "410105")
    before = user.password_hash
    resp = client.post(f"/admin/users/{user.id}/password", data={"password": weak, "password2": weak})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and message in page and 'id="password-err"' in page
    db.session.refresh(user)
    assert user.password_hash == before


@pytest.mark.parametrize(("weak", "message"), WEAK)
def test_admin_operations_refuse_without_any_form(world, db, weak, message):
    admin, user = world.user("admin", "410000"), world.user("officer", "410105")
    data = staff_admin.UserData(username="li.ming", name="李明", role=Role.OFFICER, unit="410105", password=weak)
    with pytest.raises(InvalidInput, match=message) as refused:
        staff_admin.create_user(admin, data)
    assert refused.value.field == "password"
    db.session.rollback()
    with pytest.raises(InvalidInput, match=message):
        staff_admin.reset_password(admin, user, weak)
    db.session.rollback()
    assert verify_password(db.session.get(User, user.id).password_hash, TEST_PASSWORD)


@pytest.mark.parametrize(("weak", "message"), WEAK)
def test_own_change_refuses(world, login, client, db, weak, message):
    user = world.user("officer", "410105")
    login(user)
    resp = client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": weak,
                                                  "confirm": weak})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in page and 'id="new_password-err"' in page
    db.session.refresh(user)
    assert verify_password(user.password_hash, TEST_PASSWORD)


@pytest.mark.parametrize(("weak", "message"), WEAK)
def test_cli_create_and_reset_print_the_reason_and_exit_non_zero(app, world, db, weak, message):
    runner = app.test_cli_runner()
    create = ["users", "create", "--username", "cli.officer", "--role", "officer", "--unit", "410105",
              "--name", "命令行", "--password", weak]
    result = runner.invoke(args=create)
    assert result.exit_code == 1 and message in result.output
    assert _count(db, "cli.officer") == 0

    user = world.user("officer", "410105")
    result = runner.invoke(args=["users", "reset-password", user.username, "--password", weak])
    assert result.exit_code == 1 and message in result.output
    db.session.refresh(user)
    assert verify_password(user.password_hash, TEST_PASSWORD)


def test_cli_reset_sets_a_good_password_and_ends_sessions(app, world, db):
    user = world.user("officer", "410105")
    version = user.session_version
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "reset-password", user.username], input="a-long-password-1\n" * 2)
    assert result.exit_code == 0 and "password reset" in result.output
    db.session.refresh(user)
    assert verify_password(user.password_hash, "a-long-password-1") and user.session_version > version
    assert runner.invoke(args=["users", "reset-password", "nobody", "--password", "x"]).exit_code != 0


def test_every_demo_password_meets_the_policy():
    assert all(password_problem(demo_password(username)) is None for username, *_ in ACCOUNTS)


def test_a_password_with_the_users_own_name_is_refused_on_every_path(world, db):
    admin, user = world.user("admin", "410000"), world.user("officer", "410105")
    data = staff_admin.UserData(username="li.ming", name="李明", role=Role.OFFICER, unit="410105",
                                password="li.ming-Qm7#lantern")
    with pytest.raises(InvalidInput, match="用户名或姓名"):
        staff_admin.create_user(admin, data)
    db.session.rollback()
    with pytest.raises(InvalidInput, match="用户名或姓名"):
        staff_admin.reset_password(admin, user, f"{user.username}-Qm7#lantern")
    db.session.rollback()
    staff_admin.reset_password(admin, user, "river7-lantern-quiet")  # the same shape without the name
    db.session.rollback()
