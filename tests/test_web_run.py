"""The run page in real Chromium: one point per epoch, details, errors, downsampled long runs with
zoom detail, and a real Keras training appearing live while the page is open."""
import os
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from web_browser import WatchedPage, browser, page  # noqa: F401 (fixtures)
from web_seed import RunSeeder

HYPERPARAMETERS = {"optimizer_name": "sgd", "learning_rate": 0.01, "batch_size": 32, "epochs": 7, "dropout": 0.2}


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    seeder = RunSeeder(shared_dfa_service.url, "webrun")
    seeder.run("seven", HYPERPARAMETERS, epochs=7, adaptations=[(5, 0.01, 0.001, "ReduceLROnPlateau")])
    seeder.run("broken", HYPERPARAMETERS, epochs=2, status="FAILED")
    seeder.run("interrupted", HYPERPARAMETERS, epochs=2, status="ABORTED")
    seeder.run("long", HYPERPARAMETERS, epochs=3000, test=False)
    return shared_dfa_service


# The charts are drawn one after another (each painted before the next): only drawn ones count.
POINTS_JS = """() => [...document.querySelectorAll('#charts .chart')].filter(el => echarts.getInstanceByDom(el)).map(el => {
  const option = echarts.getInstanceByDom(el).getOption();
  return Object.fromEntries(option.series.map(s => [s.name, s.data.length]));
})"""


CHARTS_DRAWN = """[...document.querySelectorAll('#charts .chart')].filter(el => echarts.getInstanceByDom(el)).length >= 3"""


def chart_points(p):
    """{metric: points drawn} over every chart of the page."""
    points = {}
    for chart in p.evaluate(POINTS_JS):
        points.update(chart)
    return points


def test_run_page_draws_one_point_per_epoch_with_its_details(page):
    p = page.goto("/runs/seven?dataflow=webrun")
    p.wait_for_function(CHARTS_DRAWN)
    points = chart_points(p)
    assert set(points) == {"loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"}
    assert set(points.values()) == {7}
    assert p.locator("#epochs tbody tr").count() == 7
    assert p.locator("#epochs thead th").first.text_content() == "epoch"
    assert p.text_content("#run-status") == "FINISHED"
    assert "ReduceLROnPlateau" in p.text_content("#adaptations")
    hyperparameters = p.text_content("#hyperparameters")
    assert "learning_rate" in hyperparameters and "0.01" in hyperparameters
    assert "accuracy" in p.text_content("#test")
    assert sorted(p.eval_on_selector_all("#prov a", "links => links.map(a => a.textContent)")) == \
        ["json", "jsonld", "provn", "ttl", "xml"]
    assert "test-host" in p.text_content("#agents")
    page.screenshot("run.png")
    assert page.problems == []


def test_failed_run_shows_its_error(page):
    p = page.goto("/runs/broken?dataflow=webrun")
    p.wait_for_selector("#run-errors .error")
    assert "loss became NaN" in p.text_content("#run-errors")
    assert p.text_content("#run-status") == "FAILED"
    # A run its user interrupted (Ctrl-C) is said in grey, not as a failure.
    p = page.goto("/runs/interrupted?dataflow=webrun")
    p.wait_for_selector("#run-aborted")
    assert "interrupted by its user" in p.text_content("#run-aborted") and "KeyboardInterrupt" in p.text_content("#run-aborted")
    assert p.text_content("#run-status") == "ABORTED" and p.query_selector("#run-errors .error") is None


def test_long_run_is_downsampled_the_same_way_and_zoom_fetches_detail(page, service):
    url = service.url + "/api/v1/executions/long/series?dataflow=webrun&points=500"
    first, second = (requests.get(url, timeout=30).json() for _ in range(2))
    assert first["downsampled"] and first["total"] == 3000
    assert 2 < len(first["series"]["loss"]) <= 500
    assert first["series"] == second["series"]
    detail = requests.get(url + "&start=1000&end=1100", timeout=30).json()
    assert [x for x, _ in detail["series"]["loss"]] == list(range(1000, 1101))

    p = page.goto("/runs/long?dataflow=webrun")
    p.wait_for_function(CHARTS_DRAWN)
    assert 2 < chart_points(p)["loss"] <= 1000
    p.evaluate("""() => echarts.getInstanceByDom(document.querySelector('#charts .chart'))
                     .dispatchAction({type: 'dataZoom', startValue: 1000, endValue: 1100})""")
    p.wait_for_url("**zoom=1000%3A1100**")
    p.wait_for_function(f"({POINTS_JS})()[0].loss === 101")
    # The zoom is in the URL: a reload draws the same detail.
    p.reload()
    p.wait_for_function(f"document.querySelector('#charts .chart') && ({POINTS_JS})()[0].loss === 101")
    assert page.problems == []


TRAINING = textwrap.dedent("""
    import time
    import numpy as np
    import keras_prov as keras

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.8)

    rng = np.random.default_rng(1)
    x, y = rng.random((64, 8)).astype("float32"), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.provenance(dataflow_tag="weblive", exec_tag="live-run")
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=14, batch_size=32, validation_split=0.25, verbose=0, callbacks=[Slow()])
    keras.flush(60)
""")


def test_training_started_while_its_page_is_open_appears_live(page, service, tmp_path):
    environment = dict(os.environ, DFA_URL=service.url, DFA_SPOOL_DIR=str(tmp_path / "spool"),
                       TF_CPP_MIN_LOG_LEVEL="2")
    p = page.goto("/runs/live-run?dataflow=weblive")   # not stored yet: the page waits for it
    training = subprocess.Popen([sys.executable, "-c", TRAINING], env=environment,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        p.wait_for_function("document.querySelector('#run-status').textContent === 'RUNNING'", timeout=120_000)
        # Until the run was stored, the page's requests for it were answered 404 (and retried).
        assert all("404" in problem for problem in page.problems), page.problems
        page.problems.clear()
        p.evaluate("window.stillTheSamePage = true")
        p.wait_for_function(f"document.querySelector('#charts .chart') && ({POINTS_JS})().some(c => c.loss >= 4)",
                            timeout=120_000)
        seen = chart_points(p)["loss"]
        first_chart = "echarts.getInstanceByDom(document.querySelector('#charts .chart'))"
        p.evaluate(f"{first_chart}.dispatchAction({{type: 'dataZoom', startValue: 1, endValue: 3}})")
        # Later epochs join the chart and the table without a reload, and the zoom stays.
        p.wait_for_function(f"({POINTS_JS})().some(c => c.loss > {seen})", timeout=60_000)
        assert p.evaluate("window.stillTheSamePage") is True
        zoom = p.evaluate(f"{first_chart}.getOption().dataZoom[0]")
        assert (zoom["startValue"], zoom["endValue"]) == (1, 3)
        p.wait_for_function("document.querySelector('#run-status').textContent === 'FINISHED'", timeout=120_000)
        assert training.wait(120) == 0, training.stdout.read().decode()
    finally:
        if training.poll() is None:
            training.kill()
            training.wait()
    p.wait_for_function(f"({POINTS_JS})().some(c => c.loss === 14)", timeout=30_000)
    # The table is drawn after the charts: its 14th row may come a moment later.
    p.wait_for_function("document.querySelectorAll('#epochs tbody tr').length === 14", timeout=30_000)
    assert page.problems == []
    # The trained model (stored as the program ended) is listed with its digest and a download.
    p.reload()
    p.wait_for_selector("#models a[download]")
    assert len(p.text_content("#models code").split()[-1]) == 64
    download = requests.get(service.url + p.get_attribute("#models a[download]", "href"), timeout=30)
    assert download.ok and len(download.content) > 1000


def test_service_down_is_said_in_the_page_and_cleared_when_it_is_back(browser, dfa_service):
    RunSeeder(dfa_service.url, "webdown").run("open", HYPERPARAMETERS, epochs=3, status="RUNNING")
    page = WatchedPage(browser, dfa_service.url)
    try:
        p = page.goto("/runs/open?dataflow=webdown")
        p.wait_for_function("document.querySelector('#run-status').textContent === 'RUNNING'")
        dfa_service.kill()
        p.wait_for_selector("#errors .error", timeout=30_000)
        assert "not answering" in p.text_content("#errors") and "dfanalyzer start" in p.text_content("#errors")
        dfa_service.start()
        try:
            p.wait_for_function("document.querySelectorAll('#errors .error').length === 0", timeout=60_000)
        except Exception as error:
            raise AssertionError("errors still shown: " + p.inner_html("#errors")) from error
    finally:
        page.close()
