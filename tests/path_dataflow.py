"""A dataflow with a chain of three transformations and a branch, seeded through the ingest API:

    iLoad -> Load -> oLoad -> Train -> oTrain -> Test -> oTest
                         \\-> Profile -> oProfile

Every output set carries `dataset`, so logical joins have an attribute to match; oLoad has a
train and a validation row per run.
"""
import requests

TAG = "paths"
SPEC = {"tag": TAG, "transformations": [
    {"tag": "Load", "sets": [
        {"tag": "iLoad", "type": "INPUT", "attributes": [{"name": "source", "type": "TEXT"}, {"name": "size", "type": "NUMERIC"}]},
        {"tag": "oLoad", "type": "OUTPUT", "attributes": [
            {"name": "dataset", "type": "TEXT"}, {"name": "split", "type": "TEXT"}, {"name": "rows", "type": "NUMERIC"}]}]},
    {"tag": "Train", "sets": [
        {"tag": "oLoad", "type": "INPUT", "dependency": "Load", "attributes": []},
        {"tag": "oTrain", "type": "OUTPUT", "attributes": [
            {"name": "dataset", "type": "TEXT"}, {"name": "epoch", "type": "NUMERIC"}, {"name": "loss", "type": "NUMERIC"}]}]},
    {"tag": "Test", "sets": [
        {"tag": "oTrain", "type": "INPUT", "dependency": "Train", "attributes": []},
        {"tag": "oTest", "type": "OUTPUT", "attributes": [{"name": "dataset", "type": "TEXT"}, {"name": "accuracy", "type": "NUMERIC"}]}]},
    {"tag": "Profile", "sets": [
        {"tag": "oLoad", "type": "INPUT", "dependency": "Load", "attributes": []},
        {"tag": "oProfile", "type": "OUTPUT", "attributes": [{"name": "dataset", "type": "TEXT"}, {"name": "mean", "type": "NUMERIC"}]}]},
]}
RUNS = {"run-a": ("digits", 4), "run-b": ("iris", 3)}


def _post(url, path, body):
    response = requests.post(url + path, json=body, timeout=30)
    response.raise_for_status()


def _task(task_id, exec_tag, transformation, sets, depends_on=None):
    message = {"id": task_id, "dataflow": TAG, "exec": exec_tag, "transformation": transformation,
               "status": "FINISHED", "sets": [{"tag": tag, "elements": rows} for tag, rows in sets]}
    if depends_on:
        message["dependency"] = {"tags": [{"tag": depends_on[0]}], "ids": [{"id": depends_on[1]}]}
    return message


def seed(url):
    """Two executions; each loads one dataset, trains some epochs, tests and profiles it."""
    _post(url, "/pde/dataflow/json", SPEC)
    for exec_tag, (dataset, epochs) in RUNS.items():
        _post(url, "/pde/task/json", _task("1", exec_tag, "Load", [
            ("iLoad", [[dataset + ".csv", 1000.0]]), ("oLoad", [[dataset, "train", 800.0], [dataset, "validation", 200.0]])]))
        _post(url, "/pde/task/json", _task("2", exec_tag, "Train", [
            ("oTrain", [[dataset, float(e), round(1.0 / (e + 1), 3)] for e in range(epochs)])], ("Load", "1")))
        _post(url, "/pde/task/json", _task("3", exec_tag, "Test", [("oTest", [[dataset, 0.9 if dataset == "digits" else 0.8]])],
                                           ("Train", "2")))
        _post(url, "/pde/task/json", _task("4", exec_tag, "Profile", [("oProfile", [[dataset, 0.5]])], ("Load", "1")))
