"""The SQL console in real Chromium: runs a query, shows the result, saves and reopens it, and
shows the read-only guard's refusal as its message."""
import pytest
import requests

import path_dataflow
from web_browser import browser, page  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    path_dataflow.seed(shared_dfa_service.url)
    return shared_dfa_service


def type_and_run(page, sql):
    page.page.evaluate("sql => document.querySelector('.CodeMirror').CodeMirror.setValue(sql)", sql)
    page.page.click(".CodeMirror")
    page.page.keyboard.press("Control+Enter")


def result(page):
    return page.page.eval_on_selector_all("#result tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def test_console_runs_saves_reopens_and_refuses(page, service):
    page.goto(f"/query?dataflow={path_dataflow.TAG}")
    page.page.wait_for_selector("body[data-ready]")
    # The schema browser lists the dataflow's tables; a click inserts the quoted name.
    page.page.click("#schema-browser summary .name[data-insert='\"paths\".\"otrain\"']")
    assert '"paths"."otrain"' in page.page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")

    # Completion offers the dataflow's tables and their columns.
    page.page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setValue('SELECT * FROM paths.otr')")
    page.page.click(".CodeMirror")
    page.page.keyboard.press("End")
    page.page.keyboard.press("Control+Space")
    assert "paths.otrain" in page.page.text_content(".CodeMirror-hints")
    page.page.keyboard.press("Escape")

    sql = "SELECT dataset, epoch, loss FROM paths.otrain ORDER BY dataset, epoch"
    type_and_run(page, sql)
    page.page.wait_for_selector("#result-meta[data-rows='7']")
    expected = service.query(sql)
    assert [[c for c in row] for row in result(page)] == [[d, f"{e:g}", f"{l:.3g}"] for d, e, l in expected]
    assert page.page.eval_on_selector_all("#result thead th", "cells => cells.map(c => c.textContent)") == \
        ["dataset", "epoch", "loss"]
    assert "sql=SELECT" in page.page.url  # the SQL is in the URL
    assert page.page.is_visible("#chart canvas")  # epoch and loss, two numeric columns
    with page.page.expect_download() as download:
        page.page.click("#export-csv")
    assert open(download.value.path()).read().splitlines()[:2] == ["dataset,epoch,loss", "digits,0,1"]

    page.page.fill("#save-name", "losses of every run")
    page.page.click("#save")
    page.page.wait_for_selector("#saved a:text('losses of every run')")
    assert [q["sql"] for q in requests.get(service.url + "/api/v1/saved-queries", timeout=30).json()["saved"]] == [sql]

    # Reopened from a fresh page, the saved query runs again.
    page.goto("/query")
    page.page.wait_for_selector("body[data-ready]")
    page.page.click("#saved a:text('losses of every run')")
    page.page.wait_for_selector("#result-meta[data-rows='7']")
    assert page.page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()") == sql

    refusal = requests.post(service.url + "/api/v1/query", json={"sql": "DROP TABLE task"}, timeout=30).json()["detail"]
    type_and_run(page, "DROP TABLE task")
    page.page.wait_for_selector("#query-error:not(.hidden)")
    assert refusal in page.page.text_content("#query-error")
    assert result(page) == []
    assert service.query("SELECT COUNT(*) FROM task")[0][0] > 0

    page.page.click("#saved button[data-delete]")
    page.page.wait_for_selector("#saved li.muted")
    assert requests.get(service.url + "/api/v1/saved-queries", timeout=30).json()["saved"] == []
    page.screenshot("query-console.png")
    # Chromium logs the refused request's HTTP 400 itself; nothing else may have gone wrong.
    assert [p for p in page.problems if "status of 400 (Bad Request)" not in p] == []
    assert len(page.problems) == 1
