"""The JSON shapes of the API (marshmallow): what flask-smorest checks requests against and documents.

Field checks here are only about form (a text, not too long, no NUL); every complaint rule is
``caseflow.cases.intake``'s.  Messages are Chinese: the API answers in the same words as the forms.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from caseflow.models import Category, NoticePreference, OrderKind, OrderState, Sex, Verdict

INVALID = "该项格式不正确"  # a refusal whose own words are not Chinese (marshmallow's, webargs')
UNKNOWN = "不支持该参数"
_ERRORS = {"required": "请填写此项", "null": "此项不能为空", "invalid": "该项应为文字"}


class Text(fields.String):
    """A text that PostgreSQL can store: no NUL, no lone surrogate; at most ``max_length`` characters."""

    def __init__(self, *, max_length: int = 200, **kwargs):
        kwargs.setdefault("error_messages", _ERRORS)
        kwargs.setdefault("validate", validate.Length(max=max_length, error=f"不能超过{max_length}个字"))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("包含无法识别的字符") from None
        if "\x00" in text:
            raise ValidationError("包含无法识别的字符")
        return text


def _choice(values, message: str, **kwargs) -> Text:
    return Text(validate=validate.OneOf(values, error=message), max_length=40, **kwargs)


class Input(Schema):
    class Meta:
        unknown = EXCLUDE  # a field we do not know is ignored, as a form ignores it


class ComplaintIn(Input):
    """A complaint, field by field as on the citizen's form (the field names are the form's)."""

    complainant_name = Text(metadata={"description": "投诉人姓名"})
    complainant_sex = Text(metadata={"description": "投诉人性别", "enum": [s.value for s in Sex]})
    complainant_age = Text(metadata={"description": "投诉人年龄（数字，如“38”）"})
    complainant_ethnicity = Text(metadata={"description": "投诉人民族，如“汉族”"})
    complainant_id_number = Text(metadata={"description": "投诉人身份证号"})
    complainant_phone = Text(metadata={"description": "投诉人联系电话"})
    student_name = Text(metadata={"description": "学生姓名"})
    student_sex = Text(metadata={"description": "学生性别", "enum": [s.value for s in Sex]})
    student_age = Text(metadata={"description": "学生年龄"})
    student_ethnicity = Text(metadata={"description": "学生民族"})
    student_registry_no = Text(metadata={"description": "学生学籍号（选填）"})
    student_id_number = Text(metadata={"description": "学生身份证号（选填）"})
    category = Text(metadata={"description": "投诉类别", "enum": [c.value for c in Category]})
    school1 = Text(metadata={"description": "涉及的学校：名称或10位学校标识码"})
    school2 = Text(metadata={"description": "涉及的第二所学校（选填）"})
    description = Text(max_length=20000, metadata={"description": "投诉内容（10至5000字）"})
    source = Text(metadata={"description": "来源：web 投诉人网上提交（默认）；phone 12345热线等电话受理后转入",
                            "enum": ["web", "phone"]})
    notice = Text(metadata={"description": "是否接收短信通知：sms 接收，none 不接收；不填时填写手机号码的接收",
                            "enum": [n.value for n in NoticePreference]})
    token = Text(max_length=64, metadata={
        "description": "提交标识（选填）：同一标识重复提交时返回同一投诉，不会重复登记"})


class ComplaintCreated(Schema):
    number = fields.String(required=True, metadata={"description": "投诉编号"})
    access_code = fields.String(required=True, allow_none=True, metadata={
        "description": "查询码：只在提交时返回一次，请告知投诉人妥善保管（重复提交且已过保留期时为空）"})
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    responsible_unit = fields.String(required=True, metadata={"description": "负责办理的单位"})


class TimelineEntry(Schema):
    at = fields.DateTime(required=True)
    text = fields.String(required=True)


class ComplaintStatus(Schema):
    number = fields.String(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    responsible_unit = fields.String(required=True)
    next_deadline = fields.Date(required=True, allow_none=True, metadata={"description": "当前步骤的办理时限"})
    merged_into = fields.String(required=True, allow_none=True, metadata={
        "description": "已并案时：合并办理的投诉编号（进度为该投诉的进度）"})
    note = fields.String(required=True, allow_none=True, metadata={"description": "已并案时给投诉人的说明"})
    timeline = fields.List(fields.Nested(TimelineEntry), required=True)


class AccessCodeHeader(Input):
    access_code = Text(required=True, max_length=40, data_key="X-Access-Code", metadata={
        "description": "提交投诉时获得的查询码（放在请求头中，不出现在网址和日志里）"})


class OrderFilters(Input):
    """The filters of the staff's order list (``ListFilters``), as query parameters."""
    # A query parameter we do not know is refused (it would filter nothing): ``unknown=RAISE`` in web.api.

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000, error="页码应为正整数"),
                          error_messages={"invalid": "页码应为正整数"})
    state = _choice([s.value for s in OrderState], "没有这个状态")
    kind = _choice([k.value for k in OrderKind], "没有这个单据类型")
    q = Text(max_length=50, metadata={"description": "单据或投诉编号"})


class OrderOut(Schema):
    number = fields.String(required=True)
    kind = fields.String(required=True)
    kind_label = fields.String(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    case_number = fields.String(required=True)
    issuing_unit = fields.String(required=True)
    receiving_unit = fields.String(required=True)
    sent_at = fields.DateTime(required=True)
    sign_due_on = fields.Date(required=True, allow_none=True)
    due_on = fields.Date(required=True)
    content = fields.String(required=True, metadata={"description": "所投诉事项（证件号码和电话已遮盖）"})
    handling_opinion = fields.String(required=True, allow_none=True)
    findings = fields.String(required=True, allow_none=True)
    verdict = fields.String(required=True, allow_none=True)
    handling_result = fields.String(required=True, allow_none=True)
    actions = fields.List(fields.String(), required=True, metadata={"description": "本单位现在可以执行的操作"})


class OrderPage(Schema):
    items = fields.List(fields.Nested(OrderOut), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class SignIn(Input):
    acting_person = Text(max_length=60, metadata={"description": "经办人（选填）"})
    acting_phone = Text(max_length=40, metadata={"description": "经办人电话（选填）"})


class ReportIn(Input):
    text = Text(required=True, max_length=10000, metadata={
        "description": "核查单：经核实的情况；督办单：办理情况"})
    verdict = _choice([v.value for v in Verdict], "没有这个核查结论",
                      metadata={"description": "核查结论（仅核查单）"})


class WebhookIn(Input):
    url = Text(required=True, max_length=500, metadata={"description": "接收状态变化通知的网址"})


class WebhookOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class WebhookCreated(WebhookOut):
    secret = fields.String(required=True, metadata={
        "description": "签名密钥，只返回这一次：X-Caseflow-Signature = sha256=HMAC-SHA256(密钥, 时间戳 + '.' + 请求体)"})


class WebhookList(Schema):
    items = fields.List(fields.Nested(WebhookOut), required=True)


class Error(Schema):
    """Every refusal: the HTTP code, a Chinese message, and per field what is wrong (when fields are)."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "字段 → 问题"})

