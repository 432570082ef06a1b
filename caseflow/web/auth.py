"""Log-in for officials, and the deny-by-default rule: every page but a short allow-list needs a log-in.

The rule is one ``before_app_request`` hook, not a decorator on each view, so a
view someone forgets to mark is closed rather than open (as in SecureDrop's
journalist app).  What a logged-in user may do there is asked of
``caseflow.cases.permissions``, through ``permission_required`` on the views.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_login.config import EXEMPT_METHODS
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from caseflow.cases import permissions
from caseflow.errors import InvalidInput
from caseflow.extensions import db, login_manager, unit_of_work
from caseflow.models import Role, User
from caseflow.security import accounts, totp
from caseflow.web.password_field import new_password_field
from caseflow.web.security import safe_next

bp = Blueprint("auth", __name__)

# Reachable without logging in: the citizen side (its case pages are further gated by the
# session's track grants), static files, and the log-in itself.  Everything else is for officials.
PUBLIC_ENDPOINTS = frozenset({
    "static",
    "public.index", "public.school_search", "public.new_complaint", "public.receipt", "public.track",
    "public.case", "public.rate", "public.my_data", "documents.receipt",
    "public.add_material", "public.withdraw", "public.notice",  # the complainant after submitting
    "guidance.directory_page", "guidance.faq_page", "guidance.faq_answer", "guidance.complaint_start",
    "auth.login",
    "auth.login_totp",  # the log-in's second step: it asks only a session whose password was right a moment ago
    # The JSON API: submitting and tracking as on the citizen pages, and its document (web.api).
    "api.submit_complaint", "api.complaint_status", "api-docs.openapi_json", "api_docs.docs_page",
})
# Blueprints that authenticate every call themselves, deny-by-default: the API's token gate (web.api).
TOKEN_BLUEPRINTS = frozenset({"api"})


@bp.before_app_request
def _deny_by_default():
    """Send anonymous users to the log-in page from every endpoint not on ``PUBLIC_ENDPOINTS``."""
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS or request.method in EXEMPT_METHODS:
        return None
    if request.blueprint in TOKEN_BLUEPRINTS:
        return None  # never by the session cookie: the blueprint's own gate asks for its token  # an unknown URL or method gets its 404/405 page; CORS preflights carry no cookie
    if current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=60)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码"), Length(max=128)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("当前密码", validators=[DataRequired("请填写当前密码")])
    new_password = new_password_field("新密码", "请填写新密码")
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码")])


_CODE_INPUT = {"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 20}


class CodeForm(FlaskForm):
    code = StringField("验证码", validators=[DataRequired("请输入验证器应用显示的6位数字"), Length(max=20)],
                       render_kw=_CODE_INPUT)


class TotpForm(FlaskForm):
    password = PasswordField("当前密码", validators=[DataRequired("请填写当前密码"), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})
    code = StringField("验证码", validators=[DataRequired("请输入验证器应用显示的6位数字"), Length(max=20)],
                       render_kw=_CODE_INPUT)


def init_login(app: Flask) -> None:
    app.jinja_env.globals["can"] = permissions.can  # templates ask the operations' rules: can(current_user, "reveal")
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


def permission_required(action: str):
    """Allow only users who may take ``action`` (a user-level rule of ``permissions``); others get 403."""
    if action not in permissions.USER_RULES:
        raise ValueError(f"unknown user-level action {action!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not (current_user.is_authenticated and permissions.can(current_user, action)):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# Where each role's work is: officers their inbox, supervisors the dashboard (its escalations one
# link away), clerks the intake form, administrators their admin page.
HOME_BY_ROLE = {Role.OFFICER: "/inbox", Role.SUPERVISOR: "/dashboard", Role.INTAKE: "/intake/new",
                Role.ADMIN: "/admin"}


def home_for(user: User) -> str:
    """Where a user lands after log-in: where the role's work is."""
    return HOME_BY_ROLE[user.role]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        with unit_of_work():  # keeps the failure count too
            user = accounts.authenticate(form.username.data, form.password.data, request.remote_addr)
        if user is not None:
            after = safe_next(request.args.get("next"))
            session.clear()  # a fresh session at log-in
            if totp.enabled(user):  # the password was right: now the code
                session["totp_login"] = totp.pending_login(user, after)
                return redirect(url_for("auth.login_totp"))
            return _logged_in(user, after)
        form.password.errors.append("用户名或密码不正确")
    return render_template("auth/login.html", form=form)


def _logged_in(user: User, after: str | None):
    with unit_of_work():
        accounts.logged_in(user)
    login_user(user)
    flash(f"欢迎，{user.name}（{user.unit.name} {user.role.label}）", "success")
    return redirect(after or home_for(user))


@bp.route("/login/totp", methods=["GET", "POST"])
def login_totp():
    """The second step of the log-in for users with the TOTP second factor."""
    user = totp.pending_user(session.get("totp_login"))
    if user is None:
        session.pop("totp_login", None)
        flash("登录已超时，请重新输入用户名和密码。", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        with unit_of_work():  # the code's step, or the failure count
            ok = totp.verify(user, form.code.data)
        if ok:
            after = session["totp_login"].get("next")
            session.clear()
            return _logged_in(user, safe_next(after))
        form.code.errors.append("验证码不正确，请输入验证器应用当前显示的6位数字")
    return render_template("auth/totp_login.html", form=form), (400 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    with unit_of_work():
        current_user.session_version += 1  # ends this session everywhere
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Change one's own password; every other session of the user ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        if form.new_password.data != form.confirm.data:
            form.confirm.errors.append("两次输入的新密码不一致")
        else:
            user = current_user._get_current_object()
            try:
                # A wrong current password counts towards the limit; nothing else was changed.
                with unit_of_work(keep=(InvalidInput,)):
                    accounts.change_password(user, form.current_password.data, form.new_password.data)
            except InvalidInput as exc:
                getattr(form, exc.field or "new_password").errors.append(exc.message)
            else:
                login_user(user)  # this session carries the new session version
                flash("密码已修改，其他设备上的登录已失效。", "success")
                return redirect(home_for(user))
    return render_template("auth/password.html", form=form)


@bp.route("/account/totp", methods=["GET", "POST"])
def account_totp():
    """Turn the TOTP second factor on (scan, then confirm with password and a code) or off."""
    user = current_user._get_current_object()
    if not totp.eligible(user):
        abort(403)
    form = TotpForm()
    enabled = totp.enabled(user)
    secret = None
    if not enabled:
        secret, session["totp_setup"] = totp.setup_secret(session.get("totp_setup"))
    if form.validate_on_submit():
        try:
            # A wrong password or code counts towards the limits; nothing else was changed.
            with unit_of_work(keep=(InvalidInput,)):
                if enabled:
                    totp.disable(user, form.password.data, form.code.data)
                else:
                    totp.enable(user, secret, form.password.data, form.code.data)
        except InvalidInput as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            session.pop("totp_setup", None)
            login_user(user)  # this session carries the new session version
            flash("已关闭两步验证，其他设备上的登录已失效。" if enabled
                  else "已启用两步验证，今后登录时需要输入验证器应用显示的验证码。", "success")
            return redirect(url_for("auth.account_totp"))
    setup = {} if enabled else {"qr": totp.qr_svg(totp.provisioning_uri(user, secret)),
                                "secret": totp.grouped(secret)}
    return render_template("auth/totp_account.html", form=form, enabled=enabled, **setup), (
        400 if form.errors else 200)
