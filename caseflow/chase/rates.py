"""The three rates of the follow-ups (响应率 / 解决率 / 满意率): their weights, settings and definitions.

The counts behind them are summary rows (``caseflow.chase.facts``, read by
``caseflow.chase.stats.follow_up_facts``); the weights an administrator sets turn the counts into rates, so a changed weight applies to every figure at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from caseflow.cases.followups import MAX_FAILED_CALLS
from caseflow.deadlines.settings import store_settings
from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.models import Setting, User

# The weights of the partial answers (a full 已解决 / 满意 counts 1, the negative answers 0).
DEFAULT_WEIGHTS = {"rate_weight_basically": 0.9, "rate_weight_partly": 0.0}
WEIGHT_LABELS = {"rate_weight_basically": "满意率中“基本满意”的权重（0到1）",
                 "rate_weight_partly": "解决率中“部分解决”的权重（0到1）"}
assert WEIGHT_LABELS.keys() == DEFAULT_WEIGHTS.keys()

COUNTS = ("valid", "in_time", "solved", "partly", "satisfied", "basically")


def current_weights() -> dict[str, float]:
    """The weights in force: the administrator's, else the defaults."""
    stored = {row.key: float(row.value) for row in
              db.session.scalars(db.select(Setting).where(Setting.key.in_(DEFAULT_WEIGHTS)))}
    return {**DEFAULT_WEIGHTS, **stored}


def save_weights(actor: User | None, values: dict[str, float]) -> None:
    """Store the weights (0..1 each, two decimals at most); they apply to every figure from now on."""
    for key, value in values.items():
        if key not in DEFAULT_WEIGHTS:
            raise InvalidInput(f"未知设置：{key}", field=key)
        if not isinstance(value, int | float) or not 0 <= value <= 1 or round(value, 2) != value:
            raise InvalidInput("请填写0到1之间的数，最多两位小数，如0.9", field=key)
    store_settings(actor, "rates", {key: f"{value:g}" for key, value in values.items()})


@dataclass
class ThreeRates:
    """One unit's (or the total's) follow-up counts and the rates they give under ``weights``."""

    weights: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, counts: dict[str, int]) -> None:
        for key in COUNTS:
            self.counts[key] = self.counts.get(key, 0) + counts.get(key, 0)

    def _n(self, key: str) -> int:
        return self.counts.get(key, 0)

    def _rate(self, hits: float) -> float | None:
        return hits / self._n("valid") if self._n("valid") else None

    @property
    def response(self) -> float | None:
        return self._rate(self._n("in_time"))

    @property
    def resolution(self) -> float | None:
        return self._rate(self._n("solved") + self.weights["rate_weight_partly"] * self._n("partly"))

    @property
    def satisfaction(self) -> float | None:
        return self._rate(self._n("satisfied") + self.weights["rate_weight_basically"] * self._n("basically"))

    def as_dict(self) -> dict:
        """The report's cells: the valid count and each rate as a percentage (— when nothing is valid)."""
        return {"follow_ups": self._n("valid"), "response_rate": percent(self.response),
                "resolution_rate": percent(self.resolution), "follow_up_satisfaction": percent(self.satisfaction)}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _w(value: float) -> str:
    return f"{value:g}"


def definitions(weights: dict[str, float]) -> list[tuple[str, str]]:
    """The rates' definitions under these weights, in the words shown beside the figures."""
    partly, basically = weights["rate_weight_partly"], weights["rate_weight_basically"]
    return [
        ("响应率", "在回访时限内联系上投诉人（含投诉人在线评价）的回访数 ÷ 有效回访数"),
        ("解决率", "（已解决" + (f" + {_w(partly)} × 部分解决" if partly else "") + "）÷ 有效回访数"),
        ("满意率", "（满意" + (f" + {_w(basically)} × 基本满意" if basically else "") + "）÷ 有效回访数"),
        ("有效回访", f"投诉人在线评价或回访电话接通的；连续{MAX_FAILED_CALLS}次未接通的为无效回访，不计入。"
                   "在线评价“满意”视为已解决，“基本满意”视为部分解决，“不满意”视为未解决。按回访完成的月份统计。"),
    ]
