"""Log-in for officials, and the deny-by-default rule for staff pages."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from caseflow import jobs
from caseflow.extensions import db, login_manager
from caseflow.models import Role, User
from caseflow.security.passwords import verify_password
from caseflow.timeutil import utcnow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=60)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码"), Length(max=128)])


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        try:
            uid, version = (int(x) for x in user_id.split(":"))
        except ValueError:
            return None
        user = db.session.get(User, uid)
        if user is None or user.session_version != version or not user.active:
            return None
        return user


def roles_required(*roles: Role):
    """Allow only logged-in users with one of ``roles``; everyone else gets 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def home_for(user: User) -> str:
    if user.role is Role.ADMIN:
        return url_for("admin.index")
    return url_for("staff.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalars(db.select(User).where(User.username == form.username.data.strip())).first()
        if user is not None and user.active and verify_password(user.password_hash, form.password.data):
            session.clear()  # a fresh session at log-in
            login_user(user)
            user.last_login_at = utcnow()
            jobs.commit()
            flash(f"欢迎，{user.name}（{user.unit.name} {user.role.label}）", "success")
            target = request.args.get("next")
            if not target or not target.startswith("/") or target.startswith("//"):
                target = home_for(user)
            return redirect(target)
        form.password.errors.append("用户名或密码不正确")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    current_user.session_version += 1  # ends this session everywhere
    jobs.commit()
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))
