"""Several DfAnalyzer services on one MonetDB server: concurrent first start, concurrent clients,
MonetDB killed and restarted during ingestion, user SQL refused by the database itself, models
served by every service."""
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from cluster_clients import SET_TAG, specification
from service_process import ServiceProcess

OCTETS = {"Content-Type": "application/octet-stream"}
TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def database(monetdb_database):
    return monetdb_database


def start_together(database, tmp_path, count, extra_args=()):
    """`count` services started at the same moment on the one (empty) database."""
    services = [ServiceProcess(tmp_path / f"service-{n}", monetdb_url=database.url, extra_args=extra_args)
                for n in range(count)]
    errors = []

    def start(service):
        try:
            service.start(timeout=120)
        except Exception as error:  # reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        for service in services:
            service.stop()
        raise errors[0]
    return services


@pytest.fixture
def two_services(database, tmp_path):
    services = start_together(database, tmp_path, 2)
    yield services
    for service in services:
        service.stop()


def poll(condition, timeout=180, pause=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(pause)
    return condition()


def test_two_services_started_together_store_every_row_of_concurrent_clients_once(two_services, tmp_path):
    urls = ",".join(service.url for service in two_services)
    clients, messages = 4, 40
    processes = [subprocess.Popen([sys.executable, os.path.join(TESTS, "cluster_clients.py"), urls, "shared", str(client),
                                   str(messages), "1", str(tmp_path / f"client-{client}.json")])
                 for client in range(clients)]
    for process in processes:
        assert process.wait(300) == 0
    statuses = {}
    for client in range(clients):
        with open(tmp_path / f"client-{client}.json") as result:
            for status, count in json.load(result)["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
    assert not [status for status in statuses if not status.startswith("2")], statuses
    for service in two_services:  # both services read the same rows, each stored once
        rows = service.query(f"SELECT client, epoch, COUNT(*) FROM shared.{SET_TAG.lower()} GROUP BY client, epoch "
                             "ORDER BY client, epoch")
        assert rows == [[float(c), float(e), 1] for c in range(clients) for e in range(messages)]
    assert two_services[1].query("SELECT COUNT(*), COUNT(DISTINCT id) FROM task") == [[clients, clients]]
    assert two_services[0].query("SELECT COUNT(*) FROM dataflow") == [[1]]


CLIENT = """
import sys, time
import dfa_lib_python
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.task import Task
from client_scripts import training_epoch
url, spool, client, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
dfa_lib_python.connect(url, spool_dir=spool, batch_size=5, flush_interval=0.01)
Dataflow("stream", hyperparameters=True).save()
task = Task(client, "stream", f"run-{client}", "TrainingModel")
task.begin()
for epoch in range(epochs):
    training_epoch(task, epoch)
    time.sleep(0.02)
task.end()
assert dfa_lib_python.flush(timeout=600)
"""


def test_monetdb_killed_and_restarted_during_ingestion_services_come_back_and_every_row_arrives(two_services, database,
                                                                                               tmp_path):
    epochs = 300
    environment = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    clients = [subprocess.Popen([sys.executable, "-c", CLIENT, service.url, str(tmp_path / f"spool-{n}"), str(n + 1),
                                 str(epochs)], env=environment)
               for n, service in enumerate(two_services)]
    assert poll(lambda: _stored_epochs(two_services[0]) >= 40, timeout=120)
    database.kill()

    probe = {"id": "probe", "kind": "dataflow", "body": specification("probe")}
    answer = requests.post(two_services[0].url + "/api/v1/ingest", json={"messages": [probe]}, timeout=30)
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    where = f"monetdb://monetdb@127.0.0.1:{database.port}/dfa"
    assert where in answer.json()["detail"] and "monetdb:monetdb@" not in answer.text
    health = requests.get(two_services[1].url + "/health", timeout=30)
    assert health.status_code == 503 and health.json()["status"] == "backend unreachable"

    time.sleep(2)  # clients keep training and spooling meanwhile
    database.start()
    for client in clients:
        assert client.wait(600) == 0
    for service in two_services:
        assert requests.get(service.url + "/health", timeout=30).json()["status"] == "ok"
    rows = two_services[1].query(
        "SELECT e.tag, o.epoch, COUNT(*) FROM stream.otrainingmodel o JOIN task t ON o.trainingmodel_task_id = t.id "
        "JOIN dataflow_execution e ON t.exec_id = e.id GROUP BY e.tag, o.epoch ORDER BY e.tag, o.epoch")
    assert rows == [[f"run-{n}", float(epoch), 1] for n in (1, 2) for epoch in range(epochs)]
    assert two_services[0].query("SELECT identifier, status FROM task ORDER BY identifier") == [
        ["1", "FINISHED"], ["2", "FINISHED"]]


def _stored_epochs(service):
    try:
        return service.query("SELECT COUNT(*) FROM stream.otrainingmodel")[0][0]
    except requests.HTTPError:
        return 0  # the dataflow is not stored yet


@pytest.mark.parametrize("statement", [
    "INSERT INTO dataflow (id, tag, schema_name) VALUES (99, 'forged', 'forged')",
    "UPDATE task SET status = 'FAILED'",
    "DELETE FROM task",
    "DROP TABLE task",
    "CREATE TABLE sneaky (x INT)",
    "GRANT SELECT ON task TO public",
    "CREATE USER intruder WITH PASSWORD 'x' NAME 'x' SCHEMA sys",
])
def test_user_sql_runs_as_a_user_the_database_forbids_to_write(database, statement):
    """Bypasses the text guard (as if it let the statement through): MonetDB itself refuses."""
    from dfanalyzer.errors import QueryRejected
    from dfanalyzer.store import open_store

    store = open_store(monetdb_url=database.url)
    try:
        with store.write() as tx:
            tx.execute("INSERT INTO task (id, df_id, exec_id, dt_id, identifier, status) VALUES (1, 1, 1, 1, '1', 'RUNNING')")
        with pytest.raises(QueryRejected, match="(?i)privilege|access denied|not allowed|permission"):
            store.read(statement, isolated=True)
        assert store.read("SELECT status FROM task")[1] == [("RUNNING",)]
        assert store.read("SELECT COUNT(*) FROM sys.tables WHERE name IN ('sneaky')")[1] == [(0,)]
        assert store.read("SELECT COUNT(*) FROM sys.users WHERE name = 'intruder'")[1] == [(0,)]
        assert store.read("SELECT identifier FROM task", isolated=True)[1] == [("1",)]  # reading is allowed
    finally:
        store.close()


def test_every_service_of_the_database_serves_every_model(database, tmp_path):
    shared_models = tmp_path / "shared-models"
    services = start_together(database, tmp_path, 2, extra_args=["--models-dir", str(shared_models)])
    try:
        spec = {"tag": "net", "transformations": [{"tag": "TrainingModel", "sets": [
            {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [{"name": "epoch", "type": "NUMERIC"}]}]}]}
        assert requests.post(services[0].url + "/pde/dataflow/json", json=spec, timeout=30).ok
        task = {"id": "1", "dataflow": "net", "exec": "run-1", "transformation": "TrainingModel",
                "status": "FINISHED", "sets": [{"tag": "oTrainingModel", "elements": [[0]]}]}
        assert requests.post(services[0].url + "/pde/task/json", json=task, timeout=30).ok
        model = os.urandom(5000)
        uploaded = requests.post(services[0].url + "/api/v1/models", data=model, timeout=30, headers=OCTETS, params={
            "dataflow": "net", "exec": "run-1", "task": "1", "file_name": "model.keras", "format": "keras"})
        assert uploaded.status_code == 201, uploaded.text
        for service in services:
            [listed] = requests.get(service.url + "/api/v1/models", timeout=30).json()["models"]
            assert listed["sha256"] == hashlib.sha256(model).hexdigest()
            download = requests.get(service.url + listed["url"], timeout=30)
            assert download.status_code == 200 and download.content == model
        assert (shared_models / "net" / "run-1" / "1" / "model.keras").read_bytes() == model
    finally:
        for service in services:
            service.stop()


def test_a_service_started_before_its_monetdb_waits_for_it_and_is_ready_once_it_answers(database, tmp_path):
    database.stop()
    service = ServiceProcess(tmp_path / "early", monetdb_url=database.url)
    started = []
    starting = threading.Thread(target=lambda: started.append(service.start(timeout=300)))
    starting.start()
    try:
        def health():
            if service.process is not None and service.process.poll() is not None:
                return "exited", service.process.returncode
            try:
                answer = requests.get(service.url + "/health", timeout=10)
            except requests.ConnectionError:
                return None  # not listening yet
            return answer.status_code, answer.json()["status"]

        assert poll(health, timeout=120) == (503, "backend unreachable")
        ingest = requests.post(service.url + "/api/v1/ingest", timeout=30, json={
            "messages": [{"id": "early", "kind": "dataflow", "body": specification("early")}]})
        assert ingest.status_code == 503 and int(ingest.headers["Retry-After"]) > 0
        assert service.process.poll() is None
        assert "connects as soon as it answers" in service.log()

        database.start()
        starting.join(300)
        assert started, "the service did not become healthy after MonetDB started"
        ingest = requests.post(service.url + "/api/v1/ingest", timeout=60, json={
            "messages": [{"id": "early", "kind": "dataflow", "body": specification("early")}]})
        assert ingest.ok
        assert service.query("SELECT tag FROM dataflow") == [["early"]]
    finally:
        starting.join(300)
        service.stop()
