"""User queries are bounded: in time, in result memory, in rows built, and in the readers they hold."""
import threading
import time

import pytest
import requests

from service_process import ServiceProcess

# Sixty steps of about 0.7 s each on a quiet machine (40 s in all, far past the 2 s limit): the
# engine checks its time limit between steps. With two-table steps (0.08 s) a quiet machine finished
# the whole query inside the limit.
SLOW_QUERY = "SELECT " + " + ".join(
    f"(SELECT COUNT(*) FROM sys.columns a, sys.columns b, sys.schemas c "
    f"WHERE LENGTH(a.name || b.name || c.name || '{n}') > 10)"
    for n in range(60))


@pytest.fixture(scope="module")
def limited_service(tmp_path_factory):
    import os

    previous = os.environ.get("DFA_QUERY_TIMEOUT")
    os.environ["DFA_QUERY_TIMEOUT"] = "2"
    try:
        service = ServiceProcess(tmp_path_factory.mktemp("limits") / "dfa-data").start()
    finally:
        if previous is None:
            os.environ.pop("DFA_QUERY_TIMEOUT")
        else:
            os.environ["DFA_QUERY_TIMEOUT"] = previous
    yield service
    service.stop()


def run_query(service, sql, limit=10):
    return requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": limit}, timeout=120)


def test_a_query_past_its_time_limit_is_stopped_with_a_400_and_its_reader_is_free_again(limited_service):
    response = run_query(limited_service, SLOW_QUERY)
    assert response.status_code == 400 and "--query-timeout" in response.json()["detail"]
    assert run_query(limited_service, "SELECT 1").json()["rows"] == [[1]]


def test_the_limit_is_applied_inside_the_engine(limited_service):
    # A cross join of 10^8+ rows: built in full it would take minutes and gigabytes.
    response = run_query(limited_service, "SELECT a.name, b.name FROM sys.columns a, sys.columns b, sys.columns c",
                         limit=5)
    assert response.status_code == 200 and len(response.json()["rows"]) == 5 and response.json()["truncated"]
    # Duplicate column names cannot go in a derived table; such a query still answers.
    same_names = run_query(limited_service, "SELECT a.id, b.id FROM sys.tables a, sys.tables b", limit=3).json()
    assert len(same_names["rows"]) == 3


def test_health_answers_while_slow_queries_hold_every_query_reader(limited_service):
    finished = []
    slow = [threading.Thread(target=lambda: finished.append(run_query(limited_service, SLOW_QUERY).status_code))
            for _ in range(6)]
    for thread in slow:
        thread.start()
    health = requests.get(limited_service.url + "/health", timeout=120)
    runs = requests.get(limited_service.url + "/api/v1/dataflows", timeout=120)
    health_answered_while_slow_ran = len(finished) < len(slow)
    for thread in slow:
        thread.join()
    assert health.ok and runs.ok
    assert health_answered_while_slow_ran
    assert sorted(set(finished)) == [400]


@pytest.fixture(scope="module")
def patient_service(tmp_path_factory):
    """A service whose queries may run for ten minutes: what stops them here is not the limit."""
    service = ServiceProcess(tmp_path_factory.mktemp("patient") / "dfa-data",
                             extra_args=["--query-timeout", "600"]).start()
    yield service
    service.stop()


def test_a_query_whose_client_left_is_stopped_and_frees_its_reader(patient_service):
    for _ in range(2):  # as many as the service has query readers
        with pytest.raises(requests.Timeout):
            requests.post(patient_service.url + "/api/v1/query", json={"sql": SLOW_QUERY}, timeout=2)
    # Had the two queries run on, this one would wait for them for minutes (past its own timeout).
    response = requests.post(patient_service.url + "/api/v1/query", json={"sql": "SELECT 3"}, timeout=45)
    assert response.json()["rows"] == [[3]]


def test_ingestion_is_acknowledged_while_a_slow_query_runs(patient_service):
    spec = {"tag": "patient", "transformations": [{"tag": "train", "sets": [
        {"tag": "otrain", "type": "OUTPUT", "attributes": [{"name": "epoch", "type": "NUMERIC"}]}]}]}
    assert requests.post(patient_service.url + "/pde/dataflow/json", json=spec, timeout=60).ok
    slow = threading.Thread(target=lambda: pytest.raises(
        requests.Timeout, requests.post, patient_service.url + "/api/v1/query", json={"sql": SLOW_QUERY}, timeout=25))
    slow.start()
    time.sleep(1)  # the query is in the engine
    message = {"id": "epoch-1", "kind": "task", "body": {
        "id": "1", "dataflow": "patient", "exec": "run-1", "transformation": "train", "status": "RUNNING",
        "sets": [{"tag": "otrain", "elements": [[1]]}]}}
    answer = requests.post(patient_service.url + "/api/v1/ingest", json={"messages": [message]}, timeout=60)
    acknowledged_while_the_query_ran = slow.is_alive()
    slow.join()
    assert answer.json()["acknowledged"] == ["epoch-1"]
    assert acknowledged_while_the_query_ran
    rows = requests.post(patient_service.url + "/api/v1/query", json={"sql": "SELECT epoch FROM patient.otrain"},
                         timeout=60).json()["rows"]
    assert rows == [[1]]


def test_a_result_too_large_for_memory_gets_a_400_that_says_what_to_do(patient_service):
    # Under a long time limit: building these 787 MB takes the engine longer than limited_service's 2 s.
    response = run_query(patient_service, "SELECT REPEAT('x', 1000000) AS big FROM sys.columns", limit=1000)
    assert response.status_code == 400 and "smaller limit" in response.json()["detail"]
    assert run_query(patient_service, "SELECT 2").json()["rows"] == [[2]]
