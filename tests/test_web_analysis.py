"""The analysis page in real Chromium: a brush on the parallel coordinates filters the runs table
(and the scatter), the brush lives in the URL, the scatter has a log axis; a text hyperparameter
has a category axis whose brush filters the table the same way."""
import pytest
import requests

from web_browser import browser, page  # noqa: F401 (fixtures)
from web_seed import RunSeeder

RATES = [0.0005, 0.001, 0.003, 0.01, 0.03, 0.1]
OPTIMIZERS = ["adam", "sgd", "rmsprop", "adam", "sgd", "adam", "rmsprop"]


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    seeder = RunSeeder(shared_dfa_service.url, "webanalysis")
    for index, rate in enumerate(RATES):
        seeder.run(f"lr-{index}", {"optimizer_name": "sgd", "learning_rate": rate, "batch_size": 32 * (1 + index % 2),
                                   "epochs": 3, "dropout": 0.5}, epochs=3)
    seeder = RunSeeder(shared_dfa_service.url, "webcategories")
    for index, optimizer in enumerate(OPTIMIZERS):
        seeder.run(f"opt-{index}", {"optimizer_name": optimizer, "learning_rate": 0.001 * (1 + index),
                                    "batch_size": 32 * (1 + index % 2), "epochs": 3, "dropout": 0.5}, epochs=3,
                   seed=index / 7)
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
    # The brush is state in the URL: a reload shows the same runs.
    p.reload()
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(brushed)}")
    assert linked_runs(p) == brushed
    assert page.problems == []


def brush_axis(p, axis_x, top_fraction, bottom_fraction):
    """Drags along the parallel axis at `axis_x`, between fractions of the axes' height from their top."""
    box = p.locator("#parallel").bounding_box()
    chart_top, chart_bottom = box["y"] + 40, box["y"] + box["height"] - 30
    p.mouse.move(box["x"] + axis_x, chart_top + (chart_bottom - chart_top) * top_fraction - 4)
    p.mouse.down()
    p.mouse.move(box["x"] + axis_x, chart_top + (chart_bottom - chart_top) * bottom_fraction, steps=8)
    p.mouse.up()


def test_a_text_hyperparameter_has_a_category_axis_whose_brush_filters_the_table(page, service):
    p = page.goto("/analysis?dataflow=webcategories")
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(OPTIMIZERS)}")
    axes = p.evaluate("""() => echarts.getInstanceByDom(document.getElementById('parallel')).getOption()
                               .parallelAxis.map(a => [a.id, a.type, a.data || null])""")
    assert axes[0] == ["hp:optimizer_name", "category", ["adam", "rmsprop", "sgd"]]
    assert [axis[1] for axis in axes[1:]] == ["value", "value", "value"]
    # Brush the top third of the optimizer axis (the first one, at the parallel's left edge): one value.
    brush_axis(p, 60, 0, 0.3)
    p.wait_for_url("**in=hp%3Aoptimizer_name%3D**")
    picked = [v.split("%3D", 1)[1] for v in p.url.split("&") if v.startswith("in=hp%3Aoptimizer_name%3D")]
    assert len(picked) == 1 and picked[0] in OPTIMIZERS
    expected = sorted(f"opt-{i}" for i, optimizer in enumerate(OPTIMIZERS) if optimizer == picked[0])
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(expected)}")
    assert linked_runs(p) == expected
    inside = p.evaluate("echarts.getInstanceByDom(document.getElementById('scatter')).getOption().series[0].data.length")
    assert inside == len(expected)
    assert f"in=hp%3Aoptimizer_name%3D{picked[0]}" in p.get_attribute("#open-runs", "href")
    page.screenshot("analysis.png")
    # A new brush from the bottom up to 40 % of the height covers two values; the table follows.
    p.click("#clear-brush")
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(OPTIMIZERS)}")
    brush_axis(p, 60, 1.03, 0.4)
    p.wait_for_function("new URLSearchParams(location.search).getAll('in').length === 2")
    picked = sorted(v.split("=", 1)[1] for v in p.evaluate("new URLSearchParams(location.search).getAll('in')"))
    expected = sorted(f"opt-{i}" for i, optimizer in enumerate(OPTIMIZERS) if optimizer in picked)
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(expected)}")
    assert linked_runs(p) == expected
    # The choice is state in the URL: a reload shows the same runs and the same brushed values.
    p.reload()
    p.wait_for_function(f"document.querySelectorAll('#brushed tbody tr[data-run]').length === {len(expected)}")
    assert linked_runs(p) == expected
    # "open in Runs" carries the choice to the runs page, which shows it as a chip and filters alike.
    p.click("#open-runs")
    p.wait_for_function(f"document.querySelectorAll('#runs tbody tr[data-run]').length === {len(expected)}")
    assert sorted(p.eval_on_selector_all("#runs tbody tr[data-run]", "rows => rows.map(r => r.dataset.run)")) == expected
    assert all(value in p.text_content("#ranges") for value in picked)
    p.click("#ranges [data-remove-choice='0']")
    p.wait_for_function("new URLSearchParams(location.search).getAll('in').length === 1")
    remaining = p.evaluate("new URLSearchParams(location.search).get('in')").split("=", 1)[1]
    expected = sorted(f"opt-{i}" for i, optimizer in enumerate(OPTIMIZERS) if optimizer == remaining)
    p.wait_for_function(f"document.querySelectorAll('#runs tbody tr[data-run]').length === {len(expected)}")
    assert sorted(p.eval_on_selector_all("#runs tbody tr[data-run]", "rows => rows.map(r => r.dataset.run)")) == expected
    assert page.problems == []


def test_the_runs_table_api_filters_on_chosen_values(service):
    url = service.url + "/api/v1/runs/table"
    answer = requests.get(url, params={"dataflow": "webcategories", "cols": "execution",
                                       "in": ["hp:optimizer_name=sgd", "hp:optimizer_name=rmsprop"]}, timeout=30)
    assert answer.ok, answer.text
    assert sorted(r["execution"] for r in answer.json()["rows"]) == \
        sorted(f"opt-{i}" for i, optimizer in enumerate(OPTIMIZERS) if optimizer in ("sgd", "rmsprop"))
    for wrong, said in [("hp:optimizer_name", "KEY=VALUE"), ("hp:nothing=adam", "unknown")]:
        answer = requests.get(url, params={"dataflow": "webcategories", "in": wrong}, timeout=30)
        assert answer.status_code in (400, 422) and said in answer.text, answer.text
