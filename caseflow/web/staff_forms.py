"""Forms of the officials' pages. Each action is its own small form, posted to its own URL."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from caseflow.models import OrderKind, PauseReason, Verdict
from caseflow.web.fields import CnDateField


def select_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _max(n: int) -> Length:
    return Length(max=n, message=f"不能超过{n}个字")


def _required(what: str) -> DataRequired:
    return DataRequired(f"请填写{what}")


class ActionForm(FlaskForm):
    """An action on a case or an order; ``version`` is the record's version when the form was shown."""

    version = HiddenField()
    # Domain field names (``InvalidInput.field``) that belong to a field of this form.
    error_fields: dict[str, str] = {}

    def add_error(self, field_name: str | None, message: str) -> None:
        """Show ``message`` by the field it concerns, or at the top of the form."""
        name = self.error_fields.get(field_name or "", field_name)
        target = self._fields.get(name) if name else None
        if target is None or name in ("version", "csrf_token"):
            self.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]


class CaseAcceptForm(ActionForm):
    pass


class CaseRejectForm(ActionForm):
    reason = TextAreaField("不予受理的理由及办理渠道", validators=[_required("不予受理的理由及办理渠道"),
                                                                   _max(2000)])
    error_fields = {"不予受理的理由及办理渠道": "reason"}


class CaseTransferForm(ActionForm):
    unit = RadioField("转至单位", choices=[], validate_choice=False, validators=[Optional()])
    unit_text = StringField("转至单位（输入单位代码或名称）", validators=[_max(100)])
    reason = TextAreaField("转办理由", validators=[_required("转办理由"), _max(2000)])
    error_fields = {"转办理由": "reason", "unit": "unit_text"}


class CaseReferForm(ActionForm):
    note = TextAreaField("上报说明", validators=[_required("上报说明"), _max(2000)])
    error_fields = {"上报说明": "note"}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IssueVerificationForm(ActionForm):
    units = MultiCheckboxField("接收核查单的单位", choices=[], validate_choice=False)
    unit_text = StringField("其他直属下级单位（输入单位代码或名称）", validators=[_max(100)])
    content = TextAreaField("所投诉事项", validators=[_required("所投诉事项"), _max(10000)])
    error_fields = {"所投诉事项": "content", "unit": "unit_text"}


class IssueSupervisionForm(ActionForm):
    unit = RadioField("承办单位", choices=[], validate_choice=False, validators=[Optional()])
    unit_text = StringField("承办单位（输入单位代码或名称）", validators=[_max(100)])
    content = TextAreaField("投诉事项", validators=[_required("投诉事项"), _max(10000)])
    opinion = TextAreaField("办理意见", validators=[_required("办理意见"), _max(10000)])
    error_fields = {"投诉事项": "content", "办理意见": "opinion", "unit": "unit_text"}


class CaseCloseForm(ActionForm):
    reply = TextAreaField("答复投诉人的办理结果", validators=[_required("答复投诉人的办理结果"),
                                                               _max(10000)])
    error_fields = {"答复投诉人的办理结果": "reply"}


class LegalHoldForm(ActionForm):
    hold = HiddenField()  # "1": put under legal hold, "0": release
    reason = TextAreaField("理由", validators=[_required("理由"), _max(500)])
    error_fields = {"理由": "reason"}


class RepeatForm(ActionForm):
    """并单 or 关联: which of the possible repeats (radio of the recorded matches), and an optional note."""

    other = RadioField("选择投诉", choices=[], validate_choice=False, validators=[DataRequired("请选择投诉")])
    note = TextAreaField("说明（选填）", validators=[Optional(), _max(2000)])
    error_fields = {"other": "other"}


class UnmergeForm(ActionForm):
    note = TextAreaField("撤销理由（选填）", validators=[Optional(), _max(2000)])


class AttachmentForm(FlaskForm):
    file = FileField("附件（PDF、JPG或PNG）", validators=[FileRequired("请选择要上传的文件")])
    error_fields: dict[str, str] = {"attachments": "file"}
    add_error = ActionForm.add_error


class RevealForm(FlaskForm):
    person = HiddenField(validators=[DataRequired()])
    field = HiddenField(validators=[DataRequired()])


# --- orders ---------------------------------------------------------------------------

class SignForm(ActionForm):
    acting_person = StringField("承办人", validators=[_required("承办人"), _max(60)])
    acting_phone = StringField("承办人联系电话", validators=[_max(40)])


class ReturnForm(ActionForm):
    reason = TextAreaField("退回理由", validators=[_required("退回理由"), _max(2000)])
    error_fields = {"退回理由": "reason"}


class RelayForm(ActionForm):
    unit = RadioField("转至下级单位", choices=[], validate_choice=False, validators=[Optional()])
    unit_text = StringField("下级单位（输入单位代码或名称）", validators=[_max(100)])
    note = TextAreaField("转办说明", validators=[Optional(), _max(2000)])
    due_on = CnDateField("下级完成时限（不填则按规定计算）", validators=[Optional()],
                       render_kw={"type": "date"})
    error_fields = {"unit": "unit_text"}


class ReportForm(ActionForm):
    verdict = RadioField("核查结论", choices=select_choices(Verdict.choices()), validators=[Optional()],
                         validate_choice=False)
    text = TextAreaField("经核实的情况", validators=[_required("经核实的情况"), _max(10000)])
    error_fields = {"经核实的情况": "text", "办理情况": "text"}

    def for_kind(self, kind: OrderKind) -> ReportForm:
        """Label the text as 经核实的情况 (verification) or 办理情况 (supervision)."""
        if kind is OrderKind.SUPERVISION:
            self.text.label.text = "办理情况"
            self.text.validators = [_required("办理情况"), _max(10000)]
        return self


class ReviewAcceptForm(ActionForm):
    pass


class SendBackForm(ActionForm):
    reason = TextAreaField("退回重办的理由", validators=[_required("退回重办的理由"), _max(2000)])
    error_fields = {"退回重办的理由": "reason"}


class ExtensionForm(ActionForm):
    new_due_on = CnDateField("申请延期至", validators=[DataRequired("请填写申请延期至的日期（如2026-12-01）")],
                           render_kw={"type": "date"})
    reason = TextAreaField("延期理由", validators=[_required("延期理由"), _max(2000)])
    error_fields = {"延期理由": "reason"}


class DecideExtensionForm(ActionForm):
    note = TextAreaField("审批意见（可不填）", validators=[Optional(), _max(2000)])
    approve = SubmitField("同意延期")
    refuse = SubmitField("不同意")


class PauseForm(ActionForm):
    """中止计时申请: a reason from the list (the domain says which is missing), and a note."""

    reason = RadioField("中止计时的原因", choices=select_choices(PauseReason.choices()), validators=[Optional()],
                        validate_choice=False)
    detail = TextAreaField("说明（原因为“其他”时必填）", validators=[Optional(), _max(2000)])


class DecidePauseForm(ActionForm):
    note = TextAreaField("审批意见（可不填）", validators=[Optional(), _max(2000)])
    approve = SubmitField("同意中止计时")
    refuse = SubmitField("不同意")


class ResumeForm(ActionForm):
    pass


class ReviewReturnForm(ActionForm):
    """退单审核: confirm (and, if wanted, re-dispatch to the right unit) or refuse with a reason."""

    unit = RadioField("重新派单至（可不选）", choices=[], validate_choice=False, validators=[Optional()])
    unit_text = StringField("重新派单单位（输入单位代码或名称）", validators=[_max(100)])
    note = TextAreaField("审核意见（不同意退回时必填）", validators=[Optional(), _max(2000)])
    confirm = SubmitField("同意退回")
    refuse = SubmitField("不同意退回")
    error_fields = {"unit": "unit_text", "不同意退回的理由": "note"}


class ReferReturnForm(ActionForm):
    note = TextAreaField("提请上级裁定的说明", validators=[_required("提请上级裁定的说明"), _max(2000)])
    error_fields = {"提请上级裁定的说明": "note"}


class RemindForm(ActionForm):
    """催办 from a unit above the receiver: one message (also the bulk form's field, so no prefix)."""

    card = "remind"  # the page's card id (act-remind), which a prefixed form takes from its prefix

    message = TextAreaField("催办内容", validators=[_required("催办内容"), _max(500)])


