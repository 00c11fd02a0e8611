"""The game's live charts as SVG (dashboard/svg_chart.py): every line of a figure is drawn, on its own axis."""

from __future__ import annotations

import re

import numpy as np

from dashboard import svg_chart


def line(y, name, **extra) -> dict:
    return dict(type="scatter", mode="lines", x=np.arange(len(y)), y=np.asarray(y, float), name=name, **extra)


def paths(svg: str) -> list[str]:
    return re.findall(r'<path class="trace" d="([^"]+)"', svg)


def test_every_line_is_drawn_inside_the_chart_and_named_in_the_legend():
    figure = dict(
        data=[
            line([0, 1, 4, 1, 0], "density", fill="tozeroy", fillcolor="rgba(0,0,255,0.2)"),
            line([0.2, 0.5, 0.9, 0.5, 0.2], "D(x)", yaxis="y2"),
            line([0, 50, 0, 0, 0], "spike"),  # runs off a fixed range: stops at the chart's edge
        ],
        layout=dict(height=300, yaxis=dict(range=[0, 5]), yaxis2=dict(range=[0, 1], overlaying="y", side="right")),
    )
    svg = svg_chart.svg(figure, 600)
    assert svg.startswith('<svg class="live-chart"') and svg.endswith("</svg>")
    drawn = paths(svg)
    assert len(drawn) == 3 and all(d.count("L") == 4 for d in drawn)
    numbers = [float(v) for d in drawn for v in re.findall(r"-?\d+\.?\d*", d)]
    assert min(numbers) >= 0 and max(numbers) <= 600  # inside the picture, the spike included
    assert 'fill="rgba(0,0,255,0.2)"' in svg  # the filled area under the density
    assert all(f">{name}</text>" in svg for name in ("density", "D(x)", "spike"))


def test_text_from_a_figure_is_escaped():
    svg = svg_chart.svg(dict(data=[line([1, 2], "<b>x</b>")], layout=dict(xaxis=dict(title="a & b"))), 400)
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "a &amp; b" in svg
