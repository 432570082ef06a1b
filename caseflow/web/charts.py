"""Small server-rendered SVG charts (no JavaScript, no CDN; safe under a strict CSP).

Charts that can be read: bars run horizontally so every label is written in full,
and each value axis has a scale (ticks with their numbers and light grid lines).
"""
from __future__ import annotations

import math

from markupsafe import Markup, escape

from caseflow.timeutil import format_month_cn

WIDTH, HEIGHT, PAD = 560, 200, 36
COLOURS = ["#1456b8", "#1e7b34", "#9a5b00", "#b42318"]
BAR, CHAR = 22, 12  # a bar's row height; the width of one CJK character at font-size 12
GRID = "#d0d4da"


def _frame(title: str, body: str, height: int = HEIGHT, legend: list[tuple[str, str]] = ()) -> Markup:
    items = "".join(
        f'<rect x="{PAD + i * 130}" y="6" width="10" height="10" fill="{c}"/>'
        f'<text x="{PAD + i * 130 + 14}" y="15" font-size="11">{escape(name)}</text>'
        for i, (name, c) in enumerate(legend))
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{items}{body}</svg>')


def ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _num(v: float, unit: str = "") -> str:
    return f"{v:g}{unit}"


def bar_chart(title: str, rows: list[tuple[str, float]], *, unit: str = "") -> Markup:
    """Horizontal bars: the full label on the left, the value at the bar's end, a scale along the bottom."""
    if not rows:
        return _frame(title, f'<text x="{PAD}" y="{HEIGHT / 2}" font-size="13">暂无数据</text>')
    label_w = min(max(len(label) for label, _v in rows) * CHAR + 10, WIDTH // 2)
    left, right = label_w, WIDTH - PAD
    scale = ticks(max(v for _l, v in rows))
    top = scale[-1] or 1
    height = 10 + len(rows) * BAR + 30
    axis_y = 10 + len(rows) * BAR

    def x(v: float) -> float:
        return left + (right - left) * v / top

    parts = []
    for t in scale:
        parts.append(f'<line x1="{x(t):.1f}" y1="6" x2="{x(t):.1f}" y2="{axis_y}" stroke="{GRID}"/>'
                     f'<text x="{x(t):.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">'
                     f'{_num(t, escape(unit))}</text>')
    for i, (label, value) in enumerate(rows):
        y = 10 + i * BAR
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" font-size="12" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{x(value) - left:.1f}" height="{BAR - 8}" fill="{COLOURS[0]}">'
            f'<title>{escape(label)}：{_num(value, escape(unit))}</title></rect>'
            f'<text x="{x(value) + 4:.1f}" y="{y + 15}" font-size="11">{_num(value, escape(unit))}</text>')
    parts.append(f'<line x1="{left}" y1="6" x2="{left}" y2="{axis_y}" stroke="#646a73"/>')
    return _frame(title, "".join(parts), height)


def _month_tick(month: str, *, first: bool) -> str:
    """11月 under a point; the year too on the first point and on each January."""
    return format_month_cn(month, short=not (first or month.endswith("-01")))


def line_chart(title: str, labels: list[str], series: dict[str, list[float | None]], *,
               percent: bool = False) -> Markup:
    """Lines over months with a value scale on the left; gaps where a value is missing.

    ``percent`` scales 0..1 to 0..100%.
    """
    values = [v for vs in series.values() for v in vs if v is not None]
    scale = [0, 0.25, 0.5, 0.75, 1.0] if percent else ticks(max(values) if values else 1)
    top = scale[-1] or 1
    left = PAD + 12
    n = max(len(labels), 2)
    step = (WIDTH - left - PAD) / (n - 1)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - PAD - 28) * v / top

    parts = []
    for t in scale:
        shown = f"{t * 100:.0f}%" if percent else _num(t)
        parts.append(f'<line x1="{left}" y1="{y(t):.1f}" x2="{WIDTH - PAD}" y2="{y(t):.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 4}" y="{y(t) + 4:.1f}" font-size="10" text-anchor="end">{shown}</text>')
    parts.append(f'<line x1="{left}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#646a73"/>')
    for i, label in enumerate(labels):
        if i % 2 == 0 or len(labels) <= 6:
            parts.append(f'<text x="{left + i * step:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" '
                         f'text-anchor="{"start" if i == 0 else "middle"}">'  # the first clears the scale
                         f'{escape(_month_tick(label, first=i == 0))}</text>')
    for colour, (name, vs) in zip(COLOURS, series.items(), strict=False):
        points = [(left + i * step, y(v), v) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _v in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for px, py, v in points:
            shown = f"{v * 100:.0f}%" if percent else _num(v)
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                         f'<title>{escape(name)}：{shown}</title></circle>')
    return _frame(title, "".join(parts), legend=[(name, c) for c, name in zip(COLOURS, series, strict=False)])
