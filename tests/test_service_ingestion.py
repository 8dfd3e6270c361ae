"""The service stores what scripts written for the original DfAnalyzer send, once, as they sent it."""
import math

import requests

SPEC = {
    "tag": "mnist",
    "transformations": [
        {"tag": "TrainingModel", "sets": [
            {"tag": "iTrainingModel", "type": "INPUT", "attributes": [
                {"name": "OPTIMIZER_NAME", "type": "TEXT"}, {"name": "LEARNING_RATE", "type": "NUMERIC"}]},
            {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [
                {"name": "EPOCH", "type": "NUMERIC"}, {"name": "LOSS", "type": "NUMERIC"},
                {"name": "val_sparse_categorical_accuracy", "type": "NUMERIC"}]}]},
        {"tag": "TestingModel", "sets": [
            {"tag": "oTrainingModel", "type": "INPUT", "dependency": "TrainingModel", "attributes": []},
            {"tag": "oTestingModel", "type": "OUTPUT", "attributes": [{"name": "ACCURACY", "type": "NUMERIC"}]}]},
    ],
}


def post(service, path, body):
    return requests.post(service.url + path, json=body, timeout=30)


def task(task_id, transformation, status, sets=(), exec_tag="run-1", dependency=None, **extra):
    message = {"id": task_id, "dataflow": "mnist", "transformation": transformation, "status": status,
               "sets": [{"tag": tag, "elements": elements} for tag, elements in sets], **extra}
    if exec_tag is not None:
        message["exec"] = exec_tag
    if dependency:
        message["dependency"] = dependency
    return message


def test_original_script_payloads_are_stored_once_and_queryable(dfa_service):
    # The original client posts to DFA_URL + '/pde/...' with DFA_URL ending in '/'.
    assert post(dfa_service, "//pde/dataflow/json", SPEC).status_code == 200
    hyperparameters = ("iTrainingModel", [["Adam's", "0.001"]])
    # Upstream style: begin sends the input set, end re-sends it with the output.
    assert post(dfa_service, "//pde/task/json", task("1", "trainingmodel", "RUNNING", [hyperparameters])).ok
    epochs = ("oTrainingModel", [["1", "0.9", "0.5"], ["2", "0.4", "0.75"]])
    end = task("1", "trainingmodel", "FINISHED", [hyperparameters, epochs],
               performances=[{"startTime": "2026-01-01 10:00:00", "endTime": "2026-01-01 10:05:00"}])
    assert post(dfa_service, "//pde/task/json", end).ok
    assert post(dfa_service, "//pde/task/json", end).ok  # sent twice: still one row each
    dependency = {"tags": [{"tag": "trainingmodel"}], "ids": [{"id": "1"}]}
    assert post(dfa_service, "/pde/task/json", task(1, "testingmodel", "FINISHED", [("oTestingModel", [[0.93]])],
                                                    dependency=dependency)).ok

    assert dfa_service.query("SELECT optimizer_name, learning_rate FROM mnist.itrainingmodel") == [["Adam's", 0.001]]
    rows = dfa_service.query("SELECT epoch, loss, val_sparse_categorical_accuracy, trainingmodel_task_id, "
                             "testingmodel_task_id FROM mnist.otrainingmodel ORDER BY epoch")
    training_id, testing_id = (dfa_service.query(
        f"SELECT t.id FROM task t JOIN data_transformation d ON t.dt_id = d.id WHERE d.tag = '{tag}'")[0][0]
        for tag in ("TrainingModel", "TestingModel"))
    # The dependent TestingModel task filled its column on the rows of the task it depends on.
    assert rows == [[1.0, 0.9, 0.5, training_id, testing_id], [2.0, 0.4, 0.75, training_id, testing_id]]
    assert dfa_service.query("SELECT status, start_time, end_time FROM task WHERE id = %d" % training_id) == [
        ["FINISHED", "2026-01-01T10:00:00", "2026-01-01T10:05:00"]]
    assert dfa_service.query("SELECT duration_seconds FROM performance") == [[300.0]]
    assert dfa_service.query("SELECT task_id, depends_on_task_id FROM task_dependency") == [[testing_id, training_id]]


def test_a_missing_exec_tag_goes_to_the_default_execution(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    assert post(shared_dfa_service, "/pde/task/json", task("9", "TrainingModel", "RUNNING", exec_tag=None)).ok
    executions = requests.get(shared_dfa_service.url + "/api/v1/executions", params={"dataflow": "mnist"}).json()
    assert "default" in [e["execution"] for e in executions]


def test_long_identifiers_quotes_and_non_finite_numbers_are_kept(shared_dfa_service):
    tag = "d" * 60
    spec = {"tag": tag, "transformations": [{"tag": "t" * 55, "sets": [{"tag": "s" * 58, "type": "OUTPUT", "attributes": [
        {"name": "val_sparse_top_k_categorical_accuracy_with_a_long_name", "type": "NUMERIC"},
        {"name": "note", "type": "TEXT"}]}]}]}
    assert post(shared_dfa_service, "/pde/dataflow/json", spec).ok
    elements = [[float("inf"), "it's; DROP TABLE task; --"], ["-Infinity", "x"], ["NaN", None], [None, "y"]]
    message = {"id": "1", "dataflow": tag, "exec": "e", "transformation": "t" * 55, "status": "RUNNING",
               "sets": [{"tag": "s" * 58, "elements": [[_json_number(v), n] for v, n in elements]}]}
    assert post(shared_dfa_service, "/pde/task/json", message).ok
    rows = shared_dfa_service.query(
        f"SELECT id, val_sparse_top_k_categorical_accuracy_with_a_long_name, note FROM {tag}.{'s' * 58} ORDER BY id")
    assert [r[1:] for r in rows] == [["Infinity", "it's; DROP TABLE task; --"], ["-Infinity", "x"], [None, None],
                                     [None, "y"]]
    # NaN is stored as NULL (MonetDB's NULL for DOUBLE is NaN) and flagged; a real NULL is not flagged.
    flags = shared_dfa_service.query(f"SELECT row_id, column_name, value FROM non_finite_value WHERE table_schema = '{tag}'")
    assert flags == [[rows[2][0], "val_sparse_top_k_categorical_accuracy_with_a_long_name", "NaN"]]
    # The text that looked like SQL was stored as a value; the task table is still there.
    [[tasks]] = shared_dfa_service.query("SELECT COUNT(*) FROM task")
    assert tasks >= 1


def _json_number(value):
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def test_a_dataset_with_several_elements_stores_one_row_each(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    epochs = [[e, 1.0 / e, None] for e in range(1, 51)]
    assert post(shared_dfa_service, "/pde/task/json",
                task("many", "TrainingModel", "RUNNING", [("oTrainingModel", epochs)], exec_tag="many")).ok
    rows = shared_dfa_service.query(
        "SELECT o.epoch, o.loss FROM mnist.otrainingmodel o JOIN task t ON o.trainingmodel_task_id = t.id "
        "WHERE t.identifier = 'many' ORDER BY o.epoch")
    assert rows == [[float(e), 1.0 / e] for e in range(1, 51)]


def test_begin_dates_the_task_and_the_execution_follows_its_tasks(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    execution = {"id": "e", "kind": "execution",
                 "body": {"dataflow": "mnist", "exec": "dated", "startTime": "2026-02-01T09:00:00Z", "agents": []}}
    assert post(dfa_service, "/api/v1/ingest", {"messages": [execution]}).ok
    begin = task("1", "TrainingModel", "RUNNING", exec_tag="dated",
                 performances=[{"startTime": "2026-02-01T09:00:01Z", "endTime": None}])
    assert post(dfa_service, "/pde/task/json", begin).ok
    assert dfa_service.query("SELECT e.start_time, e.status, t.start_time FROM dataflow_execution e "
                             "JOIN task t ON t.exec_id = e.id WHERE e.tag = 'dated'") == [
        ["2026-02-01T09:00:00", "RUNNING", "2026-02-01T09:00:01"]]
    assert dfa_service.query("SELECT COUNT(*) FROM performance") == [[0]]  # no row for a start alone
    end = task("1", "TrainingModel", "FAILED", exec_tag="dated",
               performances=[{"startTime": "2026-02-01T09:00:01Z", "endTime": "2026-02-01T09:10:01Z"}])
    assert post(dfa_service, "/pde/task/json", end).ok
    assert dfa_service.query("SELECT status, end_time FROM dataflow_execution WHERE tag = 'dated'") == [
        ["FAILED", "2026-02-01T09:10:01"]]
    assert dfa_service.query("SELECT duration_seconds FROM performance") == [[600.0]]


def test_rows_produced_after_a_dependent_task_declared_itself_are_linked_to_it(dfa_service):
    # keras_prov records the trained model after evaluate() may already have started its test task.
    post(dfa_service, "/pde/dataflow/json", SPEC)
    post(dfa_service, "/pde/task/json", task("1", "TrainingModel", "RUNNING", exec_tag="late"))
    dependency = {"tags": [{"tag": "TrainingModel"}], "ids": [{"id": "1"}]}
    post(dfa_service, "/pde/task/json", task("2", "TestingModel", "FINISHED", exec_tag="late", dependency=dependency))
    post(dfa_service, "/pde/task/json", task("1", "TrainingModel", "FINISHED", [("oTrainingModel", [[1, 0.3, 0.4]])],
                                             exec_tag="late"))
    [[training_id]] = dfa_service.query("SELECT id FROM task WHERE identifier = '1'")
    [[testing_id]] = dfa_service.query("SELECT id FROM task WHERE identifier = '2'")
    assert dfa_service.query("SELECT trainingmodel_task_id, testingmodel_task_id FROM mnist.otrainingmodel") == [
        [training_id, testing_id]]
