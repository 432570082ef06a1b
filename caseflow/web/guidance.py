"""Before a complaint: the complaint channels (/directory), the FAQ (/faq) and the category step;
and, for administrators and supervisors, keeping them (/admin/faq, /admin/directory, a unit's channel)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from caseflow.cases import access, permissions
from caseflow.errors import InvalidInput, NotAllowed
from caseflow.extensions import db, unit_of_work
from caseflow.guidance import checklist, directory, faq, rules
from caseflow.models import Category, FaqEntry, Unit
from caseflow.web.admin import form_operation
from caseflow.web.auth import permission_required
from caseflow.web.citizen import citizen, keep
from caseflow.web.complaint_form import choice_list

bp = Blueprint("guidance", __name__)
OPENED_KEY = "faq_opened"  # the categories whose answers this visitor opened (for the deflection count)


def _category(value: str | None) -> Category | None:
    try:
        return Category(value) if value else None
    except ValueError:
        return None


# --- public ---------------------------------------------------------------------------------------

@bp.get("/directory")
def directory_page():
    """Find the bureau to contact about a school (name or code), or browse by region."""
    q = request.args.get("q", "").strip()[:50]
    region_code = request.args.get("region", "").strip()[:20]
    region = db.session.scalars(sa.select(Unit).where(Unit.code == region_code)).first() if region_code else None
    schools = directory.find_schools(q) if q else []
    chains = [(s, directory.chain(s)) for s in schools]
    return render_template("guidance/directory.html", q=q, chains=chains, region=region,
                           regions=directory.regions(region), searched=bool(q))


@bp.get("/faq")
def faq_page():
    category = _category(request.args.get("category"))
    items = faq.entries(category)
    return render_template("guidance/faq.html", grouped=faq.by_category(items), category=category,
                           categories=list(Category), rules=faq.cited(items))


def _opened() -> list[str]:
    """The categories whose answers this visitor opened (kept in the citizen's server-side session)."""
    return list(citizen().get(OPENED_KEY, []))


def _remember_opened(categories: list[str]) -> None:
    keep(**{OPENED_KEY: categories})


@bp.get("/faq/<int:entry_id>")
def faq_answer(entry_id: int):
    """One answer; the first answer a visitor opens in a category is counted for that category."""
    entry = db.session.get(FaqEntry, entry_id)
    if entry is None or not entry.published:
        abort(404)
    opened = _opened()
    if entry.category.value not in opened:
        with unit_of_work():
            faq.count_open(entry.category)
        _remember_opened([*opened, entry.category.value])
    related = [e for e in faq.entries(entry.category) if e.id != entry.id]
    return render_template("guidance/answer.html", entry=entry, related=related, rules=faq.cited([entry]))


def count_if_read_first(category: Category) -> None:
    """After a complaint is submitted: it counts as 'submitted anyway' if the visitor read an answer first."""
    opened = _opened()
    if category.value in opened:
        with unit_of_work():
            faq.count_submitted_anyway(category)
        _remember_opened([c for c in opened if c != category.value])


class CategoryStepForm(FlaskForm):
    class Meta:
        csrf = False  # a GET step that changes nothing

    category = RadioField("您要反映的问题属于哪一类？", choices=choice_list(Category.choices()),
                          validate_choice=False)


@bp.get("/complaints/start")
def complaint_start():
    """The category step: pick the kind of problem; its answers come first, then the form."""
    form = CategoryStepForm(request.args)
    chosen = _category(form.category.data)
    if request.args.get("category") is not None and chosen is None:
        form.category.errors = ["请选择问题类别"]
    if chosen is not None:
        return redirect(url_for("public.new_complaint", category=chosen.value))
    return render_template("guidance/start.html", form=form)


def faq_for_form(category_value: str | None) -> tuple[Category | None, list[FaqEntry]]:
    """The category the form was opened for (the category step) and its published answers."""
    category = _category(category_value)
    return category, (faq.entries(category) if category else [])


# --- keeping them ---------------------------------------------------------------------------------

class ChannelForm(FlaskForm):
    hotline = StringField("投诉电话", validators=[Optional(), Length(max=40)])
    email = StringField("电子邮箱", validators=[Optional(), Length(max=120)])
    address = StringField("地址", validators=[Optional(), Length(max=200)])
    office_hours = StringField("办公时间", validators=[Optional(), Length(max=100)],
                               description="例如：工作日 8:30-12:00，14:30-17:30")


@bp.route("/directory/<code>/edit", methods=["GET", "POST"])
def channel_edit(code: str):
    """Administrators keep every unit's channel; a supervisor keeps their own unit's."""
    unit = db.first_or_404(sa.select(Unit).where(Unit.code == code))
    if not directory.may_edit(current_user, unit):
        raise NotAllowed("只有系统管理员或本单位责任人可以修改本单位的投诉渠道。")
    form = ChannelForm(obj=unit)
    if form.validate_on_submit():
        done = form_operation(form, lambda: directory.update(
            current_user, unit, hotline=form.hotline.data, email=form.email.data, address=form.address.data,
            office_hours=form.office_hours.data),
            lambda _: (f"已保存{unit.name}的投诉渠道。", url_for(".channel_edit", code=unit.code)))
        if done:
            return done
    return render_template("guidance/channel_edit.html", unit=unit, form=form), (400 if form.errors else 200)


@bp.get("/admin/directory")
@permission_required("administer")
def directory_admin():
    return render_template("guidance/directory_admin.html", missing=directory.missing_entries())


class FaqForm(FlaskForm):
    category = SelectField("问题类别", choices=choice_list(Category.choices()))
    question = StringField("问题", validators=[Length(max=faq.QUESTION_MAX)])
    answer = TextAreaField("解答", validators=[Length(max=faq.ANSWER_MAX)],
                           description="纯文本：空一行分段，以“- ”开头的行显示为列表。")
    rule_key = SelectField("政策依据", validate_choice=False, description="答案所依据的条款；可不选")
    published = BooleanField("发布", default=True)


@bp.get("/admin/faq")
@permission_required("administer")
def faq_admin():
    items = faq.entries(published_only=False)
    return render_template("guidance/faq_admin.html", grouped=faq.by_category(items),
                           deflection=faq.deflection(), rules=faq.cited(items))


@bp.route("/admin/faq/new", methods=["GET", "POST"])
@bp.route("/admin/faq/<int:entry_id>", methods=["GET", "POST"])
@permission_required("administer")
def faq_edit(entry_id: int | None = None):
    entry = db.get_or_404(FaqEntry, entry_id) if entry_id is not None else None
    form = FaqForm(obj=entry)
    form.rule_key.choices = choice_list([(r.key, f"{r.citation} {r.title}") for r in rules.current_all()],
                                        "（不引用）")
    if entry is not None and not form.is_submitted():
        form.category.data = entry.category.value
    if form.validate_on_submit():
        done = form_operation(form, lambda: faq.save(
            entry, category=Category(form.category.data), question=form.question.data, answer=form.answer.data,
            rule_key=form.rule_key.data, published=form.published.data),
            lambda saved: ("已保存常见问题。", url_for(".faq_admin") + f"#faq-{saved.id}"))
        if done:
            return done
    return render_template("guidance/faq_edit.html", form=form, entry=entry), (400 if form.errors else 200)


# --- 政策依据 on an order ---------------------------------------------------------------------------

def order_checklist(order) -> checklist.Checklist | None:
    return checklist.for_category(order.case.category)


def init_guidance(app) -> None:
    """Template globals the order page asks (its 政策依据 block)."""
    app.jinja_env.globals.update(order_citations=checklist.citations, order_checklist=order_checklist)


@bp.get("/orders/<number>/rules")
@permission_required("work_cases")
def order_rules(number: str):
    """The checklist of the facts the rules turn on, the articles that apply, and citing them on the order."""
    order = access.get_order(current_user, number)
    found = order_checklist(order)
    if found is None:
        abort(404)
    answers = {q.key: request.args.get(q.key, "") for q in found.questions}
    cited = checklist.citations(order)
    return render_template(
        "guidance/order_rules.html", order=order, checklist=found, answers=answers,
        findings=checklist.evaluate(found, answers), answered=any(answers.values()),
        answer_labels=checklist.ANSWERS, cited=cited, cited_ids={r.id for r in cited},
        can_cite=permissions.can(current_user, "cite_rule", order))


def _rule_id() -> int:
    try:
        return int(request.form.get("rule", ""))
    except ValueError:
        abort(400)


@bp.post("/orders/<number>/rules/cite")
@permission_required("work_cases")
def order_cite(number: str):
    order = access.get_order(current_user, number)
    try:
        with unit_of_work():
            rule = checklist.cite(current_user, order, _rule_id())
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        flash(f"已引用{rule.citation}，将打印在{order.kind.label}的“政策依据”栏。", "success")
    back = request.form.get("back", "")[:2000]
    return redirect(f"/orders/{order.number}/rules" + (f"?{back}" if back else ""))


@bp.post("/orders/<number>/rules/uncite")
@permission_required("work_cases")
def order_uncite(number: str):
    order = access.get_order(current_user, number)
    with unit_of_work():
        checklist.uncite(current_user, order, _rule_id())
    flash("已取消引用。", "success")
    return redirect(f"/orders/{order.number}/rules")
