"""Batches are written in short transactions: each id once, each message whole, others in between."""
import threading
import uuid

import pytest
import requests

from dfanalyzer.ingest import Ingestor, MessageRejected
from dfanalyzer.ingest import ingestor as ingestor_module
from dfanalyzer.store.embedded import EmbeddedStore
from test_service_ingestion import SPEC, post


def one_row_message(epoch, message_id=None, exec_tag="parts"):
    return {"id": message_id or str(uuid.uuid4()), "kind": "task", "body": {
        "id": 1, "dataflow": "mnist", "exec": exec_tag, "transformation": "TrainingModel", "status": "RUNNING",
        "sets": [{"tag": "oTrainingModel", "elements": [[epoch, 0.5, None]]}]}}


@pytest.fixture
def ingestor(tmp_path):
    store = EmbeddedStore(str(tmp_path / "db"))
    ingestor = Ingestor(store)
    ingestor.ingest_dataflow(SPEC)
    yield ingestor
    assert store.close()


def epochs(ingestor, exec_tag="parts"):
    return [row[0] for row in ingestor.store.read(
        "SELECT o.epoch FROM mnist.otrainingmodel o JOIN task t ON o.trainingmodel_task_id = t.id "
        "JOIN dataflow_execution e ON t.exec_id = e.id WHERE e.tag = ? ORDER BY o.epoch", [exec_tag])[1]]


def test_a_batch_of_single_row_messages_is_stored_whole_once_in_order(ingestor):
    batch = [one_row_message(e) for e in range(500)]
    assert len(ingestor.ingest_batch(batch).acknowledged) == 500
    again = ingestor.ingest_batch([dict(m) for m in batch])
    assert len(again.duplicates) == 500
    assert epochs(ingestor) == list(range(500))


def test_a_bad_message_keeps_earlier_parts_and_a_resend_stores_the_rest_once(ingestor, monkeypatch):
    monkeypatch.setattr(ingestor_module, "TRANSACTION_SECONDS", 0)  # one message per transaction
    batch = [one_row_message(e) for e in range(6)]
    bad = one_row_message(99)
    bad["body"]["sets"][0]["elements"] = [["not a number", 0.5, None]]
    with pytest.raises(MessageRejected) as rejected:
        ingestor.ingest_batch(batch[:3] + [bad] + batch[3:])
    assert rejected.value.message_id == bad["id"]
    assert epochs(ingestor) == [0, 1, 2]  # each message whole, nothing after the bad one
    result = ingestor.ingest_batch([dict(m) for m in batch])  # the client's resend, without the bad one
    assert sorted(result.duplicates) == sorted(m["id"] for m in batch[:3])
    assert epochs(ingestor) == list(range(6))


def test_an_id_twice_in_one_batch_is_stored_once(ingestor):
    message = one_row_message(1000, message_id="same")
    result = ingestor.ingest_batch([message] + [one_row_message(e) for e in range(300)] + [dict(message)])
    assert result.duplicates == ["same"] and epochs(ingestor).count(1000) == 1


def test_a_one_row_insert_goes_in_while_a_large_batch_is_written(dfa_service):
    """Rows of one running task are the cheapest kind (about 20,000 a second alone): 60,000 of them
    take several parts of about 0.3 s, and the one-row insert waits for one part, not for all."""
    post(dfa_service, "/pde/dataflow/json", SPEC)
    large = {"messages": [one_row_message(e, exec_tag="large") for e in range(60000)]}

    def send_large():
        requests.post(dfa_service.url + "/api/v1/ingest", json=large, timeout=600).raise_for_status()

    sender = threading.Thread(target=send_large)
    sender.start()
    while not dfa_service.query("SELECT COUNT(*) FROM ingested_message")[0][0]:
        pass  # the first part of the large batch is committed: it is being written
    small = requests.post(dfa_service.url + "/api/v1/ingest",
                          json={"messages": [one_row_message(1, exec_tag="small")]}, timeout=600)
    sender.join()
    assert small.ok
    assert dfa_service.query("SELECT COUNT(*) FROM ingested_message")[0][0] == 60001
    # The order the rows were stored in (their ids), not the order the answers came back in (a
    # loaded machine can delay the small answer): rows of the batch were stored after the insert.
    stored = dict(dfa_service.query(
        "SELECT e.tag, MAX(o.id) FROM mnist.otrainingmodel o JOIN task t ON o.trainingmodel_task_id = t.id "
        "JOIN dataflow_execution e ON t.exec_id = e.id GROUP BY e.tag"))
    after_it = dfa_service.query(f"SELECT COUNT(*) FROM mnist.otrainingmodel WHERE id > {int(stored['small'])}")[0][0]
    assert after_it > 0, "the one-row insert was stored after the whole batch"


def test_one_row_inserts_go_in_while_a_batch_of_new_tasks_is_written(dfa_service):
    """Each message a new task (the costly kind): another client's inserts wait for one part of the
    batch, not for all of it, so several of them in a row finish before it does."""
    post(dfa_service, "/pde/dataflow/json", SPEC)
    large = {"messages": [dict(one_row_message(0, exec_tag="new-tasks"),
                               body=dict(one_row_message(0, exec_tag="new-tasks")["body"], id=f"task-{n}"))
                          for n in range(4000)]}
    finished = []

    def send_large():
        requests.post(dfa_service.url + "/api/v1/ingest", json=large, timeout=600).raise_for_status()
        finished.append("large")

    sender = threading.Thread(target=send_large)
    sender.start()
    while not dfa_service.query("SELECT COUNT(*) FROM ingested_message")[0][0]:
        pass  # the first part of the large batch is committed: it is being written
    session = requests.Session()
    for epoch in range(5):
        small = session.post(dfa_service.url + "/api/v1/ingest",
                             json={"messages": [one_row_message(epoch, exec_tag="small")]}, timeout=600)
        assert small.ok
        finished.append("small")
    sender.join()
    assert finished == ["small"] * 5 + ["large"]
    assert dfa_service.query("SELECT COUNT(*) FROM task")[0][0] == 4001
    assert dfa_service.query("SELECT COUNT(*) FROM ingested_message")[0][0] == 4005
