"""What makes single-row batches fast keeps them right: message ids ruled out by a Bloom filter,
no primary key on embedded ingested_message, epoch-only messages of a running task skipping the
task bookkeeping, values bound per column."""
import datetime
import math
import uuid

import pytest
import requests

from dfanalyzer.ingest import Ingestor, MessageRejected
from dfanalyzer.ingest import known_ids as known_ids_module
from dfanalyzer.ingest.known_ids import KnownMessageIds
from dfanalyzer.store.embedded import EmbeddedStore
from test_ingest_parts import epochs, one_row_message
from test_service_ingestion import SPEC, post


@pytest.fixture
def store(tmp_path):
    store = EmbeddedStore(str(tmp_path / "db"))
    yield store
    assert store.close()


@pytest.fixture
def ingestor(store):
    ingestor = Ingestor(store)
    ingestor.ingest_dataflow(SPEC)
    return ingestor


def message(epoch, status="RUNNING", values=None, **body):
    sent = one_row_message(epoch)
    sent["body"].update(status=status, **body)
    if values is not None:
        sent["body"]["sets"][0]["elements"] = [values]
    return sent


def test_the_id_filter_never_rules_out_a_stored_id_even_when_read_in_slices_and_grown(store, monkeypatch):
    monkeypatch.setattr(known_ids_module, "MINIMUM_CAPACITY", 1000)
    monkeypatch.setattr(known_ids_module, "LOAD_CHUNK", 700)  # several slices of the table
    stored = [str(uuid.uuid4()) for _ in range(2500)]
    with store.write() as tx:
        tx.append("sys", "ingested_message", {"id": stored, "received_at": [None] * len(stored)},
                  {"id": "text", "received_at": "timestamp"})
    known = KnownMessageIds()
    more = [str(uuid.uuid4()) for _ in range(4000)]  # past the capacity: the filter is read again, larger
    with store.write() as tx:
        assert known.possibly_stored(tx, stored) == stored
        tx.append("sys", "ingested_message", {"id": more, "received_at": [None] * len(more)},
                  {"id": "text", "received_at": "timestamp"})
        known.add(more)
        assert known.possibly_stored(tx, more) == more
    with store.write() as tx:
        assert known.possibly_stored(tx, stored + more) == stored + more
        new = [str(uuid.uuid4()) for _ in range(3000)]
        assert len(known.possibly_stored(tx, new)) < 300  # about 1% expected


def test_embedded_ingested_message_has_no_primary_key_and_ids_stay_unique(ingestor):
    [[keys]] = ingestor.store.read(
        "SELECT COUNT(*) FROM sys.keys k JOIN sys.tables t ON k.table_id = t.id WHERE t.name = 'ingested_message'")[1]
    assert keys == 0
    batch = [one_row_message(e) for e in range(300)]
    ingestor.ingest_batch(batch)
    resent = Ingestor(ingestor.store)  # a fresh process: its filter is read from the table
    result = resent.ingest_batch([dict(m) for m in batch[100:]] + [one_row_message(e) for e in range(300, 400)])
    assert len(result.duplicates) == 200
    [[count, distinct]] = ingestor.store.read("SELECT COUNT(*), COUNT(DISTINCT id) FROM ingested_message")[1]
    assert count == distinct == 400
    assert epochs(ingestor) == list(range(400))


def test_status_changes_between_epoch_messages_of_one_batch_are_all_applied(ingestor):
    batch = [message(0), message(1), message(2, status="FINISHED"), message(3), message(4)]
    ingestor.ingest_batch(batch)
    assert epochs(ingestor) == [0, 1, 2, 3, 4]
    [[status, end_time]] = ingestor.store.read("SELECT status, end_time FROM task")[1]
    assert status == "RUNNING" and end_time is not None  # FINISHED dated the end; RUNNING again kept it
    [[execution]] = ingestor.store.read("SELECT status FROM dataflow_execution WHERE tag = 'parts'")[1]
    assert execution == "RUNNING"


def test_epoch_messages_carrying_more_than_elements_take_the_full_path(ingestor):
    started = "2026-11-23T10:00:00"
    batch = [message(0), message(1, performances=[{"startTime": started, "endTime": "2026-11-23T10:00:05"}]),
             message(2, workspace="/w"), message(3, sub_id="b"), message(4)]
    ingestor.ingest_batch(batch)
    read = ingestor.store.read
    assert read("SELECT COUNT(*) FROM performance")[1] == [(1,)]
    assert read("SELECT identifier, sub_id, workspace FROM task ORDER BY sub_id")[1] == [("1", "", "/w"), ("1", "b", None)]
    assert epochs(ingestor) == [0, 1, 2, 3, 4]


def test_a_new_attribute_sent_between_epoch_messages_gets_its_values(ingestor):
    ingestor.ingest_batch([message(0)])
    spec = {**SPEC, "transformations": [dict(SPEC["transformations"][0], sets=[
        dict(SPEC["transformations"][0]["sets"][1], attributes=SPEC["transformations"][0]["sets"][1]["attributes"]
             + [{"name": "lr", "type": "NUMERIC"}])])]}
    ingestor.ingest_batch([message(1), {"id": "spec", "kind": "dataflow", "body": spec},
                           message(2, values=[2, 0.5, None, 0.001])])
    assert ingestor.store.read("SELECT epoch, lr FROM mnist.otrainingmodel ORDER BY epoch")[1] == [
        (0, None), (1, None), (2, 0.001)]


def test_nan_and_bad_values_in_epoch_messages(ingestor):
    ingestor.ingest_batch([message(0), message(1, values=[1, float("nan"), "NaN"])])
    read = ingestor.store.read
    assert read("SELECT epoch, loss, val_sparse_categorical_accuracy FROM mnist.otrainingmodel ORDER BY epoch")[1] == [
        (0, 0.5, None), (1, None, None)]
    assert read("SELECT column_name FROM non_finite_value ORDER BY column_name")[1] == [
        ("loss",), ("val_sparse_categorical_accuracy",)]
    bad = message(3, values=[3, 10 ** 400, None])
    with pytest.raises(MessageRejected) as rejected:
        ingestor.ingest_batch([message(2), bad, message(4)])
    assert rejected.value.message_id == bad["id"] and "does not fit a DOUBLE" in str(rejected.value)
    assert epochs(ingestor) == [0, 1]  # the part holding the bad message was rolled back whole


def test_appended_values_of_every_kind_read_back_as_sent(store):
    with store.write() as tx:
        tx.execute("CREATE TABLE appended (id BIGINT, n DOUBLE, t CLOB, at TIMESTAMP)")
    moment = datetime.datetime(2026, 11, 23, 10, 0, 5, 123000)
    rows = [(i, [None, 0.25, -1e300, float(i)][i % 4], [None, "same", "é ✓", "same"][i % 4], [None, moment][i % 2])
            for i in range(1, 150)]  # more than one INSERT chunk, and a rest
    with store.write() as tx:
        tx.append("sys", "appended", {name: [row[n] for row in rows] for n, name in enumerate(("id", "n", "t", "at"))},
                  {"id": "bigint", "n": "double", "t": "text", "at": "timestamp"})
        tx.append("sys", "appended", {"id": [None], "n": [math.nan], "t": [None], "at": [None]},
                  {"id": "bigint", "n": "double", "t": "text", "at": "timestamp"})
    stored = store.read("SELECT id, n, t, at FROM appended ORDER BY id NULLS LAST")[1]
    assert stored == rows + [(None, None, None, None)]
    assert store.read("SELECT COUNT(*) FROM appended WHERE n IS NULL AND t IS NULL")[1] == [(38,)]


def test_resent_ids_are_duplicates_after_a_restart(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC).raise_for_status()
    first = [one_row_message(e) for e in range(500)]
    assert post(dfa_service, "/api/v1/ingest", {"messages": first}).ok
    dfa_service.restart()
    second = first[250:] + [one_row_message(e) for e in range(500, 750)]
    answer = post(dfa_service, "/api/v1/ingest", {"messages": second})
    assert answer.ok and sorted(answer.json()["duplicates"]) == sorted(m["id"] for m in first[250:])
    assert dfa_service.query("SELECT COUNT(*), COUNT(DISTINCT epoch) FROM mnist.otrainingmodel") == [[750, 750]]
    nan_body = '{"messages": [{"id": "nan", "kind": "task", "body": ' \
               '{"id": 1, "dataflow": "mnist", "exec": "parts", "transformation": "TrainingModel", ' \
               '"status": "RUNNING", "sets": [{"tag": "oTrainingModel", "elements": [[900, NaN, Infinity]]}]}}]}'
    answer = requests.post(dfa_service.url + "/api/v1/ingest", data=nan_body,
                           headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.ok and answer.json() == {"acknowledged": ["nan"], "duplicates": []}
    assert dfa_service.query("SELECT loss FROM mnist.otrainingmodel WHERE epoch = 900") == [[None]]
