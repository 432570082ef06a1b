"""The JSON API for the hotline platform and other integrations (/api/v1), and its OpenAPI 3.1 document.

Why flask-smorest: it builds the document from the views and their marshmallow schemas (through
apispec, which emits OpenAPI 3.1 when ``OPENAPI_VERSION`` says so), and it mounts on our plain
``Flask`` app factory as one more blueprint.  apiflask wants ``APIFlask`` as the application class
(a change to the whole app for one blueprint), and spectree would bring pydantic in beside the
marshmallow/WTForms the project already has.  flask-smorest's own error handler (it turns every
HTTP error of the whole app into JSON) is left out: ``web.errors`` answers JSON under ``/api/`` and
the pages keep their Chinese HTML.

Every rule stays where it lives: complaints go through ``cases.intake`` and ``operations.submit_complaint``
(the form's messages, per field), the status through ``cases.tracking`` (same throttle as the tracking
page), orders through ``queries.order_list`` / ``access`` / ``operations`` as the acting token's service
account (``cases.api_tokens``), so ``permissions`` decides exactly as for an officer of that unit.
The public endpoints are on the log-in allow-list (``web.auth``); every other one passes this
blueprint's token gate, deny-by-default.  The API is token-authenticated, never by cookie, so it is
exempt from CSRF; the rest of the app keeps it.
"""
from __future__ import annotations

from http import HTTPStatus

from flask import Blueprint as FlaskBlueprint
from flask import Flask, abort, g, jsonify, make_response, render_template, request
from flask_smorest import Api, Blueprint
from marshmallow import RAISE
from sqlalchemy.exc import IntegrityError

from caseflow.cases import access, intake, permissions, queries, receipts, repeats, tracking, webhooks
from caseflow.cases import api_tokens as tokens
from caseflow.cases.operations import find_by_token, report_order, sign_order, submit_complaint
from caseflow.cases.queries import ListFilters
from caseflow.errors import InvalidInput
from caseflow.extensions import csrf, unit_of_work
from caseflow.models import Case, CaseSource, Order, User, Verdict
from caseflow.security.redact import redact
from caseflow.web import api_schemas as s

TOKEN = [{"token": []}]

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="学籍投诉处理接口（第1版）")
docs = FlaskBlueprint("api_docs", __name__, url_prefix="/api")

# Reachable without a token (and on the log-in allow-list, web.auth); every other endpoint needs one.
PUBLIC = frozenset({"api.submit_complaint", "api.complaint_status"})
# A complaint comes through the API from the citizen (web) or relayed by a hotline taking calls (phone).
API_SOURCES = (CaseSource.WEB, CaseSource.PHONE)

DESCRIPTION = """供12345热线平台等外部系统使用的接口。

* **提交投诉**、**查询进度**无需令牌：与网上投诉表单使用同一套校验规则和提示；进度查询需提供查询码（放在请求头 `X-Access-Code` 中）。
* **工作单**接口需要系统管理员发放的接口令牌（请求头 `Authorization: Bearer cf_…`）。令牌属于一个单位，权限与该单位的经办人相同；每次调用均记入审计日志，并限制调用频率。
* **状态通知（Webhook）**：登记接收网址后，本单位投诉和工作单的状态变化将以JSON格式POST到该网址，请求头 `X-Caseflow-Timestamp` 为时间戳，`X-Caseflow-Signature` 为 `sha256=` 加 HMAC-SHA256（密钥为登记时返回的签名密钥，内容为“时间戳.请求体”）。接收方未返回2xx时将按退避间隔重试，因此同一通知可能送达不止一次，请按请求头 `X-Caseflow-Delivery`（通知编号）去重，并拒绝时间戳与当前时间相差超过5分钟的请求。
* 所有错误均以JSON返回：`message` 为中文说明，`errors` 按字段列出问题。"""


class CaseflowApi(Api):
    """flask-smorest without its app-wide JSON error handler: ``web.errors`` answers JSON under /api/."""

    ERROR_SCHEMA = s.Error  # the document's default error response is ours

    def _register_error_handlers(self):
        return None


def init_api(app: Flask) -> None:
    """Mount the API, its document at /api/openapi.json and the page at /api/docs."""
    app.config.update({
        "API_TITLE": "学籍投诉处理系统接口", "API_VERSION": "v1", "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api", "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {"info": {"description": DESCRIPTION}},
    })
    api = CaseflowApi(app)
    api.spec.components.security_scheme("token", {"type": "http", "scheme": "bearer",
                                                  "description": "系统管理员发放的接口令牌"})
    for name, words in (("DEFAULT_ERROR", "出错：message为中文说明，errors按字段列出问题"),
                        ("UNPROCESSABLE_ENTITY", "内容有误：errors按字段列出问题")):
        lazy = api.spec.components.responses_lazy  # registered lazily by flask-smorest, in English
        if name in lazy:
            lazy[name]["description"] = words
    api.register_blueprint(blp)
    app.register_blueprint(docs)
    csrf.exempt(blp)


@docs.get("/docs")
def docs_page():
    """The document, readable: Swagger UI served from our own static files (no CDN)."""
    return render_template("api/docs.html")


# --- errors -------------------------------------------------------------------------------------

def error_body(code: int, message: str, errors: dict[str, str] | None = None) -> dict:
    body: dict = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return body


def _refuse(code: int, message: str, errors: dict[str, str] | None = None):
    abort(make_response(jsonify(error_body(code, message, errors)), code))


@blp.errorhandler(InvalidInput)
def _invalid(exc: InvalidInput):
    """A refused input: 422, every problem by its field (the intake's field names)."""
    from caseflow.extensions import db

    db.session.rollback()
    problems = getattr(exc, "problems", None) or [(exc.field or "_", exc.message)]
    errors: dict[str, str] = {}
    for name, message in problems:
        errors[name] = f"{errors[name]}；{message}" if name in errors else message
    return jsonify(error_body(422, exc.message, errors)), 422


LOCATIONS = ("json", "query", "headers", "path", "form")


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    """webargs' nested messages ({location: {field: [message]}}) as field → Chinese message."""
    if isinstance(messages, dict):
        out: dict[str, str] = {}
        for key, value in messages.items():
            name = prefix if key in LOCATIONS and not prefix else f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    texts = [m for m in (messages if isinstance(messages, list) else [messages]) if isinstance(m, str)]
    chinese = [m for m in texts if any("\u4e00" <= ch <= "\u9fff" for ch in m)]
    unknown = "Unknown field." in texts  # marshmallow's words for a parameter the schema does not have
    return {prefix or "_": "；".join(chinese) or (s.UNKNOWN if unknown else s.INVALID)}


@blp.errorhandler(422)
def _unprocessable(exc):
    errors = _flatten(getattr(exc, "data", {}).get("messages", {}))
    first = next(iter(errors.items()), ("_", s.INVALID))
    return jsonify(error_body(422, f"{first[1]}（{first[0]}）" if first[0] != "_" else first[1], errors)), 422


# --- the token gate -------------------------------------------------------------------------------

@blp.before_request
def _token_gate():
    """Deny by default: every endpoint but ``PUBLIC`` needs a live token; the call is counted and audited."""
    if request.endpoint in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    raw = header[7:] if header[:7].lower() == "bearer " else None
    with unit_of_work(keep=(tokens.TokenRefused,)):
        token = tokens.authenticate(raw, request.remote_addr)
        tokens.audit_call(token, request.method, request.path)
    g.api_token = token
    return None


def _user() -> User:
    return g.api_token.user


# --- complaints (public) ------------------------------------------------------------------------

def _person(data: dict, who: str) -> intake.PersonInput:
    names = ("name", "sex", "age", "ethnicity", "id_number") + (("phone",) if who == "complainant" else ("registry_no",))
    return intake.PersonInput(**{name: data.get(f"{who}_{name}") for name in names})


def _created(case: Case, code: str | None) -> dict:
    return {"number": case.number, "access_code": code, "state": case.state.value,
            "state_label": case.state.label, "responsible_unit": case.responsible_unit.name}


@blp.route("/complaints", methods=["POST"], endpoint="submit_complaint")
@blp.arguments(s.ComplaintIn)
@blp.response(201, s.ComplaintCreated, description="已登记：返回投诉编号和查询码")
@blp.alt_response(200, schema=s.ComplaintCreated, description="同一提交标识已提交过：返回原投诉")
@blp.alt_response(422, schema=s.Error, description="投诉内容有误：errors按字段列出问题（与网上投诉表单的提示相同）")
@blp.alt_response(409, schema=s.Error, description="同一投诉人近期已提交过同一学生的同类投诉：message 说明原投诉的编号和状态")
@blp.alt_response(429, schema=s.Error, description="提交过于频繁")
def submit_complaint_view(data: dict):
    """提交投诉（与网上投诉表单的校验规则相同）"""
    token = data.get("token") or None
    existing = find_by_token(token)
    if existing is not None:
        return _created(existing, receipts.recall(existing, token)), 200
    values = intake.ComplaintInput(
        complainant=_person(data, "complainant"), student=_person(data, "student"),
        category=data.get("category"), description=data.get("description"),
        schools=[data.get("school1"), data.get("school2")], source=data.get("source") or CaseSource.WEB.value,
        notice=data.get("notice"))
    result = intake.check_complaint(values, sources=API_SOURCES)
    if result.complaint is None or result.source is None:
        raise intake.ComplaintRefused(result.problems)  # 422 with every problem
    complaint, source = result.complaint, result.source
    if source is CaseSource.WEB:  # the citizen's own repeat within the window starts no second case (as on the form)
        try:
            repeats.refuse_complaint_resubmission(complaint)
        except repeats.RepeatSubmission as exc:
            _refuse(409, str(exc))
    try:
        with unit_of_work():
            case, code = submit_complaint(complaint, source=source, token=token)
    except IntegrityError:  # a parallel request with the same token won the race
        existing = find_by_token(token)
        if existing is None:
            raise
        return _created(existing, receipts.recall(existing, token)), 200
    return _created(case, code), 201



@blp.route("/complaints/<number>", methods=["GET"])
@blp.arguments(s.AccessCodeHeader, location="headers")
@blp.response(200, s.ComplaintStatus, description="投诉的状态、公开的办理过程和当前时限")
@blp.alt_response(404, schema=s.Error, description="投诉编号或查询码不正确")
@blp.alt_response(429, schema=s.Error, description="查询码错误次数过多")
def complaint_status(headers: dict, number: str):
    """查询投诉进度（投诉编号 + 查询码）"""
    try:
        with unit_of_work(keep=(InvalidInput,)):  # the counted failure stays counted
            case = tracking.open_case(number, headers["access_code"], request.remote_addr)
    except InvalidInput as exc:
        _refuse(404, exc.message)
    shown = tracking.followed(case)  # a merged repeat complaint: its primary's progress, as on the page
    return {"number": case.number, "state": case.state.value, "state_label": case.state.label,
            "responsible_unit": case.responsible_unit.name, "next_deadline": tracking.next_deadline(shown),
            "merged_into": shown.number if shown is not case else None, "note": tracking.merged_note(case),
            "timeline": [{"at": e.at, "text": e.text} for e in tracking.followed_timeline(case)]}


# --- orders (token) --------------------------------------------------------------------------------

def _order(order: Order, user: User) -> dict:
    def masked(text: str | None) -> str | None:
        return redact(text) if text else text

    return {
        "number": order.number, "kind": order.kind.value, "kind_label": order.kind.label,
        "state": order.state.value, "state_label": order.state.label, "case_number": order.case.number,
        "issuing_unit": order.issuing_unit.name, "receiving_unit": order.receiving_unit.name,
        "sent_at": order.sent_at, "sign_due_on": order.sign_due_on, "due_on": order.due_on,
        "content": masked(order.content) or "", "handling_opinion": masked(order.handling_opinion),
        "findings": masked(order.findings), "verdict": order.verdict.value if order.verdict else None,
        "handling_result": masked(order.handling_result),
        "actions": sorted(permissions.allowed_actions(user, order)),
    }


_ERRORS = {401: "令牌无效或已吊销", 404: "没有找到该单据，或不属于本单位", 409: "该单当前状态不能执行此操作",
           403: "本单位无权执行此操作", 429: "调用过于频繁"}


def _token_doc(*codes: int):
    """Document the token and the refusals a token endpoint may answer."""
    def decorator(view):
        for code in (401, 429, *codes):
            view = blp.alt_response(code, schema=s.Error, description=_ERRORS[code])(view)
        return blp.doc(security=TOKEN)(view)

    return decorator


@blp.route("/orders", methods=["GET"])
@_token_doc()
@blp.arguments(s.OrderFilters, location="query", unknown=RAISE)  # webargs would drop unknown ones
@blp.response(200, s.OrderPage, description="本单位待办的工作单（待签收、办理中、待审核），分页")
@blp.alt_response(422, schema=s.Error, description="筛选条件有误")
def orders(args: dict):
    """本单位待办的工作单"""
    user = _user()
    filters = ListFilters.from_args({k: str(v) for k, v in args.items() if v is not None}, "inbox")
    if filters.errors:
        _refuse(422, next(iter(filters.errors.values())), filters.errors)
    page = queries.order_list(user, filters)
    return {"items": [_order(o, user) for o in page.items], "page": page.page, "pages": page.pages,
            "total": page.total}


@blp.route("/orders/<number>", methods=["GET"])
@_token_doc(404)
@blp.response(200, s.OrderOut)
def order_detail(number: str):
    """一张工作单"""
    user = _user()
    return _order(access.get_order(user, number), user)


@blp.route("/orders/<number>/sign", methods=["POST"])
@_token_doc(403, 404, 409)
@blp.arguments(s.SignIn)
@blp.response(200, s.OrderOut, description="已签收")
@blp.alt_response(422, schema=s.Error, description="内容有误")
def order_sign(data: dict, number: str):
    """签收工作单"""
    user = _user()
    order = access.get_order(user, number)
    with unit_of_work():
        sign_order(user, order, data.get("acting_person"), data.get("acting_phone"))
    return _order(order, user)


@blp.route("/orders/<number>/report", methods=["POST"])
@_token_doc(403, 404, 409)
@blp.arguments(s.ReportIn)
@blp.response(200, s.OrderOut, description="已报送：核查单报送核查结论和经核实的情况，督办单报送办理情况")
@blp.alt_response(422, schema=s.Error, description="内容有误")
def order_report(data: dict, number: str):
    """报送核查情况或办理结果"""
    user = _user()
    order = access.get_order(user, number)
    verdict = Verdict(data["verdict"]) if data.get("verdict") else None
    with unit_of_work():
        report_order(user, order, text=data["text"], verdict=verdict)
    return _order(order, user)


# --- webhooks (token) --------------------------------------------------------------------------------

def _hook(hook) -> dict:
    return {"id": hook.id, "url": hook.url, "created_at": hook.created_at}


@blp.route("/webhooks", methods=["GET"])
@_token_doc()
@blp.response(200, s.WebhookList)
def webhook_list():
    """已登记的状态通知接收地址"""
    return {"items": [_hook(h) for h in webhooks.hooks_of(g.api_token)]}


@blp.route("/webhooks", methods=["POST"])
@_token_doc()
@blp.arguments(s.WebhookIn)
@blp.response(201, s.WebhookCreated, description="已登记；签名密钥只返回这一次")
@blp.alt_response(422, schema=s.Error, description="网址有误")
def webhook_create(data: dict):
    """登记状态通知接收地址"""
    with unit_of_work():
        hook, secret = webhooks.register(g.api_token, data["url"])
    return {**_hook(hook), "secret": secret}


@blp.route("/webhooks/<int:webhook_id>", methods=["DELETE"])
@_token_doc()
@blp.response(204, description="已删除")
@blp.alt_response(422, schema=s.Error, description="没有找到该接收地址")
def webhook_delete(webhook_id: int):
    """删除状态通知接收地址"""
    with unit_of_work():
        webhooks.remove(g.api_token, webhook_id)
    return None

