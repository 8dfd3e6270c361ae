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
