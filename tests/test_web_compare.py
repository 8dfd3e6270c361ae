"""The comparison page in real Chromium: exactly the differing hyperparameters, layers and
adaptations by default, everything on demand, one curve per run with a hover showing every run."""
import pytest

from web_browser import browser, page  # noqa: F401 (fixtures)
from web_seed import RunSeeder

BASE = {"optimizer_name": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 6, "dropout": 0.5}
RUNS = {
    "base": (BASE, (), (("dense", "Dense", 64), ("output", "Dense", 10))),
    "faster": ({**BASE, "learning_rate": 0.05}, (), (("dense", "Dense", 64), ("output", "Dense", 10))),
    "bigger": ({**BASE, "batch_size": 128}, [(4, 0.01, 0.001, "ReduceLROnPlateau")],
               (("dense", "Dense", 256), ("output", "Dense", 10))),
}


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    seeder = RunSeeder(shared_dfa_service.url, "webcompare")
    for tag, (hyperparameters, adaptations, layers) in RUNS.items():
        seeder.run(tag, hyperparameters, epochs=6, adaptations=adaptations, layers=layers)
    return shared_dfa_service


def shown_rows(p, group):
    return p.eval_on_selector_all(f"#comparison tr[data-group='{group}']", "rows => rows.map(r => r.dataset.name)")


def test_compare_shows_exactly_the_differences_then_everything(page):
    p = page.goto("/compare?runs=base,faster,bigger&dataflow=webcompare")
    p.wait_for_selector("#comparison tbody tr")
    assert shown_rows(p, "hyperparameter") == ["learning_rate", "batch_size"]
    assert shown_rows(p, "layer") == ["layer 0"]
    assert shown_rows(p, "adaptation") == ["learning-rate adaptations"]
    bigger_layer = p.text_content("#comparison tr[data-name='layer 0'] td:last-child")
    assert "units=256" in bigger_layer
    p.wait_for_function("document.querySelectorAll('#charts .chart').length === 5")
    page.screenshot("compare.png")
    p.uncheck("#diff")
    p.wait_for_url("**all=1**")
    assert shown_rows(p, "hyperparameter") == ["optimizer_name", "learning_rate", "batch_size", "epochs", "dropout"]
    p.reload()
    p.wait_for_selector("#comparison tbody tr")
    assert len(shown_rows(p, "hyperparameter")) == 5
    assert page.problems == []


def test_curves_overlay_every_run_and_hover_shows_each(page):
    p = page.goto("/compare?runs=base,faster,bigger&dataflow=webcompare")
    p.wait_for_function("document.querySelectorAll('#charts .chart').length === 5")
    chart = p.locator("#charts .chart[data-metric='loss']")
    series = p.evaluate("""() => echarts.getInstanceByDom(document.querySelector("#charts .chart[data-metric='loss']"))
                             .getOption().series.map(s => [s.name, s.data.length])""")
    assert series == [["base", 6], ["faster", 6], ["bigger", 6]]
    box = chart.bounding_box()
    p.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5)
    # ECharts draws its tooltip as HTML inside the chart's element: one line per run.
    p.wait_for_function("""() => ['base', 'faster', 'bigger'].every(run =>
        document.querySelector("#charts .chart[data-metric='loss']").innerText.includes(run))""")
    assert page.problems == []


def test_compare_of_an_unknown_run_says_so_in_the_page(page):
    p = page.goto("/compare?runs=base,nope&dataflow=webcompare")
    p.wait_for_selector("#errors .error")
    assert "nope" in p.text_content("#errors") and "unknown" in p.text_content("#errors")
