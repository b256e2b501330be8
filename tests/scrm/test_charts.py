from django.template.loader import render_to_string

from scrm import charts


def test_bar_heights_are_proportional_to_values():
    chart = charts.bar_chart([("a", 10), ("b", 5), ("c", 0)])
    a, b, c = chart.bars
    assert a.height == 2 * b.height
    assert c.height == 0
    assert a.y + a.height == b.y + b.height  # same baseline


def test_axis_maximum_is_rounded_up_to_a_nice_number():
    assert charts._nice_ceiling(7) == 10
    assert charts._nice_ceiling(130) == 200
    assert charts._nice_ceiling(0) == 0


def test_chart_labels_from_customers_are_escaped():
    chart = charts.bar_chart([("<script>alert(1)</script>", 3)])
    html = render_to_string("partials/chart_bar.html", {"chart": chart, "title": "<b>t</b>"})
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>t</b>" not in html


def test_empty_data_renders_a_no_data_note():
    html = render_to_string("partials/chart_line.html", {"chart": charts.line_chart([]), "title": "x"})
    assert "No data yet." in html
