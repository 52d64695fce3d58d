"""The server-drawn SVG charts: steps where values change, gaps where a model was not listed,
change dates on the time axis, points that link to their models."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from datasette_plugins.charts import Line, Panel, Point, scatter, step_chart
from datasette_plugins.render import price, tokens

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def wide(markup: str) -> str:
    return str(markup).split('class="vexy-wide"', 1)[1].split('class="vexy-narrow"', 1)[0]


def test_a_step_line_holds_each_value_until_it_changes_and_leaves_gaps():
    line = Line(
        "in",
        "input_price",
        [
            ("2026-01-01T00:00:00.000Z", 1.0),
            ("2026-02-01T00:00:00.000Z", 2.0),
            ("2026-03-01T00:00:00.000Z", None),  # removed: not listed for a month
            ("2026-04-01T00:00:00.000Z", 2.0),
        ],
    )
    svg = wide(step_chart([Panel("Price", [line], price)], now=NOW))
    group = re.search(r'<g class="vexy-series" data-fact="input_price" data-label="in" data-steps="3">(.*?)</g>', svg)
    assert group, svg
    path = re.search(r'<path d="([^"]+)"', group.group(1)).group(1)
    # Two runs: January to March (a step up in February), then April to now.
    assert path.count("M") == 2 and path.count("V") == 1
    dots = re.findall(r'data-at="([^"]+)" data-value="([^"]+)"', group.group(1))
    assert [(at[:10], float(v)) for at, v in dots] == [("2026-01-01", 1.0), ("2026-02-01", 2.0), ("2026-04-01", 2.0)]
    # Change dates are on the axis; the line ends at "now" with its value.
    for day in ("2026-02-01", "2026-03-01", "2026-04-01", "2026-06-01"):
        assert f">{day}</text>" in svg
    assert ">in $2.00</text>" in svg


def test_each_panel_has_its_own_scale_and_an_unknown_panel_says_so():
    limits = Panel("Limits", [Line("context", "context_window", [("2026-05-01T00:00:00.000Z", 131072)])], tokens)
    empty = Panel("Price", [Line("in", "input_price", [("2026-05-01T00:00:00.000Z", None)])], price)
    svg = wide(step_chart([limits, empty], now=NOW))
    first, second = svg.split("</svg>")[:2]
    assert ">context 131k</text>" in first and ">150k</text>" in first
    assert "not known" in second and 'data-steps="0"' in second
    # A model first seen today still gets a day-wide axis, not a dot.
    today = step_chart([limits], now=datetime(2026, 5, 1, 0, 0, 5, tzinfo=timezone.utc))
    assert ">2026-04-30</text>" in wide(today)


def test_a_phone_gets_its_own_narrower_drawing_of_the_same_lines():
    line = Line("in", "input_price", [("2026-01-01T00:00:00.000Z", 1.0), ("2026-03-01T00:00:00.000Z", 0.5)])
    markup = str(step_chart([Panel("Price", [line], price)], now=NOW))
    narrow = markup.split('class="vexy-narrow"', 1)[1]
    assert 'viewBox="0 0 400 170"' in narrow and 'viewBox="0 0 760 170"' in wide(markup)
    assert 'data-steps="2"' in narrow and 'data-steps="2"' in wide(markup)


def test_scatter_points_link_to_their_models_and_free_models_get_their_own_row():
    points = [
        Point(131072, 0.59, "groq llama", "/vexy/models/groq,llama", "groq"),
        Point(8192, 0.0, "free model", "/vexy/models/x,free", "x"),
        Point(2_000_000, 10.0, "big", "/vexy/models/y,big", "y"),
    ]
    markup = str(scatter(points, "context", "price", tokens, price))
    assert re.findall(r'<a href="([^"]+)"><circle', markup) == [p.href for p in points]
    assert ">free</text>" in markup and 'data-points="3"' in markup
    free_y = float(re.search(r'href="/vexy/models/x,free"><circle[^>]* cy="([\d.]+)"', markup).group(1))
    paid_y = [float(y) for y in re.findall(r'<circle[^>]* cy="([\d.]+)"', markup)]
    assert free_y == max(paid_y)  # below every priced point
    assert '<ul class="vexy-legend">' in markup and ">groq</li>" in markup
