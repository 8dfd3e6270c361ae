"""Read-only SQL through the service and the CLI, while data arrives."""
import subprocess
import sys

import requests

from test_service_ingestion import SPEC, post, task


def run_query(service, sql, **params):
    return requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": 10}, params=params, timeout=30)


def test_the_guard_refuses_anything_that_writes(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    for sql in ["DROP TABLE task", "INSERT INTO task (id) VALUES (1)", "DELETE FROM dataflow",
                "UPDATE task SET status = 'x'", "CREATE TABLE x (a INT)", "SELECT 1; DROP TABLE task",
                "WITH x AS (SELECT 1) DELETE FROM task", "ALTER TABLE task ADD COLUMN x INT", ""]:
        response = run_query(shared_dfa_service, sql)
        # An empty statement is refused by the documented schema (sql: at least one character).
        assert response.status_code == (422 if sql == "" else 400), sql
    assert shared_dfa_service.query("SELECT COUNT(*) FROM dataflow WHERE tag = 'mnist'") == [[1]]
    # Keywords inside strings and comments are not mistaken for statements.
    assert run_query(shared_dfa_service, "SELECT 'DROP TABLE task' AS text -- delete").json()["rows"] == [["DROP TABLE task"]]


def test_a_bad_query_gets_monetdb_message(shared_dfa_service):
    response = run_query(shared_dfa_service, "SELECT nothing FROM nowhere")
    assert response.status_code == 400 and "nowhere" in response.json()["detail"]


def test_limit_truncates_and_csv_is_offered(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    post(shared_dfa_service, "/pde/task/json", task("q", "TrainingModel", "RUNNING",
                                                    [("oTrainingModel", [[e, 0.5, None] for e in range(20)])], exec_tag="q"))
    result = run_query(shared_dfa_service, "SELECT epoch FROM mnist.otrainingmodel ORDER BY epoch").json()
    assert len(result["rows"]) == 10 and result["truncated"] is True
    csv_text = run_query(shared_dfa_service, "SELECT epoch, val_sparse_categorical_accuracy FROM mnist.otrainingmodel "
                                             "ORDER BY epoch", format="csv").text
    assert csv_text.splitlines()[:3] == ["epoch,val_sparse_categorical_accuracy", "0.0,", "1.0,"]


def test_the_cli_prints_an_aligned_table(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    output = subprocess.run(
        [sys.executable, "-m", "dfanalyzer", "query", "--url", shared_dfa_service.url,
         "SELECT tag, schema_name FROM dataflow WHERE tag = 'mnist'"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    assert output[0].split("|")[0].strip() == "tag"
    assert output[1].startswith("------")
    assert [cell.strip() for cell in output[2].split("|")] == ["mnist", "mnist"]
    refused = subprocess.run([sys.executable, "-m", "dfanalyzer", "query", "--url", shared_dfa_service.url,
                              "DELETE FROM task"], capture_output=True, text=True)
    assert refused.returncode == 1 and "only SELECT and WITH" in refused.stderr
