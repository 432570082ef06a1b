"""Small server-rendered SVG charts (no JavaScript, no CDN; safe under a strict CSP)."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 560, 200, 36
COLOURS = ["#1456b8", "#1e7b34", "#9a5b00", "#b42318"]


def _frame(title: str, body: str, legend: list[tuple[str, str]] = ()) -> Markup:
    items = "".join(
        f'<rect x="{PAD + i * 130}" y="6" width="10" height="10" fill="{c}"/>'
        f'<text x="{PAD + i * 130 + 14}" y="15" font-size="11">{escape(name)}</text>'
        for i, (name, c) in enumerate(legend))
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{items}{body}</svg>')


def bar_chart(title: str, rows: list[tuple[str, float]], *, unit: str = "") -> Markup:
    """Horizontal-axis bars with their value written above each bar."""
    if not rows:
        return _frame(title, f'<text x="{PAD}" y="{HEIGHT / 2}" font-size="13">暂无数据</text>')
    top = max(v for _l, v in rows) or 1
    span = (WIDTH - 2 * PAD) / len(rows)
    bars = []
    for i, (label, value) in enumerate(rows):
        h = (HEIGHT - 2 * PAD) * value / top
        x = PAD + i * span + span * 0.15
        y = HEIGHT - PAD - h
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{span * 0.7:.1f}" height="{h:.1f}" fill="{COLOURS[0]}">'
            f'<title>{escape(label)}：{value:g}{escape(unit)}</title></rect>'
            f'<text x="{x + span * 0.35:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{value:g}</text>'
            f'<text x="{x + span * 0.35:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" text-anchor="middle">'
            f'{escape(label[:6])}</text>')
    axis = f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#646a73"/>'
    return _frame(title, axis + "".join(bars))


def line_chart(title: str, labels: list[str], series: dict[str, list[float | None]], *,
               percent: bool = False) -> Markup:
    """Lines over months; gaps where a value is missing. ``percent`` scales 0..1 to 0..100%."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = 1.0 if percent else (max(values) if values else 1) or 1
    n = max(len(labels), 2)
    step = (WIDTH - 2 * PAD) / (n - 1)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top

    parts = [f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#646a73"/>']
    for i, label in enumerate(labels):
        if i % 2 == 0 or len(labels) <= 6:
            parts.append(f'<text x="{PAD + i * step:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" '
                         f'text-anchor="middle">{escape(label[2:])}</text>')
    for colour, (name, vs) in zip(COLOURS, series.items(), strict=False):
        points = [(PAD + i * step, y(v), v) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy, _v in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for x, yy, v in points:
            shown = f"{v * 100:.0f}%" if percent else f"{v:g}"
            parts.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{colour}">'
                         f'<title>{escape(name)}：{shown}</title></circle>')
    return _frame(title, "".join(parts), [(name, c) for c, name in zip(COLOURS, series, strict=False)])
