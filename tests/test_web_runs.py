"""The runs page in real Chromium: stored runs with their hyperparameters and metrics, sort,
filters, differences only, selection, CSV, dark mode, keyboard."""
import pytest
import requests

from web_browser import browser, page  # noqa: F401 (fixtures)
from web_seed import RunSeeder, curve

RUNS = {
    "slow-run": {"optimizer_name": "sgd", "learning_rate": 0.001, "batch_size": 32, "epochs": 4, "dropout": 0.5},
    "mid-run": {"optimizer_name": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 4, "dropout": 0.5},
    "fast-run": {"optimizer_name": "adam", "learning_rate": 0.1, "batch_size": 64, "epochs": 4, "dropout": 0.5},
}


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    seeder = RunSeeder(shared_dfa_service.url, "webruns")
    for tag, hyperparameters in RUNS.items():
        seeder.run(tag, hyperparameters, epochs=4)
    return shared_dfa_service


def table_rows(page):
    page.page.wait_for_selector("#runs tbody tr[data-run]")
    return page.page.eval_on_selector_all(
        "#runs tbody tr[data-run]",
        "rows => rows.map(r => Object.fromEntries([...r.querySelectorAll('td[data-key]')].map(td => [td.dataset.key, td.textContent])))")


def test_runs_page_lists_stored_runs_with_hyperparameters_and_metrics(page):
    page.goto("/?dataflow=webruns")
    rows = {row["execution"]: row for row in table_rows(page)}
    assert set(rows) == set(RUNS)
    for tag, hyperparameters in RUNS.items():
        assert rows[tag]["hp:optimizer_name"] == hyperparameters["optimizer_name"]
        assert float(rows[tag]["hp:learning_rate"]) == hyperparameters["learning_rate"]
        assert rows[tag]["status"] == "FINISHED"
        assert rows[tag]["epochs"] == "4"
        expected_loss = curve(4, hyperparameters["learning_rate"])["loss"]
        assert float(rows[tag]["m:loss"]) == pytest.approx(expected_loss, rel=1e-3)
    # Newest first.
    assert [row["execution"] for row in table_rows(page)] == ["fast-run", "mid-run", "slow-run"]
    page.screenshot("runs.png")
    assert page.problems == []


def test_sort_filter_and_differences_only_live_in_the_url(page):
    p = page.goto("/?dataflow=webruns")
    table_rows(page)
    p.click("th[data-sort='hp:learning_rate']")
    p.wait_for_url("**sort=hp%3Alearning_rate**")
    p.wait_for_function("document.querySelector('#runs tbody tr').dataset.run === 'fast-run'")
    p.click("th[data-sort='hp:learning_rate']")
    p.wait_for_function("document.querySelector('#runs tbody tr').dataset.run === 'slow-run'")
    p.keyboard.press("/")
    p.keyboard.type("adam")
    p.wait_for_function("document.querySelectorAll('#runs tbody tr[data-run]').length === 2")
    assert "q=adam" in p.url
    assert p.locator("th[data-sort='hp:optimizer_name']").count() == 1
    p.check("#diff")
    p.wait_for_url("**diff=1**")
    p.wait_for_function("!document.querySelector(\"th[data-sort='hp:optimizer_name']\")")
    headers = p.eval_on_selector_all("#runs th[data-sort]", "ths => ths.map(th => th.dataset.sort)")
    # Between the two adam runs only the learning rate, the batch size and the metrics differ.
    assert [key for key in headers if key.startswith("hp:")] == ["hp:learning_rate", "hp:batch_size"]
    # A reload of the URL shows the same.
    p.reload()
    p.wait_for_function("document.querySelectorAll('#runs tbody tr[data-run]').length === 2")
    assert p.input_value("#filter") == "adam"
    assert page.problems == []


def test_numeric_range_selection_compare_key_and_csv(page, service):
    p = page.goto("/?dataflow=webruns&range=hp:learning_rate:0.005:1")
    p.wait_for_function("document.querySelectorAll('#runs tbody tr[data-run]').length === 2")
    p.check("tr[data-run='fast-run'] [data-select]")
    p.check("tr[data-run='mid-run'] [data-select]")
    with p.expect_download() as download:
        p.click("#csv")
    lines = open(download.value.path()).read().strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("run,status")
    p.keyboard.press("c")
    p.wait_for_url("**/compare?runs=**")
    assert set(p.url.split("runs=")[1].split("&")[0].split("%2C" if "%2C" in p.url else ",")) == {"fast-run", "mid-run"}
    csv = requests.get(service.url + "/api/v1/runs/table?dataflow=webruns&format=csv", timeout=30).text
    assert csv.count("\n") == 4


def test_dark_mode_is_remembered(page):
    p = page.goto("/?dataflow=webruns")
    table_rows(page)
    theme = p.evaluate("document.documentElement.dataset.theme")
    p.click("#theme-toggle")
    other = "dark" if theme == "light" else "light"
    assert p.evaluate("document.documentElement.dataset.theme") == other
    p.reload()
    table_rows(page)
    assert p.evaluate("document.documentElement.dataset.theme") == other
    background = p.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(20, 23, 28)" if other == "dark" else "rgb(246, 247, 249)")
    if other == "dark":
        page.screenshot("runs-dark.png")
    assert page.problems == []


def test_metrics_switch_between_last_best_and_an_epoch(service):
    def loss_of(**params):
        answer = requests.get(service.url + "/api/v1/runs/table", params={"dataflow": "webruns", **params}, timeout=30)
        assert answer.ok, answer.text
        body = answer.json()
        return {row["execution"]: row["m:loss"] for row in body["rows"]}, body

    rate = RUNS["mid-run"]["learning_rate"]
    last, _ = loss_of()
    best, _ = loss_of(mode="best")
    second, body = loss_of(mode="epoch", epoch=2)
    assert last["mid-run"] == pytest.approx(curve(4, rate)["loss"])
    assert best["mid-run"] == pytest.approx(curve(4, rate)["loss"])   # the loss only falls: best is the last
    assert second["mid-run"] == pytest.approx(curve(2, rate)["loss"])
    assert [c["label"] for c in body["columns"] if c["key"] == "m:loss"] == ["loss @2"]
    refused = requests.get(service.url + "/api/v1/runs/table", params={"dataflow": "webruns", "mode": "epoch"},
                           timeout=30)
    assert refused.status_code == 422 and "epoch=K" in refused.text


def test_a_running_run_updates_in_the_table_without_a_reload(page, service):
    seeder = RunSeeder(service.url, "webrunslive")
    hyperparameters = RUNS["mid-run"]
    training = seeder.run("still-training", hyperparameters, epochs=2, status="RUNNING")
    p = page.goto("/?dataflow=webrunslive")
    rows = table_rows(page)
    assert rows[0]["status"] == "RUNNING" and rows[0]["epochs"] == "2"
    p.evaluate("window.stillTheSamePage = true")
    seeder.add_epochs("still-training", training, hyperparameters, 3, 5)
    p.wait_for_function("document.querySelector(\"td[data-key='epochs']\").textContent === '5'", timeout=30_000)
    seeder.finish("still-training", training)
    p.wait_for_function("document.querySelector(\"td[data-key='status']\").textContent === 'FINISHED'",
                        timeout=30_000)
    assert p.evaluate("window.stillTheSamePage") is True
    assert page.problems == []
