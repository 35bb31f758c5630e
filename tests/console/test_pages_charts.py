"""The SVG charts say what the data says: bar heights and line points follow the values,
the description and the data table carry the figures, and the markup is accessible."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from gateway.console.charts import (
    Series,
    axis,
    bar_list,
    column_chart,
    describe,
    duration_scale,
    line_chart,
    nice_step,
    percent,
)

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(figure: str) -> ET.Element:
    markup = re.search(r"<svg.*?</svg>", figure, re.S)
    assert markup is not None
    text = markup.group(0).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1)
    return ET.fromstring(text)  # noqa: S314 - the markup is our own


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


@pytest.mark.parametrize(
    ("span", "step"), [(7, 2.0), (10, 2.0), (48, 10.0), (0.9, 0.2), (1234, 250.0), (0, 1.0)]
)
def test_ticks_are_round(span: float, step: float) -> None:
    assert nice_step(span) == step


def test_the_axis_covers_the_maximum() -> None:
    assert axis(48) == [0, 10, 20, 30, 40, 50]
    assert axis(50) == [0, 10, 20, 30, 40, 50]
    assert axis(0)[-1] > 0


def test_column_heights_follow_the_values_and_zero_draws_nothing() -> None:
    figure = column_chart(
        ident="t", title="Orders per day", categories=["mon", "tue", "wed", "thu"],
        series=[Series("Orders", [10, 20, 0, 40])],
    )  # fmt: skip
    root = svg_of(figure)
    drawn = bars(root)
    assert len(drawn) == 3  # the zero day has no bar
    heights = [float(r.get("height", 0)) for r in drawn]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[2] == pytest.approx(4 * heights[0])
    tooltips = [r.findtext(f"{SVG}title") for r in drawn]
    assert tooltips == ["mon, Orders: 10", "tue, Orders: 20", "thu, Orders: 40"]


def test_stacked_columns_add_up() -> None:
    figure = column_chart(
        ident="s", title="Stacked", categories=["a"],
        series=[Series("x", [30]), Series("y", [10])], stacked=True,
    )  # fmt: skip
    first, second = bars(svg_of(figure))
    assert float(first.get("height", 0)) == pytest.approx(3 * float(second.get("height", 0)))
    # the second sits on top of the first
    assert float(second.get("y", 0)) + float(second.get("height", 0)) == pytest.approx(
        float(first.get("y", 0))
    )


def test_the_svg_is_named_and_described_with_the_figures() -> None:
    figure = column_chart(
        ident="sla", title="Accepted to order", categories=["p50", "p95"],
        series=[Series("Duration", [1.5, 4.0])], fmt=lambda v: f"{v:g} min",
        reference=(5.0, "target 5 min"),
    )  # fmt: skip
    root = svg_of(figure)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "sla-title sla-desc"
    assert root.findtext(f"{SVG}title") == "Accepted to order"
    desc = root.findtext(f"{SVG}desc") or ""
    assert "p50 1.5 min" in desc
    assert "p95 4 min" in desc
    assert "target 5 min" in desc
    # the target is drawn as a line across the plot
    assert any(line.get("stroke-dasharray") for line in root.findall(f"{SVG}line"))


def test_every_chart_has_a_data_table_with_the_same_figures() -> None:
    figure = line_chart(
        ident="ex", title="Opened vs resolved", categories=["05-01", "05-02"],
        series=[Series("Opened", [3, 5]), Series("Resolved", [1, None])],
        category_label="Day",
    )  # fmt: skip
    table = re.search(r"<table.*?</table>", figure, re.S)
    assert table is not None
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th><td>(.*?)</td><td>(.*?)</td></tr>",
                      table.group(0))  # fmt: skip
    assert rows == [("05-01", "3", "1"), ("05-02", "5", "—")]
    assert '<th scope="col">Day</th>' in table.group(0)
    assert "Opened" in figure
    assert "Resolved" in figure


def test_line_points_rise_with_the_values() -> None:
    root = svg_of(line_chart(ident="l", title="t", categories=["a", "b", "c"],
                             series=[Series("n", [1, 3, 2])]))  # fmt: skip
    ys = [float(c.get("cy", 0)) for c in root.findall(f"{SVG}circle")]
    assert ys[1] < ys[2] < ys[0]  # SVG's y grows downwards
    assert root.find(f"{SVG}polyline") is not None


def test_bar_list_widths_are_proportional_and_labelled() -> None:
    figure = bar_list(ident="d", title="Deprecated calls", items=[("crm-app", 40), ("erp", 10)],
                      value_label="Calls")  # fmt: skip
    first, second = bars(svg_of(figure))
    assert float(first.get("width", 0)) == pytest.approx(4 * float(second.get("width", 0)))
    assert "crm-app" in figure
    assert "erp" in figure


def test_long_series_are_summarised_in_the_description() -> None:
    days = [f"d{i}" for i in range(30)]
    text = describe(days, [Series("Breaches", [float(i % 5) for i in range(30)])], percent)
    assert "30 points" in text
    assert "highest 400.0%" in text


def test_durations_get_a_readable_unit() -> None:
    assert duration_scale(30) == (1.0, "s")
    assert duration_scale(600) == (60.0, "min")
    assert duration_scale(3 * 3600) == (3600.0, "h")
    assert duration_scale(5 * 86400) == (86400.0, "d")


def test_text_in_charts_is_escaped() -> None:
    figure = bar_list(ident="x", title="<script>", items=[("<b>", 1)])
    assert "<script>" not in figure
    assert "&lt;b&gt;" in figure
