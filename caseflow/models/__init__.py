"""Typed SQLAlchemy models. Import from here."""
from caseflow.models.attachments import Attachment
from caseflow.models.cases import Case, CaseLink, Counter, Person, case_schools
from caseflow.models.chase import ChaseStep, EmailMessage, MonthlyReport, Notification
from caseflow.models.documents import RenderedDocument
from caseflow.models.enums import (
    CaseSource,
    CaseState,
    Category,
    ExtensionState,
    FollowUpState,
    MatchReason,
    NoticePreference,
    OrderKind,
    OrderState,
    PauseReason,
    Rating,
    Resolution,
    Role,
    Sex,
    UnitKind,
    Verdict,
)
from caseflow.models.events import AuditEntry, CaseEvent
from caseflow.models.facts import CaseFacts, UnitFacts
from caseflow.models.filters import SAVED_FILTER_LISTS, SavedFilter
from caseflow.models.followups import FollowUp
from caseflow.models.guidance import FaqCount, FaqEntry, OrderCitation, PolicyRule
from caseflow.models.integrations import ApiToken, Webhook, WebhookDelivery
from caseflow.models.orders import ExtensionRequest, Order, OrderPause
from caseflow.models.registry import (
    ACTIVE_STATUSES,
    CaseRegistryLink,
    Headcount,
    ImportState,
    ProblemKind,
    RegistryImport,
    RegistryProblem,
    RegistryRecord,
    RegistrySource,
    RegistryStatus,
)
from caseflow.models.system import (
    CalendarDay,
    CalendarYear,
    CitizenSession,
    OutboxItem,
    ReceiptCode,
    Setting,
    SmsMessage,
    ThrottleCounter,
)
from caseflow.models.units import Unit
from caseflow.models.users import User

__all__ = [
    "UnitFacts",
    "Attachment", "AuditEntry", "CalendarDay", "CalendarYear", "Case", "CitizenSession",
    "CaseEvent", "CaseFacts", "CaseLink", "CaseSource", "CaseState", "Category", "ChaseStep", "Counter", "EmailMessage",
    "ExtensionRequest", "ExtensionState", "MatchReason", "MonthlyReport", "Notification", "Order", "OrderKind", "OrderState",
    "OutboxItem", "Person", "Rating", "ReceiptCode", "RenderedDocument", "Role", "SavedFilter", "SAVED_FILTER_LISTS",
    "Setting", "Sex", "SmsMessage", "ThrottleCounter", "Unit", "UnitKind", "User", "Verdict", "case_schools",
    "FollowUp", "FollowUpState", "Resolution",
    "FaqCount", "FaqEntry", "OrderCitation", "PolicyRule",
    "OrderPause", "PauseReason",
    "ApiToken", "Webhook", "WebhookDelivery",
    "ACTIVE_STATUSES", "CaseRegistryLink", "Headcount", "ImportState", "ProblemKind", "RegistryImport",
    "RegistryProblem", "RegistryRecord", "RegistrySource", "RegistryStatus",
    "NoticePreference",
]
