"""Bad input gets an answer naming what is wrong, and nothing of a bad message is stored."""
import requests

from test_service_ingestion import SPEC, post, task


def count(service, table):
    return service.query(f"SELECT COUNT(*) FROM {table}")[0][0]


def test_wrong_number_of_values_names_set_and_counts_and_stores_nothing(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    before = count(shared_dfa_service, "mnist.otrainingmodel"), count(shared_dfa_service, "task")
    message = task("bad", "TrainingModel", "RUNNING", [("oTrainingModel", [[1, 0.5, 0.5], [2, 0.4]])], exec_tag="bad")
    response = post(shared_dfa_service, "/pde/task/json", message)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "oTrainingModel" in detail and "has 2 values" in detail and "declares 3 attributes" in detail
    assert (count(shared_dfa_service, "mnist.otrainingmodel"), count(shared_dfa_service, "task")) == before


def test_unknown_names_are_named_in_the_answer(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    unknown_dataflow = post(shared_dfa_service, "/pde/task/json", dict(task("1", "TrainingModel", "RUNNING"), dataflow="nope"))
    assert unknown_dataflow.status_code == 404 and "'nope'" in unknown_dataflow.json()["detail"]
    unknown_transformation = post(shared_dfa_service, "/pde/task/json", task("1", "Pruning", "RUNNING"))
    assert unknown_transformation.status_code == 404 and "'Pruning'" in unknown_transformation.json()["detail"]
    unknown_set = post(shared_dfa_service, "/pde/task/json", task("1", "TrainingModel", "RUNNING", [("oWeights", [[1]])]))
    assert unknown_set.status_code == 404 and "'oWeights'" in unknown_set.json()["detail"]
    assert requests.get(shared_dfa_service.url + "/api/v1/dataflows/nope").status_code == 404
    missing = requests.get(shared_dfa_service.url + "/api/v1/executions/no-such-run")
    assert missing.status_code == 404 and "no-such-run" in missing.json()["detail"]


def test_bad_specifications_are_refused_with_the_reason(shared_dfa_service):
    bad_tag = post(shared_dfa_service, "/pde/dataflow/json", {"tag": 'x"; DROP SCHEMA sys; --', "transformations": []})
    assert bad_tag.status_code == 422 and "dataflow tag" in bad_tag.json()["detail"]
    bad_type = post(shared_dfa_service, "/pde/dataflow/json", {"tag": "typed", "transformations": [{"tag": "t", "sets": [
        {"tag": "s", "type": "OUTPUT", "attributes": [{"name": "a", "type": "INTEGER"}]}]}]})
    assert bad_type.status_code == 422 and "NUMERIC" in bad_type.json()["detail"]
    assert shared_dfa_service.query("SELECT COUNT(*) FROM dataflow WHERE tag = 'typed'") == [[0]]
    not_a_number = post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    assert not_a_number.ok
    response = post(shared_dfa_service, "/pde/task/json",
                    task("1", "TrainingModel", "RUNNING", [("iTrainingModel", [["sgd", "fast"]])], exec_tag="nan"))
    assert response.status_code == 422 and "'fast' is not a number" in response.json()["detail"]


def test_a_bad_message_rejects_its_batch_and_names_the_message(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    before = count(shared_dfa_service, "mnist.otrainingmodel")
    good = {"id": "good-1", "kind": "task",
            "body": task("b1", "TrainingModel", "RUNNING", [("oTrainingModel", [[1, 1, 1]])], exec_tag="batch")}
    bad = {"id": "bad-1", "kind": "task",
           "body": task("b2", "TrainingModel", "RUNNING", [("oTrainingModel", [[1]])], exec_tag="batch")}
    response = post(shared_dfa_service, "/api/v1/ingest", {"messages": [good, bad]})
    assert response.status_code == 422
    assert response.json()["detail"]["message_id"] == "bad-1"
    assert count(shared_dfa_service, "mnist.otrainingmodel") == before
    assert post(shared_dfa_service, "/api/v1/ingest", {"messages": [good]}).json()["acknowledged"] == ["good-1"]
    assert count(shared_dfa_service, "mnist.otrainingmodel") == before + 1
