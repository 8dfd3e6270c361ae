"""A known Keras-like run, sent as the messages keras_prov would send, for the export and graph tests.

`post_sample_run(url, exec_tag, epochs, adaptations)` stores, in dataflow `provsample`:
- TrainingModel task "1": one iTrainingModel row (hyperparameters), `epochs` oTrainingModel rows,
  one oTrainedModel row;
- Adaptation tasks "a1".."aN" depending on it, each with one iAdaptation and one oAdaptation row;
- TestingModel task "t1" depending on it, with one oTestingModel row; it consumes oTrainedModel;
- agents: a person, two software agents and a machine.
"""
import datetime
import uuid

import requests

DATAFLOW = "provsample"

SPECIFICATION = {
    "tag": DATAFLOW,
    "transformations": [
        {"tag": "TrainingModel", "sets": [
            {"tag": "iTrainingModel", "type": "INPUT", "attributes": [
                {"name": "optimizer_name", "type": "TEXT"}, {"name": "learning_rate", "type": "NUMERIC"},
                {"name": "epochs", "type": "NUMERIC"}, {"name": "batch_size", "type": "NUMERIC"}]},
            {"tag": "oTrainingModel", "type": "OUTPUT", "attributes": [
                {"name": "epoch", "type": "NUMERIC"}, {"name": "timestamp", "type": "TEXT"},
                {"name": "elapsed_time", "type": "NUMERIC"}, {"name": "loss", "type": "NUMERIC"},
                {"name": "accuracy", "type": "NUMERIC"}]},
            {"tag": "oTrainedModel", "type": "OUTPUT", "attributes": [
                {"name": "path", "type": "FILE"}, {"name": "format", "type": "TEXT"},
                {"name": "size_bytes", "type": "NUMERIC"}, {"name": "sha256", "type": "TEXT"}]},
        ]},
        {"tag": "Adaptation", "sets": [
            {"tag": "iAdaptation", "type": "INPUT", "dependency": "TrainingModel", "attributes": [
                {"name": "adaptation_id", "type": "TEXT"}, {"name": "epoch", "type": "NUMERIC"},
                {"name": "old_learning_rate", "type": "NUMERIC"}]},
            {"tag": "oAdaptation", "type": "OUTPUT", "attributes": [
                {"name": "adaptation_id", "type": "TEXT"}, {"name": "epoch", "type": "NUMERIC"},
                {"name": "new_learning_rate", "type": "NUMERIC"}, {"name": "cause", "type": "TEXT"}]},
        ]},
        {"tag": "TestingModel", "sets": [
            {"tag": "oTrainedModel", "type": "INPUT", "dependency": "TrainingModel", "attributes": [
                {"name": "path", "type": "FILE"}, {"name": "format", "type": "TEXT"},
                {"name": "size_bytes", "type": "NUMERIC"}, {"name": "sha256", "type": "TEXT"}]},
            {"tag": "oTestingModel", "type": "OUTPUT", "attributes": [
                {"name": "loss", "type": "NUMERIC"}, {"name": "accuracy", "type": "NUMERIC"}]},
        ]},
    ],
}

AGENTS = [
    {"kind": "person", "name": "alice", "properties": {}},
    {"kind": "software", "name": "keras_prov", "properties": {"version": "0.1.0"}},
    {"kind": "software", "name": "keras", "properties": {"version": "3.15.1", "backend": "tensorflow"}},
    {"kind": "machine", "name": "testhost", "properties": {"os": "Linux", "cpus": 2}},
]

START = datetime.datetime(2026, 1, 2, 3, 4, 5)
SHA256 = "0123456789abcdef" * 4


def _time(seconds):
    return (START + datetime.timedelta(seconds=seconds)).isoformat()


def _message(kind, body):
    return {"id": str(uuid.uuid4()), "kind": kind, "body": body}


def _task(exec_tag, identifier, transformation, status, sets, start, end=None, depends_on=None):
    body = {"id": identifier, "sub_id": "", "dataflow": DATAFLOW, "exec": exec_tag,
            "transformation": transformation, "status": status, "sets": sets,
            "performances": [{"startTime": _time(start), "endTime": _time(end) if end is not None else None}],
            "workspace": "", "resource": "", "output": "", "error": ""}
    if depends_on:
        body["dependency"] = {"tags": [{"tag": "TrainingModel"}], "ids": [{"id": depends_on}]}
    return _message("task", body)


def sample_messages(exec_tag, epochs=4, adaptations=2):
    rate = 0.01
    messages = [_message("dataflow", SPECIFICATION),
                _message("execution", {"dataflow": DATAFLOW, "exec": exec_tag, "agents": AGENTS}),
                _task(exec_tag, "1", "TrainingModel", "RUNNING",
                      [{"tag": "iTrainingModel", "elements": [["sgd", rate, epochs, 32]]}], start=0)]
    epoch_rows = [[epoch, _time(epoch + 1), float(epoch + 1), 1.0 / (epoch + 1), epoch / (epoch + 1.0)]
                  for epoch in range(epochs)]
    messages.append(_task(exec_tag, "1", "TrainingModel", "FINISHED",
                          [{"tag": "oTrainingModel", "elements": epoch_rows},
                           {"tag": "oTrainedModel", "elements": [["models/run.keras", "keras", 4096, SHA256]]}],
                          start=0, end=epochs + 1))
    for number in range(1, adaptations + 1):
        epoch = number * max(1, epochs // (adaptations + 1))
        new_rate = rate / 2
        messages.append(_task(exec_tag, f"a{number}", "Adaptation", "FINISHED",
                              [{"tag": "iAdaptation", "elements": [[f"a{number}", epoch, rate]]},
                               {"tag": "oAdaptation", "elements": [[f"a{number}", epoch, new_rate, "LearningRateScheduler"]]}],
                              start=epoch + 0.5, end=epoch + 0.5, depends_on="1"))
        rate = new_rate
    messages.append(_task(exec_tag, "t1", "TestingModel", "FINISHED",
                          [{"tag": "oTestingModel", "elements": [[0.25, 0.9]]}],
                          start=epochs + 2, end=epochs + 3, depends_on="1"))
    return messages


def post_sample_run(url, exec_tag, epochs=4, adaptations=2):
    """Sends the run through POST /api/v1/ingest; returns the acknowledged message ids."""
    response = requests.post(url + "/api/v1/ingest", json={"messages": sample_messages(exec_tag, epochs, adaptations)},
                             timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["acknowledged"]


def sample_snapshot(epochs=4, adaptations=2, nan_epoch=None):
    """The same kind of run as an in-memory Snapshot, for tests of the builder and the graphs that
    need no service. `nan_epoch`: an epoch whose accuracy is NaN."""
    from dfanalyzer.export.snapshot import (
        Agent, Attribute, DataSet, Execution, ModelFile, Row, Snapshot, Task, Transformation,
    )

    def at(seconds):
        return (START + datetime.timedelta(seconds=seconds)).replace(tzinfo=datetime.timezone.utc)

    def numeric(*names):
        return [Attribute(name, name, "NUMERIC") for name in names]

    snapshot = Snapshot(
        dataflow={"id": 1, "tag": DATAFLOW, "schema_name": DATAFLOW, "specification": '{"tag": "provsample"}'},
        transformations=[Transformation(1, "TrainingModel"), Transformation(2, "Adaptation"),
                         Transformation(3, "TestingModel")],
        sets=[DataSet(1, "iTrainingModel", "itrainingmodel",
                      [Attribute("optimizer_name", "optimizer_name", "TEXT")] + numeric("learning_rate", "epochs"),
                      producers=[], consumers=[1]),
              DataSet(2, "oTrainingModel", "otrainingmodel", numeric("epoch", "loss", "accuracy"),
                      producers=[1], consumers=[]),
              DataSet(3, "oTrainedModel", "otrainedmodel",
                      [Attribute("path", "path", "FILE"), Attribute("sha256", "sha256", "TEXT")],
                      producers=[1], consumers=[3]),
              DataSet(4, "iAdaptation", "iadaptation", numeric("epoch", "old_learning_rate"),
                      producers=[1], consumers=[2]),
              DataSet(5, "oAdaptation", "oadaptation", numeric("epoch", "new_learning_rate"),
                      producers=[2], consumers=[]),
              DataSet(6, "oTestingModel", "otestingmodel", numeric("loss", "accuracy"),
                      producers=[3], consumers=[])])
    snapshot.executions = [Execution(1, "run 1/ü", at(0), at(epochs + 3), "FINISHED")]
    snapshot.agents = [Agent(index + 1, 1, agent["kind"], agent["name"], agent["properties"])
                       for index, agent in enumerate(AGENTS)]
    snapshot.tasks = [Task(1, 1, 1, "1", "", "FINISHED", at(0), at(epochs + 1), None, None, None, None)]
    for number in range(1, adaptations + 1):
        snapshot.tasks.append(Task(1 + number, 1, 2, f"a{number}", "", "FINISHED", at(number), at(number),
                                   None, None, None, None, depends_on=[1]))
    snapshot.tasks.append(Task(100, 1, 3, "t1", "", "FINISHED", at(epochs + 2), at(epochs + 3),
                               None, None, None, None, depends_on=[1]))
    rate = 0.01
    snapshot.rows = {
        1: [Row(1, 1, {"optimizer_name": "sgd", "learning_rate": rate, "epochs": float(epochs)}, {1: 1})],
        2: [Row(2, epoch + 1, {"epoch": float(epoch), "loss": 1.0 / (epoch + 1),
                               "accuracy": float("nan") if epoch == nan_epoch else epoch / (epoch + 1.0)}, {1: 1})
            for epoch in range(epochs)],
        3: [Row(3, 1, {"path": "models/run.keras", "sha256": SHA256}, {1: 1, 3: 100})],
        4: [], 5: [],
        6: [Row(6, 1, {"loss": 0.25, "accuracy": 0.9}, {3: 100})],
    }
    for number in range(1, adaptations + 1):
        snapshot.rows[4].append(Row(4, number, {"epoch": float(number), "old_learning_rate": rate}, {2: 1 + number}))
        rate /= 2
        snapshot.rows[5].append(Row(5, number, {"epoch": float(number), "new_learning_rate": rate}, {2: 1 + number}))
    snapshot.model_files = [ModelFile(1, 1, 1, "provsample/run/1/model.keras", "keras", 4096, SHA256, at(epochs + 1))]
    return snapshot
