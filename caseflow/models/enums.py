"""Enumerations of the domain, each with its Chinese label for the UI."""
from __future__ import annotations

from typing import ClassVar

from caseflow.labels import Labelled  # noqa: F401 - re-exported: every enumeration below builds on it


class UnitKind(Labelled):
    MINISTRY = "ministry", "教育部"
    PROVINCE = "province", "省级"
    CITY = "city", "市级"
    COUNTY = "county", "县级"
    SCHOOL = "school", "学校"


class Role(Labelled):
    INTAKE = "intake", "受理员"
    OFFICER = "officer", "承办人"
    SUPERVISOR = "supervisor", "责任人"
    ADMIN = "admin", "系统管理员"


class CaseSource(Labelled):
    WEB = "web", "网上投诉"
    PHONE = "phone", "电话"
    LETTER = "letter", "来信"
    UPPER = "upper", "上级转办"
    MONITORING = "monitoring", "数据监测"


class Category(Labelled):
    UNREGISTERED = "unregistered", "学校未办理学籍注册"
    TRANSFER = "transfer", "转学手续被拒或拖延"
    ONE_SYSTEM_ONLY = "one_system_only", "国网、省网注册不一致（一方未注册）"
    MISMATCH = "mismatch", "学籍信息错误或两网信息不一致"
    DUPLICATE = "duplicate", "一人多籍（重复学籍）"
    SEPARATED = "separated", "人籍分离、空挂学籍"
    GRADUATE_POOL = "graduate_pool", "滞留毕业生库"
    OTHER = "other", "其他学籍问题"


class CaseState(Labelled):
    SUBMITTED = "submitted", "待受理"
    REGISTERED = "registered", "已受理"
    VERIFYING = "verifying", "核查中"
    DECIDING = "deciding", "待研究处理意见"
    HANDLING = "handling", "督办中"
    CONCLUDING = "concluding", "待办结"
    CLOSED = "closed", "已办结"
    REJECTED = "rejected", "不予受理"
    REFERRED = "referred", "已上报上级"
    MERGED = "merged", "已并案"  # a repeat complaint handled within an earlier case (``Case.merged_into``)
    # The complainant withdrew the complaint (撤诉): finished, and never counted as resolved (办结).
    WITHDRAWN = "withdrawn", "已撤诉"

    # The state sets, defined once below the class (members must exist first). Tuples in
    # declaration order, so SQL rendered from them is stable.
    AWAITING_RESPONSIBLE: ClassVar[tuple[CaseState, ...]]  # the responsible unit owes the next step
    FINISHED: ClassVar[tuple[CaseState, ...]]  # nothing more happens unless the complainant reopens
    COUNTED: ClassVar[tuple[CaseState, ...]]  # counted in figures: a merged case counts once, as its primary


class OrderKind(Labelled):
    VERIFICATION = "verification", "核查单"
    SUPERVISION = "supervision", "督办单"


class OrderState(Labelled):
    SENT = "sent", "待签收"
    SIGNED = "signed", "办理中"
    RELAYED = "relayed", "已转下级"
    REPORTED = "reported", "已报送待审核"
    ACCEPTED = "accepted", "已审核通过"
    RETURNED = "returned", "已退回"
    CANCELLED = "cancelled", "已撤销"
    PAUSED = "paused", "已暂停计时"  # an approved clock pause (中止计时): nobody's deadline runs
    RETURN_PENDING = "return_pending", "退回待审核"  # the receiver returned it; the issuer reviews the return

    OPEN: ClassVar[tuple[OrderState, ...]]  # not ended: may still be cancelled
    WORKING: ClassVar[tuple[OrderState, ...]]  # the receiving unit must act: its deadlines run and are chased


class Verdict(Labelled):
    TRUE = "true", "属实"
    PARTLY_TRUE = "partly_true", "部分属实"
    UNTRUE = "untrue", "不属实"
    NOT_OURS = "not_ours", "非本单位职责"


class Rating(Labelled):
    SATISFIED = "satisfied", "满意"
    BASICALLY = "basically", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


class ExtensionState(Labelled):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "未批准"


class PauseReason(Labelled):
    """Why the receiving unit asks to stop an order's clock (中止计时)."""

    AWAITING_COMPLAINANT = "awaiting_complainant", "等待投诉人补充材料"
    OTHER_AUTHORITY = "other_authority", "需其他部门认定"
    OTHER = "other", "其他"


class NoticePreference(Labelled):
    """How the complainant wants to hear of their case's progress (the tracking page works either way)."""

    SMS = "sms", "短信通知"
    NONE = "none", "不接收短信"


class FollowUpState(Labelled):
    """A closed case's follow-up (回访) task: waiting for the online rating or the call, then how it ended."""

    PENDING = "pending", "待回访"
    ONLINE = "online", "已在线评价"
    CALLED = "called", "已电话回访"
    INVALID = "invalid", "无效回访"

    VALID: ClassVar[tuple[FollowUpState, ...]]  # what the three rates count


class Resolution(Labelled):
    """Whether the complainant says the problem was solved (asked on the follow-up call)."""

    SOLVED = "solved", "已解决"
    PARTLY = "partly", "部分解决"
    UNSOLVED = "unsolved", "未解决"


class MatchReason(Labelled):
    """Why two complaints look like the same student's (repeat complaints), strongest first."""

    ID_NUMBER = "id_number", "同一身份证号"
    REGISTRY_NO = "registry_no", "同一学籍号"
    NAME_BIRTH_SCHOOL = "name_birth_school", "姓名、出生日期、学校相同"


class Sex(Labelled):
    MALE = "male", "男"
    FEMALE = "female", "女"




CaseState.AWAITING_RESPONSIBLE = (CaseState.SUBMITTED, CaseState.REGISTERED, CaseState.DECIDING)
# A merged case is finished for chasing: its primary carries the work (and is chased).
CaseState.FINISHED = (CaseState.CLOSED, CaseState.REJECTED, CaseState.REFERRED, CaseState.MERGED,
                      CaseState.WITHDRAWN)
CaseState.COUNTED = tuple(s for s in CaseState if s is not CaseState.MERGED)
OrderState.WORKING = (OrderState.SENT, OrderState.SIGNED, OrderState.RELAYED)
# Paused and return-pending orders are open (they may be cancelled) but not working: the receiver owes
# nothing while the clock is stopped or while the issuer reviews the return (its own deadline, review_due_on).
OrderState.OPEN = (*OrderState.WORKING, OrderState.REPORTED, OrderState.PAUSED, OrderState.RETURN_PENDING)
FollowUpState.VALID = (FollowUpState.ONLINE, FollowUpState.CALLED)
