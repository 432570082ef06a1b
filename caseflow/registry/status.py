"""Registry states (学籍状态), apart from the models so that import workers load no ORM."""
from __future__ import annotations

from caseflow.labels import Labelled


class RegistryStatus(Labelled):
    ENROLLED = "enrolled", "在籍"
    SUSPENDED = "suspended", "休学"
    TRANSFERRED_OUT = "transferred_out", "转出"
    DROPPED_OUT = "dropped_out", "辍学"
    WITHDRAWN = "withdrawn", "退学"
    GRADUATED = "graduated", "毕业"
    DECEASED = "deceased", "注销（死亡）"


ACTIVE_STATUSES = (RegistryStatus.ENROLLED, RegistryStatus.SUSPENDED)
