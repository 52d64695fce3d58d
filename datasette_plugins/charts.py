"""Charts drawn on the server as inline SVG: no script, no CDN, so pages work offline.

- :func:`step_chart`: facts over time (a price or a limit holds until it changes), one panel
  per kind of value, the change dates on the time axis.
- :func:`scatter`: input price against context window, log scales, each point a link.

Both return markup ready for a template; each mark carries a ``<title>`` (a browser shows it
on hover, a screen reader reads it) and ``data-`` attributes the tests read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from markupsafe import Markup, escape

from vexy_catalog.timeutil import parse_time

__all__ = ["COLORS", "Line", "Panel", "Point", "scatter", "step_chart"]

COLORS = ("#1f6fb4", "#d1495b", "#2a9d4b", "#8e5cc2", "#e07b00", "#6b4f3a")
_GRID = "#e3e6ea"
_NARROW = 400  # the width a phone's chart is drawn at
_AXIS = "#666"


@dataclass
class Line:
    """One value over time: ``points`` are (ISO time, value or None for a gap), in order."""

    label: str
    fact: str
    points: list[tuple[str, Any]]
    color: str = COLORS[0]

    @property
    def steps(self) -> int:
        return sum(1 for _, value in self.points if value is not None)


@dataclass
class Panel:
    title: str
    lines: list[Line]
    format: Callable[[Any], str] = str


@dataclass
class Point:
    x: float
    y: float
    label: str
    href: str
    group: str = ""


@dataclass
class _Frame:
    width: int
    height: int
    left: int = 70
    right: int = 120
    top: int = 26
    bottom: int = 30
    marks: list[str] = field(default_factory=list)

    @property
    def inner_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def inner_height(self) -> int:
        return self.height - self.top - self.bottom

    def add(self, template: str, *args: Any) -> None:
        self.marks.append(str(Markup(template).format(*args)))

    def svg(self, css_class: str, label: str, **data: Any) -> Markup:
        attributes = "".join(str(Markup(' data-{}="{}"').format(k.replace("_", "-"), v)) for k, v in data.items())
        return Markup(
            '<svg class="{}" viewBox="0 0 {} {}" role="img" aria-label="{}"{} xmlns="http://www.w3.org/2000/svg">'
        ).format(css_class, self.width, self.height, label, Markup(attributes)) + Markup("".join(self.marks) + "</svg>")


def _seconds(moment: str) -> float:
    return parse_time(moment).timestamp()


def _nice_max(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * 10**exponent >= value:
            return step * 10**exponent
    return 10 ** (exponent + 1)


def _spread(positions: list[tuple[float, int]], gap: float, low: float, high: float) -> dict[int, float]:
    """Move labels apart vertically (at least ``gap``), keeping them between low and high."""
    placed: dict[int, float] = {}
    last = low - gap
    for y, key in sorted(positions):
        y = max(y, last + gap)
        placed[key] = y
        last = y
    overflow = last - high
    if overflow > 0:
        placed = {k: v - overflow for k, v in placed.items()}
    return placed


def step_chart(panels: Sequence[Panel], now: datetime | None = None, width: int = 760, height: int = 170) -> Markup:
    """The panels as step charts on one shared time axis, from the first point to ``now``."""
    now = now or datetime.now(timezone.utc)
    times = [_seconds(at) for panel in panels for line in panel.lines for at, _ in line.points]
    end = now.timestamp()
    start = min(times) if times else end - 86400
    # At least a day wide, so a model first seen minutes ago still draws as a line.
    start = min(start, end - 86400)
    end = max(end, max(times, default=end))
    # Drawn twice: text in an SVG scales with it, so a phone gets a narrower drawing (CSS shows
    # one of the two) instead of a wide one shrunk to unreadable labels.
    wide = Markup("").join(_panel(panel, start, end, width, height) for panel in panels)
    narrow = Markup("").join(_panel(panel, start, end, _NARROW, height, narrow=True) for panel in panels)
    return Markup(
        '<div class="vexy-chart"><div class="vexy-wide">{}</div><div class="vexy-narrow">{}</div></div>'
    ).format(wide, narrow)


def _panel(panel: Panel, start: float, end: float, width: int, height: int, narrow: bool = False) -> Markup:
    frame = _Frame(width, height, left=52 if narrow else 70, right=92 if narrow else 120)
    values = [v for line in panel.lines for _, v in line.points if isinstance(v, (int, float))]
    top = _nice_max(max(values) * 1.1) if values else 1.0

    def x(seconds: float) -> float:
        return frame.left + (seconds - start) / (end - start) * frame.inner_width

    def y(value: float) -> float:
        return frame.top + frame.inner_height - value / top * frame.inner_height

    frame.add('<text class="vexy-chart-title" x="{}" y="16">{}</text>', frame.left, panel.title)
    for tick in (0, top / 2, top):
        frame.add(
            '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}"/>',
            frame.left, frame.left + frame.inner_width, y(tick), y(tick), _GRID,
        )  # fmt: skip
        frame.add(
            '<text class="vexy-tick" x="{}" y="{:.1f}" text-anchor="end">{}</text>',
            frame.left - 6, y(tick) + 4, panel.format(tick) if tick else "0",
        )  # fmt: skip
    # The time axis: every change date that fits (they come first: a change is what the chart is
    # for), then the first day and the last where there is room.
    baseline = frame.top + frame.inner_height
    label_width = 70
    taken: list[tuple[float, float]] = []

    def place(position: float, anchor: str, text: str, css: str) -> None:
        left = {"start": position, "middle": position - label_width / 2, "end": position - label_width}[anchor]
        if any(left < right + 4 and other < left + label_width + 4 for other, right in taken):
            return
        taken.append((left, left + label_width))
        frame.add(
            '<text class="{}" x="{:.1f}" y="{}" text-anchor="{}">{}</text>', css, position, baseline + 18, anchor, text
        )

    for at in sorted({at for line in panel.lines for at, _ in line.points[1:]}):
        position = x(_seconds(at))
        frame.add(
            '<line class="vexy-change-date" x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="#bbb" '
            'stroke-dasharray="3 3"/>',
            position, frame.top, baseline,
        )  # fmt: skip
        place(position, "middle", at[:10], "vexy-tick vexy-change-label")
    for seconds, anchor in ((start, "start"), (end, "end")):
        day = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d")
        place(x(seconds), anchor, day, "vexy-tick")
    frame.add('<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>', frame.left, frame.left, frame.top, baseline, _AXIS)
    ends: list[tuple[float, int]] = []
    groups: list[str] = []
    for index, line in enumerate(panel.lines):
        marks, last_y = _line_marks(line, panel, x, y, end)
        groups.append(
            str(
                Markup('<g class="vexy-series" data-fact="{}" data-label="{}" data-steps="{}">{}</g>').format(
                    line.fact, line.label, line.steps, Markup(marks)
                )
            )
        )
        if last_y is not None:
            ends.append((last_y, index))
    frame.marks.extend(groups)
    placed = _spread(ends, 13, frame.top + 4, baseline)
    for index, label_y in placed.items():
        line = panel.lines[index]
        value = next(v for _, v in reversed(line.points) if v is not None) if line.steps else None
        frame.add(
            '<text class="vexy-end-label" x="{}" y="{:.1f}" fill="{}">{} {}</text>',
            frame.left + frame.inner_width + 6, label_y + 4, line.color, line.label, panel.format(value),
        )  # fmt: skip
    if not values:
        frame.add(
            '<text class="vexy-chart-empty" x="{}" y="{}" text-anchor="middle">not known</text>',
            frame.left + frame.inner_width / 2, frame.top + frame.inner_height / 2,
        )  # fmt: skip
    summary = "; ".join(
        f"{line.label}: "
        + ", ".join(f"{panel.format(v) if v is not None else 'unknown'} from {at[:10]}" for at, v in line.points)
        for line in panel.lines
    )
    return frame.svg(
        "vexy-steps", f"{panel.title}. {summary}", panel=panel.title, layout="narrow" if narrow else "wide"
    )


def _line_marks(
    line: Line, panel: Panel, x: Callable[[float], float], y: Callable[[float], float], end: float
) -> tuple[str, float | None]:
    path: list[str] = []
    dots: list[str] = []
    previous: float | None = None
    last_y: float | None = None
    for i, (at, value) in enumerate(line.points):
        x0 = x(_seconds(at))
        x1 = x(_seconds(line.points[i + 1][0])) if i + 1 < len(line.points) else x(end)
        if not isinstance(value, (int, float)):
            previous = None
            continue
        y0 = y(value)
        path.append(f"V{y0:.1f} H{x1:.1f}" if previous is not None else f"M{x0:.1f},{y0:.1f} H{x1:.1f}")
        previous = last_y = y0
        dots.append(
            str(
                Markup(
                    '<circle class="vexy-step" cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}" data-at="{}" '
                    'data-value="{}"><title>{}: {} {}</title></circle>'
                ).format(x0, y0, line.color, at, value, at[:10], line.label, panel.format(value))
            )
        )
    drawn = (
        str(Markup('<path d="{}" fill="none" stroke="{}" stroke-width="2"/>').format(" ".join(path), line.color))
        if path
        else ""
    )
    return drawn + "".join(dots), last_y


# --- scatter ---------------------------------------------------------------------------------


def _log_ticks(low: float, high: float) -> list[float]:
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10.0**e for e in range(first, last + 1)]


def scatter(
    points: Sequence[Point],
    x_label: str,
    y_label: str,
    x_format: Callable[[Any], str],
    y_format: Callable[[Any], str],
    width: int = 760,
    height: int = 440,
) -> Markup:
    """Points on log scales, each a link; ``y == 0`` (free) sits on its own row under the
    axis. Colored by group (with a legend) when there are few groups.

    One drawing for every screen (thousands of points are not drawn twice): on a phone the
    stylesheet enlarges the text inside it instead."""
    groups = sorted({p.group for p in points})
    colors = {g: i for i, g in enumerate(groups)} if len(groups) <= len(COLORS) else {}
    frame = _Frame(width, height, left=90, right=16, top=16, bottom=100)
    xs = [p.x for p in points if p.x > 0]
    ys = [p.y for p in points if p.y > 0]
    x_low, x_high = (min(xs), max(xs)) if xs else (1000.0, 1_000_000.0)
    y_low, y_high = (min(ys), max(ys)) if ys else (0.01, 10.0)
    x_ticks, y_ticks = _log_ticks(x_low, x_high), _log_ticks(y_low, y_high)
    if len(x_ticks) < 2:
        x_ticks.append(x_ticks[0] * 10)
    if len(y_ticks) < 2:
        y_ticks.append(y_ticks[0] * 10)
    lx, hx = math.log10(x_ticks[0]), math.log10(x_ticks[-1])
    ly, hy = math.log10(y_ticks[0]), math.log10(y_ticks[-1])
    plot_bottom = frame.top + frame.inner_height
    free_row = plot_bottom + 32  # the tick labels sit under it, clear of a phone's larger text

    def px(value: float) -> float:
        return frame.left + (math.log10(value) - lx) / (hx - lx) * frame.inner_width

    def py(value: float) -> float:
        if value <= 0:
            return free_row
        return plot_bottom - (math.log10(value) - ly) / (hy - ly) * frame.inner_height

    for tick in x_ticks:
        frame.add(
            '<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="{3}"/>', px(tick), frame.top, plot_bottom, _GRID
        )
        frame.add(
            '<text class="vexy-tick" x="{:.1f}" y="{}" text-anchor="middle">{}</text>',
            px(tick), height - 30, x_format(tick),
        )  # fmt: skip
    for tick in y_ticks:
        frame.add(
            '<line x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}" stroke="{3}"/>',
            frame.left, frame.left + frame.inner_width, py(tick), _GRID,
        )  # fmt: skip
        frame.add(
            '<text class="vexy-tick" x="{}" y="{:.1f}" text-anchor="end">{}</text>',
            frame.left - 6, py(tick) + 4, y_format(tick),
        )  # fmt: skip
    if any(p.y == 0 for p in points):
        frame.add('<text class="vexy-tick" x="{}" y="{}" text-anchor="end">free</text>', frame.left - 6, free_row + 4)
    frame.add(
        '<text class="vexy-axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
        frame.left + frame.inner_width / 2, height - 8, x_label,
    )  # fmt: skip
    frame.add(
        '<text class="vexy-axis-label" x="18" y="{0}" text-anchor="middle" transform="rotate(-90 18 {0})">{1}</text>',
        frame.top + frame.inner_height / 2, y_label,
    )  # fmt: skip
    drawn = 0
    for point in points:
        if point.x <= 0:
            continue
        drawn += 1
        frame.add(
            '<a href="{}"><circle class="vexy-point vexy-c{}" cx="{:.1f}" cy="{:.1f}" r="4">'
            "<title>{}: {} tokens, {}</title></circle></a>",
            point.href, colors.get(point.group, 0), px(point.x), py(point.y), point.label,
            x_format(point.x), y_format(point.y) if point.y else "free",
        )  # fmt: skip
    svg = frame.svg("vexy-scatter", f"{y_label} against {x_label}, {drawn} models", points=drawn)
    legend = Markup("").join(
        Markup('<li><span class="vexy-swatch" style="background: {}"></span>{}</li>').format(COLORS[i], escape(group))
        for group, i in colors.items()
        if group
    )
    return Markup('<div class="vexy-chart vexy-scatter-chart">{}{}</div>').format(
        svg, Markup('<ul class="vexy-legend">{}</ul>').format(legend) if legend else ""
    )
