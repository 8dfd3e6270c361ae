"""`dfanalyzer copy`: embedded -> MonetDB server -> embedded reads back identical (rows, runs,
PROV documents byte for byte, model files); a target holding data is refused unless --merge."""

import requests

from prov_sample import DATAFLOW, post_sample_run
from processes import dfanalyzer as run_cli
from service_process import ServiceProcess

CATALOG = ["dataflow", "data_transformation", "data_set", "data_dependency", "attribute", "program",
           "dataflow_execution", "agent", "task", "task_dependency", "file", "performance", "non_finite_value",
           "ingested_message", "model_file"]
OCTETS = {"Content-Type": "application/octet-stream"}
MODEL = b"not really a keras model, but bytes to carry" * 100


def dfanalyzer(*args):
    return run_cli(*args, timeout=300)


def everything(service):
    """What a user reads from a service: every table, the runs, the PROV documents, the models."""
    seen = {table: service.query(f"SELECT * FROM {table} ORDER BY 1, 2") for table in CATALOG}
    for table in ("itrainingmodel", "otrainingmodel", "otrainedmodel", "iadaptation", "oadaptation", "otestingmodel"):
        seen[table] = service.query(f"SELECT * FROM {DATAFLOW}.{table} ORDER BY id")
    seen["runs"] = requests.get(service.url + "/api/v1/runs", params={"dataflow": DATAFLOW}, timeout=60).json()
    for document_format in ("provn", "json", "xml", "ttl"):
        answer = requests.get(f"{service.url}/api/v1/dataflows/{DATAFLOW}/prov", params={"format": document_format},
                              timeout=60)
        assert answer.status_code == 200, answer.text
        seen[f"prov.{document_format}"] = answer.content
    models = requests.get(service.url + "/api/v1/models", timeout=60).json()["models"]
    seen["models"] = [(model["path"], model["sha256"], requests.get(service.url + model["url"], timeout=60).content)
                      for model in models]
    return seen


def assert_same(seen, expected):
    assert sorted(seen) == sorted(expected)
    for key in expected:
        if isinstance(expected[key], bytes):
            assert seen[key].decode().splitlines() == expected[key].decode().splitlines(), key
        assert seen[key] == expected[key], key


def test_embedded_to_server_and_back_reads_back_identical(monetdb_database, tmp_path):
    source = ServiceProcess(tmp_path / "embedded").start()
    try:
        post_sample_run(source.url, "run-a", epochs=5, adaptations=2)
        post_sample_run(source.url, "run-b", epochs=3, adaptations=0)
        uploaded = requests.post(source.url + "/api/v1/models", data=MODEL, timeout=60, headers=OCTETS, params={
            "dataflow": DATAFLOW, "exec": "run-a", "task": "1", "file_name": "model.keras", "format": "keras"})
        assert uploaded.status_code == 201, uploaded.text
    finally:
        source.stop()

    to_server = dfanalyzer("copy", "--data-dir", source.data_dir, "--to-monetdb-url", monetdb_database.url,
                           "--to-data-dir", str(tmp_path / "server-side"))
    assert to_server.returncode == 0, to_server.stderr
    assert f"{DATAFLOW}: otrainingmodel: 8 rows" in to_server.stdout and "model file 1/1" in to_server.stdout
    on_server = ServiceProcess(tmp_path / "server-side", monetdb_url=monetdb_database.url).start()
    try:
        copied = everything(on_server)
    finally:
        on_server.stop()
    assert len(copied["otrainingmodel"]) == 8 and copied["models"][0][2] == MODEL
    assert copied["prov.provn"].count(b"wasInformedBy") == 6 + 4  # six tasks by their runs, four by tasks they need
    source.start()
    try:
        assert_same(everything(source), copied)
    finally:
        source.stop()

    again = dfanalyzer("copy", "--data-dir", source.data_dir, "--to-monetdb-url", monetdb_database.url,
                       "--to-data-dir", str(tmp_path / "server-side"))
    assert again.returncode == 1 and "--merge" in again.stderr
    merged = dfanalyzer("copy", "--data-dir", source.data_dir, "--to-monetdb-url", monetdb_database.url,
                        "--to-data-dir", str(tmp_path / "server-side"), "--merge")
    assert merged.returncode == 1 and f"dataflows the target already has: {DATAFLOW}" in merged.stderr

    embedded_pair = dfanalyzer("copy", "--data-dir", source.data_dir, "--to-data-dir", str(tmp_path / "elsewhere"))
    assert embedded_pair.returncode == 1 and "copy the folder" in embedded_pair.stderr

    back = dfanalyzer("copy", "--data-dir", str(tmp_path / "server-side"), "--monetdb-url", monetdb_database.url,
                      "--to-data-dir", str(tmp_path / "embedded-again"))
    assert back.returncode == 0, back.stderr
    embedded_again = ServiceProcess(tmp_path / "embedded-again").start()
    try:
        assert_same(everything(embedded_again), copied)
    finally:
        embedded_again.stop()


def test_merge_adds_the_dataflows_of_another_store_with_ids_after_the_targets(monetdb_database, tmp_path):
    target = ServiceProcess(tmp_path / "server-side", monetdb_url=monetdb_database.url).start()
    source = ServiceProcess(tmp_path / "embedded").start()
    try:
        spec = {"tag": "other", "transformations": [{"tag": "t", "sets": [
            {"tag": "s", "type": "OUTPUT", "attributes": [{"name": "x", "type": "NUMERIC"}]}]}]}
        assert requests.post(target.url + "/pde/dataflow/json", json=spec, timeout=60).ok
        task = {"id": "9", "dataflow": "other", "exec": "e", "transformation": "t", "status": "FINISHED",
                "sets": [{"tag": "s", "elements": [[1], [2]]}]}
        assert requests.post(target.url + "/pde/task/json", json=task, timeout=60).ok
        post_sample_run(source.url, "run-a", epochs=2, adaptations=1)
        source_epochs = source.query("SELECT t.identifier, o.epoch FROM provsample.otrainingmodel o "
                                     "JOIN task t ON o.trainingmodel_task_id = t.id ORDER BY o.epoch")
    finally:
        source.stop()
    merged = dfanalyzer("copy", "--data-dir", source.data_dir, "--to-monetdb-url", monetdb_database.url,
                        "--to-data-dir", target.data_dir, "--merge")
    try:
        assert merged.returncode == 0, merged.stderr
        assert target.query("SELECT tag FROM dataflow ORDER BY id") == [["other"], [DATAFLOW]]
        assert target.query("SELECT t.identifier, o.epoch FROM provsample.otrainingmodel o "
                            "JOIN task t ON o.trainingmodel_task_id = t.id ORDER BY o.epoch") == source_epochs
        assert target.query("SELECT t.identifier, o.x FROM other.s o JOIN task t ON o.t_task_id = t.id "
                            "ORDER BY o.x") == [["9", 1.0], ["9", 2.0]]
        # The service running on the target learns of the merged rows and goes on ingesting.
        task["exec"], task["sets"][0]["elements"] = "e2", [[3]]
        assert requests.post(target.url + "/pde/task/json", json=task, timeout=60).ok
        [[tasks, distinct_ids]] = target.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM task")
        assert tasks == distinct_ids == 1 + 3 + 1  # other's task, the sample run's three, the new one
        assert target.query("SELECT o.x FROM other.s o JOIN task t ON o.t_task_id = t.id JOIN dataflow_execution e "
                            "ON t.exec_id = e.id WHERE e.tag = 'e2'") == [[3.0]]
    finally:
        target.stop()
