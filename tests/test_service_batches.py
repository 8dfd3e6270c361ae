"""Batched ingestion: exactly once per message id, concurrent writers, data kept across restarts."""
import threading

import requests

from test_service_ingestion import SPEC, post, task


def batch(prefix, count, exec_tag, first_epoch=0):
    return {"messages": [
        {"id": f"{prefix}-{n}", "kind": "task",
         "body": task(f"{prefix}", "TrainingModel", "RUNNING", [("oTrainingModel", [[first_epoch + n, 0.1 * n, None]])],
                      exec_tag=exec_tag)}
        for n in range(count)]}


def epochs_of(service, exec_tag):
    return service.query(
        "SELECT o.epoch FROM mnist.otrainingmodel o JOIN task t ON o.trainingmodel_task_id = t.id "
        f"JOIN dataflow_execution e ON t.exec_id = e.id WHERE e.tag = '{exec_tag}' ORDER BY o.epoch")


def test_a_resent_batch_is_acknowledged_and_stored_once(dfa_service):
    post(dfa_service, "/api/v1/ingest", {"messages": [{"id": "spec", "kind": "dataflow", "body": SPEC}]})
    first = post(dfa_service, "/api/v1/ingest", batch("a", 5, "once")).json()
    again = post(dfa_service, "/api/v1/ingest", batch("a", 5, "once")).json()
    assert first["duplicates"] == [] and len(first["acknowledged"]) == 5
    assert sorted(again["duplicates"]) == sorted(first["acknowledged"])
    assert epochs_of(dfa_service, "once") == [[float(n)] for n in range(5)]


def test_execution_agents_are_stored(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    agents = [{"kind": "person", "name": "alice", "properties": {}},
              {"kind": "software", "name": "keras", "properties": {"version": "3.15.1"}},
              {"kind": "machine", "name": "node-7", "properties": {"os": "Linux"}}]
    message = {"id": "exec-1", "kind": "execution", "body": {"dataflow": "mnist", "exec": "with-agents", "agents": agents}}
    assert post(dfa_service, "/api/v1/ingest", {"messages": [message]}).ok
    detail = requests.get(dfa_service.url + "/api/v1/executions/with-agents").json()
    assert detail["agents"] == agents


def test_four_threads_ingesting_at_once_lose_nothing(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    errors = []

    def send(worker):
        for round_number in range(10):
            response = post(dfa_service, "/api/v1/ingest", batch(f"w{worker}-{round_number}", 10, f"thread-{worker}",
                                                                 first_epoch=round_number * 10))
            if not response.ok:
                errors.append(response.text)

    threads = [threading.Thread(target=send, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for worker in range(4):
        assert epochs_of(dfa_service, f"thread-{worker}") == [[float(n)] for n in range(100)]


def test_data_survives_a_restart_and_a_crash(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    post(dfa_service, "/api/v1/ingest", batch("before-restart", 3, "durable"))
    dfa_service.restart()
    post(dfa_service, "/api/v1/ingest", batch("after-restart", 3, "durable", first_epoch=3))
    dfa_service.kill()  # SIGKILL right after the acknowledgement
    dfa_service.start()
    assert epochs_of(dfa_service, "durable") == [[float(n)] for n in range(6)]
    # The specification is kept too: a task can be stored without sending it again.
    assert post(dfa_service, "/pde/task/json", task("late", "TrainingModel", "RUNNING", exec_tag="durable")).ok


def test_a_specification_sent_again_with_more_attributes_and_sets_keeps_the_data(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    post(dfa_service, "/pde/task/json", task("1", "TrainingModel", "RUNNING", [("oTrainingModel", [[1, 0.5, 0.6]])]))
    extended = {"tag": "mnist", "transformations": [
        {"tag": "TrainingModel", "sets": [
            {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [
                {"name": "EPOCH", "type": "NUMERIC"}, {"name": "LOSS", "type": "NUMERIC"},
                {"name": "val_sparse_categorical_accuracy", "type": "NUMERIC"}, {"name": "LR", "type": "NUMERIC"}]},
            {"tag": "oWeights", "type": "OUTPUT", "attributes": [{"name": "PATH", "type": "FILE"}]}]}]}
    assert post(dfa_service, "/pde/dataflow/json", extended).ok
    post(dfa_service, "/pde/task/json", task("1", "TrainingModel", "RUNNING",
                                             [("oTrainingModel", [[2, 0.4, 0.7, 0.01]]), ("oWeights", [["/w.h5"]])]))
    assert dfa_service.query("SELECT epoch, loss, lr FROM mnist.otrainingmodel ORDER BY epoch") == [
        [1.0, 0.5, None], [2.0, 0.4, 0.01]]
    assert dfa_service.query("SELECT path FROM mnist.oweights") == [["/w.h5"]]
    spec = requests.get(dfa_service.url + "/api/v1/dataflows/mnist").json()
    assert [s["tag"] for s in spec["sets"]] == ["iTrainingModel", "oTrainingModel", "oTestingModel", "oWeights"]
    changed_type = {"tag": "mnist", "transformations": [{"tag": "TrainingModel", "sets": [
        {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [{"name": "LOSS", "type": "TEXT"}]}]}]}
    refused = post(dfa_service, "/pde/dataflow/json", changed_type)
    assert refused.status_code == 422 and "LOSS" in refused.json()["detail"]


def test_queries_answer_while_batches_are_being_written(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    done = threading.Event()

    def write():
        for round_number in range(30):
            post(dfa_service, "/api/v1/ingest", batch(f"live-{round_number}", 20, "live", first_epoch=round_number * 20))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    counts = []
    while not done.is_set():
        counts.append(len(epochs_of(dfa_service, "live")))
    writer.join()
    counts.append(len(epochs_of(dfa_service, "live")))
    assert counts == sorted(counts) and counts[-1] == 600
    assert len(set(counts)) > 2  # the reader saw the table grow, not only before and after


def test_a_specification_that_reorders_attributes_is_refused(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    reordered = {"tag": "mnist", "transformations": [{"tag": "TrainingModel", "sets": [
        {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [
            {"name": "EPOCH", "type": "NUMERIC"}, {"name": "ACCURACY", "type": "NUMERIC"},
            {"name": "LOSS", "type": "NUMERIC"}]}]}]}
    refused = post(dfa_service, "/pde/dataflow/json", reordered)
    assert refused.status_code == 422
    assert "keep the stored order" in refused.json()["detail"]
    assert dfa_service.query("SELECT a.name FROM attribute a JOIN data_set s ON a.ds_id = s.id "
                             "WHERE s.tag = 'oTrainingModel' ORDER BY a.ordinal") == [
        ["EPOCH"], ["LOSS"], ["val_sparse_categorical_accuracy"]]
