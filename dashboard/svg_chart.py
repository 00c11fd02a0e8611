"""A plotly figure, written as plain dicts, drawn as one inline SVG string: the 1-D GAN's charts while the game plays.

Why not st.plotly_chart while playing: Streamlit derives a chart's element id from its figure, so a figure that
changes every tick is a new element every tick; the browser unmounts the old plot and draws a new one, and on a busy
CPU several painted frames in a row showed an empty box (measured in Chromium: a fresh `.js-plotly-plot` node on
nearly every tick). An SVG string given to st.html stays the same element and is swapped in one commit, so no frame
is ever drawn without a chart. When the game is paused the page draws the same dicts with plotly (hover, zoom).

Only what the game's figures use is understood: scatter lines (dash, fill="tozeroy"), markers ("line-ns-open" or
circles), axes x/x2 (with domains) and y/y2 (overlaying or anchored), fixed or automatic ranges, tickvals, line
shapes, arrow annotations and a horizontal legend at the top or the bottom.
"""

from __future__ import annotations

import html
import math

import numpy as np

MARGIN = dict(l=62, r=16, t=12, b=48)
RIGHT_AXIS_MARGIN = 62
LEGEND_ROW = 24
DASHES = {"solid": "", "dash": "9,6", "dot": "2,4", "dashdot": "9,4,2,4"}
AXIS_COLOR, GRID_COLOR, TEXT_COLOR = "#888", "#e6e6e6", "#31333f"


def svg(figure: dict, width: int = 1000) -> str:
    """The figure ({"data": [trace dicts], "layout": dict}) as an `<svg>` that scales to its container's width."""
    traces, layout = figure["data"], figure["layout"]
    height = layout.get("height", 400)
    font = layout.get("font", {}).get("size", 14)
    legend = _legend_items(traces) if layout.get("showlegend", True) else []
    legend_layout = layout.get("legend", {})
    legend_on_top = legend_layout.get("y", 1.0) >= 1.0
    rows = _legend_rows(legend, width - 40, font)
    legend_height = LEGEND_ROW * len(rows)
    right_axis = any(name.startswith("yaxis") and spec.get("side") == "right" for name, spec in layout.items())
    box = dict(
        left=MARGIN["l"],
        right=width - (RIGHT_AXIS_MARGIN if right_axis else MARGIN["r"]),
        top=MARGIN["t"] + (legend_height if legend_on_top else 0),
        bottom=height - MARGIN["b"] - (0 if legend_on_top else legend_height + 18),
    )
    axes = _axes(traces, layout, box)
    parts = [
        f'<svg class="live-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'style="width:100%;height:auto;display:block" font-family="sans-serif" font-size="{font * 0.85:.1f}" '
        f'fill="{TEXT_COLOR}">'
    ]
    for axis in axes.values():
        parts += _axis_marks(axis, box, font)
    for trace in traces:
        parts += _trace(trace, axes)
    for shape in layout.get("shapes", []):
        parts.append(_shape(shape, axes, box))
    for note in layout.get("annotations", []):
        parts += _annotation(note, axes)
    legend_top = MARGIN["t"] if legend_on_top else height - legend_height - 4
    parts += _legend(rows, legend_top, width, legend_layout.get("xanchor", "right"), font)
    parts.append("</svg>")
    return "".join(parts)


def _axes(traces: list[dict], layout: dict, box: dict) -> dict:
    """Each axis as {name, range, pixel span, side...}: x axes span their domain of the box's width, y axes its
    height; a y axis sits at the left or right edge of the x axis it is anchored to."""
    names = {"x"} | {"y"}
    for trace in traces:
        names |= {trace.get("xaxis", "x"), trace.get("yaxis", "y")}
    axes = {}
    for name in sorted(names):
        spec = layout.get(f"{name[0]}axis{name[1:]}", {})
        values = [
            np.asarray(trace[name[0]], dtype=float)
            for trace in traces
            if trace.get(f"{name[0]}axis", name[0]) == name and len(trace.get(name[0], []))
        ]
        axes[name] = dict(name=name, spec=spec, range=_range(spec, values))
    for name, axis in axes.items():
        spec = axis["spec"]
        if name.startswith("x"):
            low, high = spec.get("domain", [0, 1])
            width = box["right"] - box["left"]
            axis["pixels"] = (box["left"] + low * width, box["left"] + high * width)
        else:
            axis["pixels"] = (box["bottom"], box["top"])
            anchor = axes.get(spec.get("anchor", "x"), axes["x"])
            axis["x_axis"] = anchor["name"]
            axis["side"] = spec.get("side", "left")
    for name, axis in axes.items():
        if name.startswith("y"):
            left, right = axes[axis["x_axis"]]["pixels"]
            axis["edge"] = right if axis["side"] == "right" else left
            axis["span"] = (left, right)
    return axes


def _range(spec: dict, values: list[np.ndarray]) -> tuple[float, float]:
    given = spec.get("range")
    if given is not None and None not in given:
        return float(given[0]), float(given[1])
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if spec.get("rangemode") == "tozero":
        low, high = min(low, 0.0), max(high, 0.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    pad = 0.05 * (high - low)
    return low - (0 if low == 0 and spec.get("rangemode") == "tozero" else pad), high + pad


def _to_pixels(axis: dict, values) -> np.ndarray:
    low, high = axis["range"]
    start, end = axis["pixels"]
    fraction = (np.asarray(values, dtype=float) - low) / (high - low)
    return start + np.clip(fraction, -0.02, 1.02) * (end - start)  # off-scale values stop just outside the box


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _axis_marks(axis: dict, box: dict, font: int) -> list[str]:
    spec, (low, high) = axis["spec"], axis["range"]
    ticks = [t for t in spec.get("tickvals", _ticks(low, high)) if low <= t <= high]
    title = html.escape(str(spec.get("title", "")))
    parts = []
    if axis["name"].startswith("x"):
        left, right = axis["pixels"]
        parts.append(_segment(left, box["bottom"], right, box["bottom"], AXIS_COLOR, 1))
        for tick, x in zip(ticks, _to_pixels(axis, ticks)):
            parts.append(
                f'<text x="{x:.1f}" y="{box["bottom"] + font + 2:.1f}" text-anchor="middle">{_label(tick)}</text>'
            )
        middle = (left + right) / 2
        parts.append(
            f'<text x="{middle:.1f}" y="{box["bottom"] + 2 * font + 8:.1f}" text-anchor="middle">{title}</text>'
        )
        return parts
    right_side = axis["side"] == "right"
    edge, sign = axis["edge"], 1 if axis["side"] == "right" else -1
    x_left, x_right = axis["span"]
    for tick, y in zip(ticks, _to_pixels(axis, ticks)):
        if spec.get("showgrid", True) and not right_side:
            parts.append(_segment(x_left, y, x_right, y, GRID_COLOR, 1))
        anchor = "start" if right_side else "end"
        parts.append(
            f'<text x="{edge + sign * 6:.1f}" y="{y + font * 0.3:.1f}" text-anchor="{anchor}">{_label(tick)}</text>'
        )
    middle = (box["top"] + box["bottom"]) / 2
    x = edge + sign * (RIGHT_AXIS_MARGIN - 10 if right_side else MARGIN["l"] - 12)
    parts.append(
        f'<text x="{x:.1f}" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 {x:.1f} {middle:.1f})">'
        f"{title}</text>"
    )
    return parts


def _segment(x0, y0, x1, y1, color: str, width: float, dash: str = "") -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{color}" stroke-width="{width}"{dashed}/>'


def _trace(trace: dict, axes: dict) -> list[str]:
    x_axis, y_axis = axes[trace.get("xaxis", "x")], axes[trace.get("yaxis", "y")]
    xs, ys = np.asarray(trace.get("x", []), dtype=float), np.asarray(trace.get("y", []), dtype=float)
    low, high = x_axis["range"]
    keep = np.isfinite(xs) & np.isfinite(ys) & (xs >= min(low, high)) & (xs <= max(low, high))  # as plotly clips
    px, py = _to_pixels(x_axis, xs[keep]), _to_pixels(y_axis, ys[keep])
    if not len(px):
        return []
    parts = []
    if "lines" in trace.get("mode", "lines"):
        line = trace.get("line", {})
        points = " L".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))
        if trace.get("fill") == "tozeroy":
            zero = float(_to_pixels(y_axis, [0.0])[0])
            area = f"M{px[0]:.1f},{zero:.1f} L{points} L{px[-1]:.1f},{zero:.1f} Z"
            parts.append(f'<path d="{area}" fill="{trace.get("fillcolor", line.get("color"))}" stroke="none"/>')
        dash = DASHES.get(line.get("dash", "solid"), "")
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<path class="trace" d="M{points}" fill="none" stroke="{line.get("color", "#1f77b4")}" '
            f'stroke-width="{line.get("width", 2)}" stroke-linejoin="round"{dashed}/>'
        )
    if "markers" in trace.get("mode", ""):
        marker = trace.get("marker", {})
        color, size, opacity = marker.get("color", "#1f77b4"), marker.get("size", 6), marker.get("opacity", 1)
        if marker.get("symbol") == "line-ns-open":
            ticks = "".join(f"M{a:.1f},{b - size / 2:.1f} V{b + size / 2:.1f} " for a, b in zip(px, py))
            width = marker.get("line", {}).get("width", 1)
            parts.append(
                f'<path class="trace" d="{ticks}" stroke="{color}" stroke-width="{width}" opacity="{opacity}"/>'
            )
        else:
            parts += [
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{size / 2}" fill="{color}" opacity="{opacity}" '
                'stroke="white" stroke-width="1"/>'
                for a, b in zip(px, py)
            ]
    return parts


def _position(reference: str, value: float, axes: dict, box: dict, horizontal: bool) -> float:
    """A shape's coordinate in pixels: "paper" spans the box, "<axis> domain" spans that axis, else the axis's data."""
    if reference == "paper":
        low, high = (box["left"], box["right"]) if horizontal else (box["bottom"], box["top"])
        return low + value * (high - low)
    name, _, domain = reference.partition(" ")
    axis = axes.get(name) or axes["x" if horizontal else "y"]
    if domain:
        low, high = axis["pixels"]
        return low + value * (high - low)
    return float(_to_pixels(axis, [value])[0])


def _shape(shape: dict, axes: dict, box: dict) -> str:
    line = shape.get("line", {})
    x_ref, y_ref = shape.get("xref", "x"), shape.get("yref", "y")
    x0, x1 = (_position(x_ref, shape[k], axes, box, True) for k in ("x0", "x1"))
    y0, y1 = (_position(y_ref, shape[k], axes, box, False) for k in ("y0", "y1"))
    dash = DASHES.get(line.get("dash", "solid"), "")
    return _segment(x0, y0, x1, y1, line.get("color", AXIS_COLOR), line.get("width", 1), dash)


def _annotation(note: dict, axes: dict) -> list[str]:
    x = float(_to_pixels(axes[note.get("xref", "x")], [note["x"]])[0])
    y = float(_to_pixels(axes[note.get("yref", "y")], [note["y"]])[0])
    tx, ty = x + note.get("ax", 0), y + note.get("ay", 0)
    text = html.escape(str(note.get("text", "")))
    return [
        _segment(x, y, tx, ty, TEXT_COLOR, 1),
        f'<text x="{tx:.1f}" y="{ty - 3:.1f}" text-anchor="middle">{text}</text>',
    ]


def _legend_items(traces: list[dict]) -> list[tuple[str, dict]]:
    return [(t["name"], t) for t in traces if t.get("name") and t.get("showlegend", True) is not False]


def _text_width(text: str, font: int) -> float:
    return 0.5 * font * len(text)


def _legend_rows(items: list[tuple[str, dict]], width: float, font: int) -> list[list[tuple[str, dict, float]]]:
    rows, row, used = [], [], 0.0
    for name, trace in items:
        size = 34 + _text_width(name, font) + 14
        if row and used + size > width:
            rows.append(row)
            row, used = [], 0.0
        row.append((name, trace, size))
        used += size
    return rows + ([row] if row else [])


def _legend(rows, top: float, width: int, anchor: str, font: int) -> list[str]:
    parts = []
    for index, row in enumerate(rows):
        y = top + index * LEGEND_ROW + LEGEND_ROW / 2
        total = sum(size for _, _, size in row)
        x = width - MARGIN["r"] - total if anchor == "right" else MARGIN["l"]
        for name, trace, size in row:
            line, marker = trace.get("line", {}), trace.get("marker", {})
            color = line.get("color") or marker.get("color", "#1f77b4")
            if "lines" in trace.get("mode", "lines"):
                dash = DASHES.get(line.get("dash", "solid"), "")
                parts.append(_segment(x, y, x + 28, y, color, min(line.get("width", 2), 4), dash))
            else:
                parts.append(_segment(x + 14, y - 7, x + 14, y + 7, color, 2))
            parts.append(f'<text x="{x + 34:.1f}" y="{y + font * 0.3:.1f}">{html.escape(name)}</text>')
            x += size
    return parts
