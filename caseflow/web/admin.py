"""Administration pages (系统管理): calendar, units, users, deadline settings. Administrators only."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from caseflow.cases import staff as staff_admin
from caseflow.cases import units as unit_admin
from caseflow.chase import rates
from caseflow.chase.rates import WEIGHT_LABELS
from caseflow.deadlines import calendar as holidays
from caseflow.deadlines import settings as deadline_settings
from caseflow.deadlines.recompute import provisional_count
from caseflow.deadlines.settings import DEFAULT_DAYS, SETTING_LABELS
from caseflow.errors import InvalidInput
from caseflow.extensions import db, unit_of_work
from caseflow.models import Role, Unit, User
from caseflow.security import totp
from caseflow.timeutil import format_date_cn, local_today
from caseflow.web.auth import permission_required
from caseflow.web.fields import CnDateField, CnFloatField, CnIntegerField
from caseflow.web.password_field import new_password_field

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@permission_required("administer")
def _admins_only():
    """Every page here is for administrators; others get 403 (anonymous users were sent to log in)."""


# --- forms --------------------------------------------------------------------------------------------

def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class DayForm(FlaskForm):
    day = CnDateField("日期", validators=[InputRequired("请选择日期")])
    kind = RadioField("类型", choices=_choices([("off", "休（放假）"), ("work", "班（调休上班）")]),
                      validators=[InputRequired("请选择放假或调休上班")], default="off")
    note = StringField("说明", validators=[Optional(), Length(max=100, message="说明不能超过100字")])


class ScheduleForm(FlaskForm):
    text = TextAreaField("节假日安排", validators=[DataRequired("请粘贴节假日安排")])
    confirm = BooleanField("导入后确认该年日历已完整录入")  # not ticked: confirming is a decision


class UnitForm(FlaskForm):
    parent = StringField("上级单位（代码或全称）", validators=[DataRequired("请填写上级单位")])
    is_school = BooleanField("新单位是学校")
    code = StringField("单位代码", validators=[DataRequired("请填写单位代码"), Length(max=20)])
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称"), Length(max=100)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=40)])
    hotline = StringField("投诉电话", validators=[Optional(), Length(max=40)])
    address = StringField("投诉受理地址", validators=[Optional(), Length(max=200, message="地址不能超过200字")])
    directly_administered = BooleanField("省直管县（市）")


class UnitEditForm(FlaskForm):
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称"), Length(max=100)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=40)])
    hotline = StringField("投诉电话", validators=[Optional(), Length(max=40)])
    address = StringField("投诉受理地址", validators=[Optional(), Length(max=200, message="地址不能超过200字")])


def _password_fields(label: str):
    return (
        new_password_field(label),
        PasswordField("再次输入密码", validators=[EqualTo("password", "两次输入的密码不一致")]),
    )


class ProfileForm(FlaskForm):
    """An account's profile, the same fields and checks on creation and on edit."""

    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    # No role is preselected: the administrator chooses one.
    role = SelectField("角色", choices=_choices([("", "请选择角色"), *Role.choices()]),
                       validators=[DataRequired("请选择角色")])
    unit = StringField("所在单位（代码或全称）", validators=[DataRequired("请填写所在单位")])
    phone = StringField("联系电话", validators=[Optional(), Length(max=40)])
    email = StringField("电子邮箱", validators=[Optional(), Length(max=120)])

    def profile(self) -> dict:
        """The fields as ``staff_admin.Profile`` takes them."""
        return {"name": self.name.data, "role": Role(self.role.data), "unit": self.unit.data,
                "phone": self.phone.data, "email": self.email.data}


class UserForm(ProfileForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=60)])
    password, password2 = _password_fields("初始密码")


class PasswordForm(FlaskForm):
    password, password2 = _password_fields("新密码")


class ActiveForm(FlaskForm):
    active = HiddenField()


class SettingsForm(FlaskForm):
    pass


for _key, _label in SETTING_LABELS.items():
    setattr(SettingsForm, _key, CnIntegerField(_label, validators=[
        InputRequired("请填写天数"), NumberRange(1, 30, "请填写1到30之间的整数")]))


class RateWeightsForm(FlaskForm):
    pass


for _key, _label in WEIGHT_LABELS.items():
    setattr(RateWeightsForm, _key, CnFloatField(_label, validators=[
        InputRequired("请填写权重"), NumberRange(0, 1, "请填写0到1之间的数，如0.9")]))


def _show_error(form: FlaskForm, exc: InvalidInput) -> None:
    """Put a domain message by its field (or at the top when the form has no such field)."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def form_operation(form: FlaskForm, operation, done):
    """Run one operation in a unit of work; on ``InvalidInput`` show it by its field and return None.

    ``done(result)`` gives the success message and where to go next.
    """
    try:
        with unit_of_work():
            result = operation()
    except InvalidInput as exc:
        _show_error(form, exc)
        return None
    message, target = done(result)
    flash(message, "success")
    return redirect(target)


def _overview() -> dict[str, int]:
    """Counts for the admin index: units, active accounts, and open deadlines still provisional."""
    return {"units": unit_admin.count(), "users": staff_admin.count_active(), "provisional": provisional_count()}


# --- index --------------------------------------------------------------------------------------------

@bp.route("")
def index():
    return render_template("admin/index.html", counts=_overview())


# --- calendar -----------------------------------------------------------------------------------------

def _calendar_page(day_form=None, schedule_form=None, status=200):
    years = holidays.calendar_years()
    shown = request.args.get("year", type=int) or local_today().year
    if shown not in {y.year for y in years}:
        shown = local_today().year
    return render_template("admin/calendar.html", years=years, shown=shown,
                           months=holidays.month_grids(deadline_settings.load_calendar(), shown),
                           day_form=day_form or DayForm(formdata=None),
                           schedule_form=schedule_form or ScheduleForm(formdata=None),
                           confirm_form=FlaskForm()), status


def _recomputed(changed: int) -> str:
    """What a calendar edit did to open deadlines, for the flash message."""
    return f"已重新计算受影响的完成时限：{changed}项有变化，已记入各投诉的办理记录。" if changed else "没有需要调整的完成时限。"


@bp.route("/calendar")
def calendar():
    return _calendar_page()


@bp.route("/calendar/days", methods=["POST"])
def calendar_add_day():
    form = DayForm()
    if form.validate_on_submit():
        word = "调休上班" if form.kind.data == "work" else "放假"
        done = form_operation(form, lambda: holidays.set_day(current_user, form.day.data, form.kind.data == "work",
                                                    form.note.data),
                    lambda changed: (f"已将{format_date_cn(form.day.data)}设为{word}。{_recomputed(changed)}",
                                     url_for(".calendar")))
        if done:
            return done
    return _calendar_page(day_form=form, status=400)


@bp.route("/calendar/days/<day>/delete", methods=["POST"])
def calendar_remove_day(day: str):
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        abort(404)
    with unit_of_work():
        changed = holidays.remove_day(current_user, the_day)
    flash(f"已删除{format_date_cn(the_day)}的设置。{_recomputed(changed)}", "success")
    return redirect(url_for(".calendar"))


@bp.route("/calendar/import", methods=["POST"])
def calendar_import():
    form = ScheduleForm()
    if form.validate_on_submit():
        done = form_operation(form, lambda: holidays.import_schedule(current_user, form.text.data, confirm=form.confirm.data),
                    lambda result: (_imported(result), url_for(".calendar")))
        if done:
            return done
    return _calendar_page(schedule_form=form, status=400)


def _imported(result: holidays.ImportResult) -> str:
    confirmed = f"已确认{result.confirmed_year}年日历。" if result.confirmed_year else ""
    return f"已导入{result.stored}天的节假日安排。{confirmed}{_recomputed(result.deadlines_changed)}"


@bp.route("/calendar/years/<int:year>/confirm", methods=["POST"])
def calendar_confirm(year: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        changed = holidays.confirm_year(current_user, year)
    flash(f"已确认{year}年日历。{_recomputed(changed)}", "success")
    return redirect(url_for(".calendar"))


# --- units ----------------------------------------------------------------------------------------------

@bp.route("/units", methods=["GET", "POST"])
def units():
    form = UnitForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        data = unit_admin.UnitData(**{f: form[f].data for f in (
            "parent", "code", "name", "phone", "hotline", "address", "is_school", "directly_administered")})
        done = form_operation(form, lambda: unit_admin.create_unit(current_user, data),
                    lambda unit: (f"已添加单位：{unit.code} {unit.name}", url_for(".units", q=unit.code)))
        if done:
            return done
    query = request.args.get("q", "").strip()
    if query:  # a search lists the matches flat, each with a link to its place in the tree
        page = db.paginate(unit_admin.search_units(query), per_page=50, error_out=False)
        tree = None
    else:
        page = None
        opened = request.args.get("open")  # "" is the top of the tree; none yet: this deployment's province
        tree = unit_admin.tree_level(current_app.config["DEPLOYMENT_PROVINCE"] if opened is None else opened,
                                     request.args.get("page", 1, type=int))
    if tree is not None and request.args.get("fragment"):  # units-tree.js opens a unit in place
        return render_template("admin/_unit_children.html", tree=tree, fragment=True)
    return render_template("admin/units.html", form=form, page=page, tree=tree, q=query), (
        400 if form.errors else 200)


@bp.route("/units/<code>", methods=["GET", "POST"])
def unit_edit(code: str):
    unit = db.first_or_404(sa.select(Unit).where(Unit.code == code))
    form = UnitEditForm(obj=unit)
    if form.validate_on_submit():
        done = form_operation(form, lambda: unit_admin.update_unit(current_user, unit, form.name.data, form.phone.data,
                                                        form.hotline.data, form.address.data),
                    lambda _: (f"已保存单位：{unit.name}", url_for(".unit_edit", code=unit.code)))
        if done:
            return done
    return render_template("admin/unit_edit.html", unit=unit, form=form), (400 if form.errors else 200)


# --- users ----------------------------------------------------------------------------------------------

@bp.route("/users", methods=["GET", "POST"])
def users():
    form = UserForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        data = staff_admin.UserData(username=form.username.data, password=form.password.data, **form.profile())
        done = form_operation(form, lambda: staff_admin.create_user(current_user, data),
                    lambda user: (f"已创建账号：{user.username}（{user.unit.name} {user.role.label}）",
                                  url_for(".user_detail", user_id=user.id)))
        if done:
            return done
    query = request.args.get("q", "")
    role = request.args.get("role", "")
    page = db.paginate(staff_admin.search_users(query, _role_or_none(role)),
                       per_page=50, error_out=False)
    return render_template("admin/users.html", form=form, page=page, q=query, role=role,
                           roles=Role), (400 if form.errors else 200)


def _role_or_none(value: str) -> Role | None:
    return next((r for r in Role if r.value == value), None)


def _profile_form(user: User, formdata=None) -> ProfileForm:
    """The edit form, filled from the account; the phone stays empty (kept unless a new one is typed)."""
    return ProfileForm(formdata=formdata, data={"name": user.name, "role": user.role.value,
                                                "unit": user.unit.code, "email": user.email or ""})


def _user_page(user: User, profile_form=None, password_form=None, status=200):
    return render_template("admin/user.html", user=user,
                           profile_form=profile_form or _profile_form(user),
                           password_form=password_form or PasswordForm(formdata=None),
                           active_form=ActiveForm(formdata=None)), status


@bp.route("/users/<int:user_id>")
def user_detail(user_id: int):
    return _user_page(db.get_or_404(User, user_id))


@bp.route("/users/<int:user_id>", methods=["POST"])
def user_update(user_id: int):
    """Edit the account's name, role, unit, phone and email with the creation's checks."""
    user = db.get_or_404(User, user_id)
    form = _profile_form(user, request.form)
    if form.validate():
        done = form_operation(
            form, lambda: staff_admin.update_user(current_user, user, staff_admin.Profile(**form.profile())),
            lambda _: (f"已保存账号：{user.username}（{user.unit.name} {user.role.label}）",
                       url_for(".user_detail", user_id=user.id)))
        if done:
            return done
    return _user_page(user, profile_form=form, status=400)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def user_active(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    return _on_user(user, lambda: staff_admin.set_user_active(current_user, user, form.active.data == "1"),
                    lambda: f"已{'启用' if user.active else '停用'}账号{user.username}。")


@bp.route("/users/<int:user_id>/totp", methods=["POST"])
def user_totp_reset(user_id: int):
    """Turn off a user's TOTP second factor (a lost phone); their sessions end."""
    user = db.get_or_404(User, user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not totp.enabled(user):
        return redirect(url_for(".user_detail", user_id=user.id))
    return _on_user(user, lambda: totp.reset(current_user, user),
                    lambda: f"已关闭{user.username}的两步验证，该用户下次登录只需密码，可在登录后重新启用。")


def _on_user(user: User, operation, message):
    """A button on the user page: run and commit, flash ``message()``; on ``InvalidInput`` roll back and flash
    the reason.  Back to the user page either way."""
    try:
        with unit_of_work():
            operation()
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        flash(message(), "success")
    return redirect(url_for(".user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        done = form_operation(form, lambda: staff_admin.reset_password(current_user, user, form.password.data),
                    lambda _: (f"已重置{user.username}的密码，该用户已登录的会话全部失效。",
                               url_for(".user_detail", user_id=user.id)))
        if done:
            return done
    return _user_page(user, password_form=form, status=400)


# --- settings -------------------------------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
def settings():
    form = SettingsForm(data=deadline_settings.current_settings())
    if form.validate_on_submit():
        done = form_operation(form, lambda: deadline_settings.save_settings(current_user, {key: form[key].data for key in DEFAULT_DAYS}),
                    lambda _: ("已保存期限设置，新设置适用于此后计算的完成时限。", url_for(".settings")))
        if done:
            return done
    return _settings_page(form, RateWeightsForm(formdata=None, data=rates.current_weights()))


def _settings_page(form: FlaskForm, weights_form: FlaskForm):
    return render_template("admin/settings.html", form=form, defaults=DEFAULT_DAYS, weights_form=weights_form,
                           weight_defaults=rates.DEFAULT_WEIGHTS), (
        400 if form.errors or weights_form.errors else 200)


@bp.post("/settings/rates")
def rate_weights():
    """The weights of the three follow-up rates (回访); they apply to every figure shown from now on."""
    weights_form = RateWeightsForm()
    if weights_form.validate_on_submit():
        done = form_operation(weights_form, lambda: rates.save_weights(
            current_user, {key: weights_form[key].data for key in rates.DEFAULT_WEIGHTS}),
            lambda _: ("已保存回访三率的计算权重。", url_for(".settings")))
        if done:
            return done
    return _settings_page(SettingsForm(formdata=None, data=deadline_settings.current_settings()), weights_form)
