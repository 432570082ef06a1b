"""Who is responsible for a complaint (责任主体, DOMAIN §3). Pure: works on unit paths."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class UnitLike(Protocol):
    """What routing reads of a unit (a model or a plain record): read-only."""

    @property
    def code(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def kind(self) -> object: ...


@dataclass(frozen=True)
class Routing:
    """The responsible unit's code, and whether the case must be referred above the deployment."""

    unit_code: str
    referred: bool
    reason: str


def _chain(unit: UnitLike) -> list[str]:
    return [c for c in unit.path.split("/") if c]


def responsible_code(schools: Sequence[UnitLike], deployment_root: str | None = None) -> Routing:
    """The lowest competent department common to all schools named.

    One school: its parent bureau.  Two schools: the lowest common ancestor of
    their parent bureaus.  If that lies above ``deployment_root`` (a province),
    the case belongs to the Ministry and is referred upward.
    """
    if not schools:
        raise ValueError("at least one school is needed to route a complaint")
    bureaus = []
    for school in schools:
        chain = _chain(school)
        if len(chain) < 2:
            raise ValueError(f"unit {school.code} has no competent department")
        bureaus.append(chain[:-1] if str(getattr(school.kind, "value", school.kind)) == "school" else chain)
    common: list[str] = []
    for codes in zip(*bureaus, strict=False):
        if len(set(codes)) != 1:
            break
        common.append(codes[0])
    if not common:
        raise ValueError("the schools share no common unit")
    unit = common[-1]
    if deployment_root and deployment_root not in common:
        if all(deployment_root not in b for b in bureaus):
            return Routing(unit, True, "投诉涉及的学校不在本省，由教育部协调处理，本省上报。")
        return Routing(unit, True, "涉及不同省份的学校，由教育部协调处理，本省上报。")
    if len({s.code for s in schools}) == 1:
        return Routing(unit, False, "投诉涉及一所学校，由其直接教育行政主管部门负责。")
    return Routing(unit, False, "投诉涉及两所学校，由两校共同的最近一级教育行政主管部门负责。")
