"""The analysis page in real Chromium: a brush on the parallel coordinates filters the runs table
(and the scatter), the brush lives in the URL, the scatter has a log axis."""
import pytest

from web_browser import browser, page  # noqa: F401 (fixtures)
from web_seed import RunSeeder

RATES = [0.0005, 0.001, 0.003, 0.01, 0.03, 0.1]


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    seeder = RunSeeder(shared_dfa_service.url, "webanalysis")
    for index, rate in enumerate(RATES):
        seeder.run(f"lr-{index}", {"optimizer_name": "sgd", "learning_rate": rate, "batch_size": 32 * (1 + index % 2),
                                   "epochs": 3, "dropout": 0.5}, epochs=3)
    return shared_dfa_service


def linked_runs(p):
    return sorted(p.eval_on_selector_all("#brushed tbody tr[data-run]", "rows => rows.map(r => r.dataset.run)"))


def test_parallel_coordinates_brush_filters_the_table(page):
    p = page.goto("/analysis?dataflow=webanalysis")
    p.wait_for_function("document.querySelectorAll('#brushed tbody tr[data-run]').length === 6")
    assert "metric=m%3Aval_accuracy" in p.url and "x=hp%3Alearning_rate" in p.url
    # The scatter's x axis is logarithmic for rates spanning decades.
    assert p.evaluate("echarts.getInstanceByDom(document.getElementById('scatter')).getOption().xAxis[0].type") == "log"
    axes = p.evaluate("""() => echarts.getInstanceByDom(document.getElementById('parallel')).getOption()
                               .parallelAxis.map(a => a.id)""")
    assert axes == ["hp:learning_rate", "hp:batch_size", "m:val_accuracy"]
    # Brush the learning-rate axis with the mouse, from its top (0.1) down to about 0.02.
    box = p.locator("#parallel").bounding_box()
    chart_top, chart_bottom = box["y"] + 40, box["y"] + box["height"] - 30
    axis_x = box["x"] + 60
    p.mouse.move(axis_x, chart_top - 4)
    p.mouse.down()
    p.mouse.move(axis_x, chart_top + (chart_bottom - chart_top) * 0.85, steps=8)
    p.mouse.up()
    p.wait_for_url("**brush=hp%3Alearning_rate**")
    low = float(p.url.split("brush=hp%3Alearning_rate%3A")[1].split("%3A")[0])
    expected = sorted(f"lr-{i}" for i, rate in enumerate(RATES) if rate >= low)
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(expected)}")
    brushed = linked_runs(p)
    assert brushed == expected
    assert 0 < len(brushed) < 6
    inside = p.evaluate("echarts.getInstanceByDom(document.getElementById('scatter')).getOption().series[0].data.length")
    assert inside == len(brushed)
    page.screenshot("analysis.png")
    # The brush is state in the URL: a reload shows the same runs.
    p.reload()
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(brushed)}")
    assert linked_runs(p) == brushed
    assert page.problems == []
