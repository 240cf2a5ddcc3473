"""Plots as hand-written SVG: quality against seconds per image (Pareto front), quality against steps, histograms.

Hand-written rather than matplotlib because the output must be byte-identical for the same
results (matplotlib's SVG carries ids and metadata that need care to pin), fast for hundreds of
pages, and made of real, escaped text and links: points link to their run pages and show
their values on hover, and the plots read without JavaScript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from markupsafe import escape

WIDTH, HEIGHT = 560, 340
LEFT, RIGHT, TOP, BOTTOM = 72, 20, 20, 52

STYLE = (
    "<style>.gb-axis{stroke:#8a94a6;stroke-width:1}.gb-grid{stroke:#e3e7ee;stroke-width:1}"
    ".gb-tick{font:11px system-ui,sans-serif;fill:#4a5568}.gb-label{font:12px system-ui,sans-serif;fill:#1a202c}"
    ".gb-point{fill:#a0aec0;stroke:#fff;stroke-width:1}.gb-front{fill:#d9480f;stroke:#fff;stroke-width:1}"
    ".gb-front-line{fill:none;stroke:#d9480f;stroke-width:1.5;stroke-dasharray:4 3}"
    ".gb-name{font:11px system-ui,sans-serif;fill:#1a202c}.gb-bar{fill:#3b5bdb}"
    ".gb-series{fill:none;stroke-width:2}.gb-reported{fill:#fff;stroke:#1a202c;stroke-width:1.5}"
    ".gb-contended{fill:#fff;stroke:#a0aec0;stroke-width:1.5;stroke-dasharray:2 2}"
    ".gb-note{font:11px system-ui,sans-serif;fill:#4a5568}.gb-errorbar{stroke:#4a5568;stroke-width:1.2}</style>"
)
SERIES_COLOURS = ("#3b5bdb", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#1098ad", "#5c940d", "#e67700")


@dataclass(frozen=True)
class Point:
    """One run on a plot: where it lies, what it is called and where its page is."""

    x: float
    y: float
    label: str
    href: str | None = None
    #: The y value's interval (e.g. a 95 % bootstrap interval), drawn as an error bar.
    low: float | None = None
    high: float | None = None

    def y_extent(self) -> list[float]:
        """The y values the point occupies: its value and its interval's ends."""
        return [self.y] + [v for v in (self.low, self.high) if v is not None and math.isfinite(v)]


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[Point, ...]


def _fmt(value: float) -> str:
    return f"{value:.1f}"


class _Scale:
    """Maps data values to pixels, linearly or in log10."""

    def __init__(self, low: float, high: float, start: float, end: float, log: bool):
        self.log = log
        self.low, self.high = (math.log10(low), math.log10(high)) if log else (low, high)
        if self.high == self.low:
            pad = 0.5 if log else (abs(self.low) * 0.1 or 1.0)
            self.low, self.high = self.low - pad, self.high + pad
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.start + (v - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if self.log:
            decades = range(math.floor(self.low), math.ceil(self.high) + 1)
            few = math.ceil(self.high) - math.floor(self.low) <= 2
            marks = [m * 10.0 ** d for d in decades for m in ((1, 2, 5) if few else (1,))]
            return [t for t in marks if self.low - 1e-9 <= math.log10(t) <= self.high + 1e-9]
        raw = (self.high - self.low) / 5
        step = 10 ** math.floor(math.log10(raw))
        step *= next(m for m in (1, 2, 5, 10) if step * m >= raw)
        first = math.ceil(self.low / step) * step
        return [first + i * step for i in range(int((self.high - first) / step + 1e-9) + 1)]


def _padded(values: Sequence[float], log: bool) -> tuple[float, float]:
    """The axis range: a margin around the data; on a log axis at least one decade, so ticks fall inside."""
    low, high = min(values), max(values)
    if log:
        low, high = low / 1.3, high * 1.3
        widen = math.sqrt(10 * low / high) if high / low < 10 else 1.0
        return low / widen, high * widen
    pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
    return low - pad, high + pad


def _tick_text(value: float) -> str:
    return f"{value:.3g}"


def _frame(x: _Scale, y: _Scale, x_label: str, y_label: str, title: str, extra_height: int = 0) -> list[str]:
    """The SVG element, grid, ticks and axis labels; ``extra_height`` leaves room for a legend below."""
    height = HEIGHT + extra_height
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
             f'height="{height}" role="img"><title>{escape(title)}</title>{STYLE}']
    for t in y.ticks():
        py = _fmt(y(t))
        parts.append(f'<line class="gb-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py}" y2="{py}"/>'
                     f'<text class="gb-tick" x="{LEFT - 6}" y="{py}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(_tick_text(t))}</text>')
    for t in x.ticks():
        px = _fmt(x(t))
        parts.append(f'<line class="gb-grid" x1="{px}" x2="{px}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
                     f'<text class="gb-tick" x="{px}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(_tick_text(t))}</text>')
    parts.append(f'<line class="gb-axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
                 f'y2="{HEIGHT - BOTTOM}"/><line class="gb-axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" '
                 f'y2="{HEIGHT - BOTTOM}"/>')
    parts.append(f'<text class="gb-label" x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 12}" '
                 f'text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text class="gb-label" transform="translate(16 {(TOP + HEIGHT - BOTTOM) / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">{escape(y_label)}</text>')
    return parts


def _error_bar(point: Point, px: float, y: "_Scale") -> str:
    """A vertical bar from the point's interval low to high, with caps; nothing without an interval."""
    if point.low is None or point.high is None or not (math.isfinite(point.low) and math.isfinite(point.high)):
        return ""
    top, bottom = _fmt(y(point.high)), _fmt(y(point.low))
    left, right, mid = _fmt(px - 4), _fmt(px + 4), _fmt(px)
    return (f'<path class="gb-errorbar" d="M{mid},{top}L{mid},{bottom}M{left},{top}L{right},{top}'
            f'M{left},{bottom}L{right},{bottom}"/>')


def _interval_text(point: Point) -> str:
    return f" [{point.low:.4g}, {point.high:.4g}]" if point.low is not None and point.high is not None else ""


def _marker(point: Point, px: str, py: str, attributes: str, tooltip: str, shape: str = "circle") -> str:
    if shape == "diamond":
        d = f"M{px},{_fmt(float(py) - 6)}l6,6l-6,6l-6,-6z"
        mark = f'<path {attributes} d="{d}"><title>{escape(tooltip)}</title></path>'
    else:
        mark = f'<circle {attributes} cx="{px}" cy="{py}" r="5"><title>{escape(tooltip)}</title></circle>'
    return f'<a href="{escape(point.href)}">{mark}</a>' if point.href else mark


def pareto_front(points: Sequence[Point], higher_is_better: bool) -> list[Point]:
    """Points no other point beats on both time (lower) and quality; sorted by time."""
    sign = -1.0 if higher_is_better else 1.0
    front: list[Point] = []
    for point in sorted(points, key=lambda p: (p.x, sign * p.y, p.label)):
        if not front or sign * point.y < sign * front[-1].y:
            front.append(point)
    return front


def _plottable(points: Sequence[Point]) -> list[Point]:
    return [p for p in points if p.x > 0 and math.isfinite(p.x) and math.isfinite(p.y)]


def speed_quality_plot(points: Sequence[Point], metric_label: str, higher_is_better: bool, title: str,
                       reported: Sequence[Point] = (), contended: Sequence[Point] = ()) -> str:
    """Quality (y) against seconds per image (x, log10), Pareto front of the measured ``points``
    highlighted and labelled; ``reported`` (published or otherwise unranked) points drawn as hollow diamonds
    and ``contended`` ones (timed on a busy machine) as hollow circles, never on the front. Points with an
    interval carry an error bar."""
    points, reported, contended = _plottable(points), _plottable(reported), _plottable(contended)
    if not points and not reported and not contended:
        return ""
    everything = points + reported + contended
    x = _Scale(*_padded([p.x for p in everything], True), LEFT, WIDTH - RIGHT, log=True)
    y = _Scale(*_padded([v for p in everything for v in p.y_extent()], False), HEIGHT - BOTTOM, TOP, log=False)
    parts = _frame(x, y, "seconds per image (log scale)", metric_label, title, extra_height=22 if reported else 0)
    front = pareto_front(points, higher_is_better)
    steps = []
    for i, p in enumerate(front):
        if i:
            steps.append(f"L{_fmt(x(p.x))},{_fmt(y(front[i - 1].y))}")
        steps.append(f"{'M' if not i else 'L'}{_fmt(x(p.x))},{_fmt(y(p.y))}")
    if len(front) > 1:
        parts.append(f'<path class="gb-front-line" d="{" ".join(steps)}"/>')
    on_front = set(front)
    for p in sorted(points + reported, key=lambda p: (p.x, p.y, p.label)):
        parts.append(_error_bar(p, x(p.x), y))
    for p in sorted(points, key=lambda p: (p in on_front, p.x, p.y, p.label)):
        px, py = _fmt(x(p.x)), _fmt(y(p.y))
        tooltip = (f"{p.label}: {metric_label} {p.y:.4g}{_interval_text(p)}, {p.x:.3g} s/image"
                   + (" (Pareto front)" if p in on_front else ""))
        parts.append(_marker(p, px, py, 'class="gb-front"' if p in on_front else 'class="gb-point"', tooltip))
    for p in sorted(contended, key=lambda p: (p.x, p.y, p.label)):
        tooltip = f"{p.label}: {metric_label} {p.y:.4g}, {p.x:.3g} s/image (timed on a busy machine, not on the front)"
        parts.append(_marker(p, _fmt(x(p.x)), _fmt(y(p.y)), 'class="gb-contended"', tooltip))
    for p in sorted(reported, key=lambda p: (p.x, p.y, p.label)):
        tooltip = f"{p.label}: {metric_label} {p.y:.4g}, {p.x:.3g} s/image (reported, not ranked)"
        parts.append(_marker(p, _fmt(x(p.x)), _fmt(y(p.y)), 'class="gb-reported"', tooltip, shape="diamond"))
    labels = _LabelPlacer()
    for p in front + sorted(reported, key=lambda p: (p.x, p.y, p.label)):
        parts.append(labels.place(p.label, x(p.x), y(p.y)))
    if reported:
        note_y = HEIGHT + 8
        parts.append(f'<path class="gb-reported" d="M{LEFT + 6},{note_y - 10}l6,6l-6,6l-6,-6z"/>'
                     f'<text class="gb-note" x="{LEFT + 18}" y="{note_y}">reported (published) numbers: '
                     f'shown, not ranked and not on the front</text>')
    parts.append("</svg>")
    return "".join(parts)


class _LabelPlacer:
    """Puts point labels beside their points where they overlap no earlier label; a label with no free
    spot is left out (the point's tooltip still names it)."""

    CHAR_WIDTH, LINE_HEIGHT = 6.2, 12.0

    def __init__(self) -> None:
        self.boxes: list[tuple[float, float, float, float]] = []

    def place(self, label: str, px: float, py: float) -> str:
        width = self.CHAR_WIDTH * len(label)
        for dx, dy in ((8, -8), (8, 16), (-8, -8), (-8, 16)):
            left = px + dx if dx > 0 else px + dx - width
            box = (left, py + dy - self.LINE_HEIGHT, left + width, py + dy)
            inside = LEFT <= box[0] and box[2] <= WIDTH - RIGHT and TOP <= box[1] and box[3] <= HEIGHT - BOTTOM
            if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                                  for b in self.boxes):
                self.boxes.append(box)
                anchor = "start" if dx > 0 else "end"
                return (f'<text class="gb-name" x="{_fmt(px + dx)}" y="{_fmt(py + dy)}" '
                        f'text-anchor="{anchor}">{escape(label)}</text>')
        return ""


def steps_plot(series: Sequence[Series], metric_label: str, title: str) -> str:
    """Quality (y) against sampling steps (x, log10), one line per model and checkpoint."""
    all_points = [p for s in series for p in s.points]
    if not all_points:
        return ""
    x = _Scale(*_padded([p.x for p in all_points], True), LEFT, WIDTH - RIGHT, log=True)
    y = _Scale(*_padded([v for p in all_points for v in p.y_extent()], False), HEIGHT - BOTTOM, TOP, log=False)
    parts = _frame(x, y, "sampling steps (log scale)", metric_label, title, extra_height=8 + 18 * len(series))
    for i, s in enumerate(series):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        ordered = sorted(s.points, key=lambda p: p.x)
        path = " ".join(f"{'M' if j == 0 else 'L'}{_fmt(x(p.x))},{_fmt(y(p.y))}" for j, p in enumerate(ordered))
        parts.append(f'<path class="gb-series" stroke="{colour}" d="{path}"/>')
        for p in ordered:
            parts.append(_error_bar(p, x(p.x), y))
            parts.append(_marker(p, _fmt(x(p.x)), _fmt(y(p.y)), f'fill="{colour}"',
                                 f"{s.label}: {metric_label} {p.y:.4g}{_interval_text(p)} at {p.x:g} steps"))
        legend_y = HEIGHT + 10 + 18 * i
        parts.append(f'<rect x="{LEFT}" y="{legend_y - 9}" width="12" height="12" fill="{colour}"/>'
                     f'<text class="gb-name" x="{LEFT + 18}" y="{legend_y + 1}">{escape(s.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram_plot(edges: Sequence[float], counts: Sequence[int], x_label: str, title: str) -> str:
    """Bars of ``counts`` between consecutive ``edges``."""
    if len(edges) != len(counts) + 1 or not counts:
        return ""
    x = _Scale(edges[0], edges[-1], LEFT, WIDTH - RIGHT, log=False)
    y = _Scale(0, max(max(counts), 1) * 1.08, HEIGHT - BOTTOM, TOP, log=False)
    parts = _frame(x, y, x_label, "images", title)
    for low, high, n in zip(edges, edges[1:], counts):
        left, right, top = x(low), x(high), y(n)
        parts.append(f'<rect class="gb-bar" x="{_fmt(left + 1)}" y="{_fmt(top)}" width="{_fmt(right - left - 2)}" '
                     f'height="{_fmt(y(0) - top)}"><title>{escape(f"{low:.3g}–{high:.3g}: {n} images")}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)
